package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
)

// refusedPort returns a loopback port nothing listens on.
func refusedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestIsUnavailable: the errors of a database that can't be reached right
// now are unavailable; errors that waiting won't mend are not.
func TestIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://postgres@"+refusedPort(t)+"/x?sslmode=disable&connect_timeout=5")
	if refused == nil {
		t.Fatal("connecting to a closed port succeeded")
	}
	pg := func(code string) error {
		return fmt.Errorf("query: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused (a real pgconn.Connect)", refused, true},
		{"connection exception 08006", pg("08006"), true},
		{"connection does not exist 08003", pg("08003"), true},
		{"admin shutdown 57P01", pg("57P01"), true},
		{"crash shutdown 57P02", pg("57P02"), true},
		{"cannot connect now 57P03", pg("57P03"), true},
		{"too many connections 53300", pg("53300"), true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"broken pipe", fmt.Errorf("write failed: %w", syscall.EPIPE), true},
		{"unexpected EOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
		{"deadline exceeded", fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},

		{"unique violation 23505", pg("23505"), false},
		{"wrong password 28P01", pg("28P01"), false},
		{"unknown database 3D000", pg("3D000"), false},
		{"undefined table 42P01", pg("42P01"), false},
		{"disk full 53100", pg("53100"), false},
		{"serialization failure 40001", pg("40001"), false},
		{"cancelled", context.Canceled, false},
		{"anything else", errors.New("scanning: wrong type"), false},
	} {
		if got := isUnavailable(c.err); got != c.want {
			t.Errorf("%s (%v): unavailable %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// TestUnavailableErrorCode: a store method's unavailable error has code
// unavailable and a message without its cause, which stays in Error() for
// the log.
func TestUnavailableErrorCode(t *testing.T) {
	db := &DB{}
	db.Store = sqlstore.New((*engine)(db), dialect)
	cause := &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}
	err := sqlstore.Wrap(db.Store, "get ceremony", cause)
	if chusme.ErrorCode(err) != chusme.CodeUnavailable {
		t.Fatalf("code %q, want %q", chusme.ErrorCode(err), chusme.CodeUnavailable)
	}
	if msg := chusme.ErrorMessage(err); msg == "" || strings.Contains(msg, "57P01") || strings.Contains(msg, "administrator") {
		t.Errorf("message %q: want one without the cause", msg)
	}
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "57P01") || !strings.Contains(err.Error(), "get ceremony") {
		t.Errorf("Error() %q, want the cause and the operation, for the log", err)
	}
	if chusme.ErrorCode(sqlstore.Wrap(db.Store, "x", errors.New("other"))) != chusme.CodeInternal {
		t.Error("another error is not internal")
	}
}
