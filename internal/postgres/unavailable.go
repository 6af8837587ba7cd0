package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// isUnavailable reports whether err means that PostgreSQL can't be reached
// or used right now, so that the same call may succeed a moment later: the
// dialect's IsUnavailable, which makes it CodeUnavailable. It is:
//
//   - an error the server sent of SQLSTATE class 08 (connection exception),
//     57P01 (admin shutdown), 57P02 (crash shutdown), 57P03 (cannot connect
//     now: starting up or shutting down) or 53300 (too many connections);
//     any other server error is not, even while connecting (a wrong
//     password, an unknown database stay internal: waiting won't mend them);
//   - a failed connection attempt (the pool's connect, pgconn.ConnectError)
//     that carries no server error, such as connection refused;
//   - a connection lost under a statement: reset, refused, a broken pipe, an
//     unexpected end of the stream, or the connection already closed;
//   - a statement that timed out inside pgconn or whose deadline passed.
func isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return true
	case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}
