// Package servertest starts the real chusmed (server.Run) on a random
// loopback port with a temporary SQLite data directory, for end-to-end
// tests.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/testkit"
)

// Server is a running chusmed.
type Server struct {
	URL     string // base URL, also the issuer: http://127.0.0.1:PORT
	DataDir string

	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
}

// Start runs chusmed (its log level must stay at info or below: Start
// waits for the "listening" line) with rate limits off, on 127.0.0.1:0 in a new temporary
// data directory, plus args (later flags win). It stops the server when the
// test ends and fails the test if Run returned an error.
func Start(t testing.TB, args ...string) *Server {
	return StartIn(t, t.TempDir(), args...)
}

// StartIn is Start with a given data directory, to restart a server on the
// data of a stopped one.
func StartIn(t testing.TB, dataDir string, args ...string) *Server {
	t.Helper()
	return start(t, dataDir, append([]string{
		"--rate-ip", "0", "--rate-auth", "0", "--rate-identity", "0",
		"--rate-ceremony-create", "0", "--rate-ceremony-submit", "0",
		"--rate-blob", "0", "--rate-totp", "0",
	}, args...))
}

// StartWithDefaultLimits is Start with chusmed's default rate limits, the
// production ones, instead of none (args may still set some).
func StartWithDefaultLimits(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, t.TempDir(), args)
}

// start runs chusmed on 127.0.0.1:0 in dataDir with args (see Start).
func start(t testing.TB, dataDir string, args []string) *Server {
	t.Helper()
	s := &Server{DataDir: dataDir, logs: &logBuffer{ready: make(chan string, 1), wake: make(chan struct{})}, done: make(chan error, 1)}
	full := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		s.done <- server.Run(ctx, full, func(string) string { return "" }, &s.logs.out, s.logs)
	}()
	select {
	case addr := <-s.logs.ready:
		s.URL = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("chusmed did not start: %v\n%s", err, s.logs.String())
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop shuts the server down and waits for Run to return; it is safe to call
// more than once.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	// Connections the default client dialed but never used count as busy
	// for five seconds in http.Server.Shutdown: close them first.
	http.DefaultClient.CloseIdleConnections()
	s.cancel()
	if err, ok := <-s.done; ok {
		close(s.done)
		if err != nil {
			t.Errorf("chusmed: %v", err)
		}
	}
}

// Interrupt starts the server's shutdown, as SIGTERM does, without waiting
// for it: Stop waits for Run to return.
func (s *Server) Interrupt() { s.cancel() }

// WaitLog waits until the server logs a line whose message is msg, failing
// the test after ten seconds.
func (s *Server) WaitLog(t testing.TB, msg string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		s.logs.mu.Lock()
		found, wake := slices.ContainsFunc(strings.Split(s.logs.buf.String(), "\n"), func(line string) bool {
			var rec struct{ Msg string }
			return json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg
		}), s.logs.wake
		s.logs.mu.Unlock()
		if found {
			return
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("the server did not log %q:\n%s", msg, s.Logs())
		}
	}
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// SetupToken returns the pending setup token from the data directory.
func (s *Server) SetupToken(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, server.SetupTokenFile))
	if err != nil {
		t.Fatalf("reading setup token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// logBuffer collects log lines and reports the listening address.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	out   testkit.Buffer
	ready chan string
	sent  bool
	wake  chan struct{} // closed and replaced at every write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.buf.Len()
	l.buf.Write(p)
	close(l.wake)
	l.wake = make(chan struct{})
	if !l.sent {
		for _, line := range strings.Split(l.buf.String()[start:], "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				l.ready <- rec.Addr
				l.sent = true
			}
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
