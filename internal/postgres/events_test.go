package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestListenNotifyReconnect: a notification from one node reaches the
// listener of another; when the listening connection is killed, Listen
// reconnects, calls resync, and receives notifications again.
func TestListenNotifyReconnect(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	lctx, stop := context.WithCancel(ctx)
	got := make(chan string, 16)
	resynced := make(chan struct{}, 16)
	done, err := b.Listen(lctx, "test_events", func(p string) { got <- p }, func() { resynced <- struct{}{} }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := func(p string) {
		t.Helper()
		if err := a.Notify(ctx, "test_events", p); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != p {
				t.Fatalf("payload %q, want %q", g, p)
			}
		case <-ctx.Done():
			t.Fatalf("notification %q never arrived", p)
		}
	}
	want(`{"kind":"ceremony","id":"one"}`)

	var killed int
	if err := a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the listener: %d, %v", killed, err)
	}
	select {
	case <-resynced:
	case <-ctx.Done():
		t.Fatal("Listen did not reconnect and resync")
	}
	want(`{"kind":"ban","fp":"two"}`)

	stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Listen did not end with its context")
	}
}
