package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// fileDSN returns the driver's DSN for the SQLite file at path: a file: URI
// with SQLite's open mode (rw, rwc or ro), the pragmas every connection of
// the engine runs (busy timeout, foreign keys), then extra's parameters.
func fileDSN(path, mode string, extra url.Values) string {
	// A file: URI, so that SQLite's mode parameter applies; escape the
	// characters that would otherwise end or escape the path.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := url.Values{"_pragma": {
		"busy_timeout(" + strconv.Itoa(busyTimeout) + ")",
		"foreign_keys(1)",
	}}
	for k, v := range extra {
		q[k] = append(q[k], v...)
	}
	return uri + "?mode=" + mode + "&" + q.Encode()
}

// OpenReadOnly opens a pool of read-only (query_only) connections to the
// SQLite file at path, set up as the engine's own readers are. It neither
// creates the file nor applies migrations: it is for tools that read a
// store as it is, such as `chusmed store copy`. The caller closes it.
func OpenReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", fileDSN(path, "ro", url.Values{"_pragma": {"query_only(1)"}}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open read-only: %w", err)
	}
	return db, nil
}
