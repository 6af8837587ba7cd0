// Package pgtest gives tests a PostgreSQL database of their own on the server
// named by CHUSME_TEST_POSTGRES (see scripts/pg-test-cluster.sh), and skips
// them, saying how to start one, when it is not set.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server returns the URL of the PostgreSQL server the tests use, from
// CHUSME_TEST_POSTGRES, and skips the test without it.
func Server(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CHUSME_TEST_POSTGRES")
	if dsn == "" {
		t.Skip(`CHUSME_TEST_POSTGRES is not set: start a throw-away server with eval "$(scripts/pg-test-cluster.sh)" (needs Debian's postgresql)`)
	}
	return dsn
}

// FreshDatabase creates an empty database with a random name on the test
// server, drops it when the test ends, and returns its URL.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	dsn := Server(t)
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("CHUSME_TEST_POSTGRES must be a postgres:// URL, got %q", dsn)
	}
	name := "chusme_test_" + rand.Text()
	name = strings.ToLower(name)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connecting to CHUSME_TEST_POSTGRES: %v", err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
