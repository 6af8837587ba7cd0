package server

import (
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/chusme/chusme/internal/httpapi"
	"github.com/chusme/chusme/internal/sqlite"
)

// maxMinFreeMB bounds --min-free-mb so that it converts to bytes without
// overflow.
const maxMinFreeMB = 1 << 40

// StorageConfig is the SQLite store's part of the configuration.
type StorageConfig struct {
	MinFreeMB   uint64 // --min-free-mb: /readyz is not ready below this much free space in the data directory
	Synchronous string // --sqlite-synchronous: sqlite.SyncNormal or sqlite.SyncFull
	// CeremonyRetention (--ceremony-retention) is how long a closed
	// ceremony is kept; 0 keeps it forever. Group keys and used
	// commitments stay regardless.
	CeremonyRetention time.Duration

	minFree, retention string
}

// DefaultCeremonyRetention is --ceremony-retention's default.
const DefaultCeremonyRetention = 90 * 24 * time.Hour

// flags registers the storage flags; str is parseConfig's helper that
// reads the CHUSME_* variable as the default.
func (c *StorageConfig) flags(str func(p *string, flagName, def, usage string)) {
	str(&c.minFree, "min-free-mb", "100", "SQLite: /readyz is not ready below this many MiB free in the data directory, 0 = off")
	str(&c.retention, "ceremony-retention", DefaultCeremonyRetention.String(), "how long closed ceremonies are kept (group keys stay): 0 (forever) or 1h to 87600h")
	str(&c.Synchronous, "sqlite-synchronous", sqlite.SyncNormal, "SQLite: normal (a power loss may undo the last commits) or full (fsync at every commit)")
}

// parse reads the flag values registered by flags.
func (c *StorageConfig) parse() error {
	n, err := strconv.ParseUint(c.minFree, 10, 64)
	if err != nil || n > maxMinFreeMB {
		return fmt.Errorf("--min-free-mb: %q is not a number of MiB from 0 to %d", c.minFree, uint64(maxMinFreeMB))
	}
	c.MinFreeMB = n
	if c.retention != "0" {
		if c.CeremonyRetention, err = parseDuration("ceremony-retention", c.retention, time.Hour, 87600*time.Hour); err != nil {
			return err
		}
	}
	if c.Synchronous != sqlite.SyncNormal && c.Synchronous != sqlite.SyncFull {
		return fmt.Errorf("--sqlite-synchronous must be %s or %s, not %q", sqlite.SyncNormal, sqlite.SyncFull, c.Synchronous)
	}
	return nil
}

// diskCheck returns /readyz's free-space check of dir, or nil when minMB
// is 0.
func diskCheck(dir string, minMB uint64) func() (httpapi.DiskSpace, error) {
	if minMB == 0 {
		return nil
	}
	return func() (httpapi.DiskSpace, error) {
		d := httpapi.DiskSpace{Path: dir, MinFree: minMB << 20}
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return d, fmt.Errorf("free space of %s: %w", dir, err)
		}
		d.Free = uint64(st.Bavail) * uint64(st.Bsize)
		return d, nil
	}
}
