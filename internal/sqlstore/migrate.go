package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/chusme/chusme/internal/migrations"
)

var (
	qMigrationDone   = newQuery(`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`)
	qRecordMigration = newQuery(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`)
	qMigrations      = newQuery(`SELECT version, applied_at FROM schema_migrations`)
)

// Migrate applies to s, in version order and each in its own write transaction,
// the migrations in the migrations directory of fsys (see package
// migrations) not yet recorded in schema_migrations. Each transaction first
// runs begin (the engine's lock and table set-up, if any), then, for a
// migration not applied yet, run with its script (which may hold several
// statements), then records it.
func Migrate(ctx context.Context, s *Store, fsys fs.FS, begin func(Conn) error, run func(c Conn, script string) error) error {
	ms, err := migrations.List(fsys, "migrations")
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	for _, m := range ms {
		err := s.e.Write(ctx, func(c Conn) error {
			if begin != nil {
				if err := begin(c); err != nil {
					return err
				}
			}
			var done bool
			if err := c.QueryRow(ctx, s.sql[qMigrationDone], m.Version).Scan(&done); err != nil || done {
				return err
			}
			if err := run(c, m.SQL); err != nil {
				return err
			}
			_, err := c.Exec(ctx, s.sql[qRecordMigration], m.Version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migrate %s: %w", s.d.Name, m.Name, err)
		}
	}
	return nil
}

// Migrations returns the migrations recorded in s's schema_migrations, as
// version → when it was applied (Unix nanoseconds).
func Migrations(ctx context.Context, s *Store) (map[int]int64, error) {
	rows, err := s.e.Read().Query(ctx, s.sql[qMigrations])
	type applied struct {
		version int
		at      int64
	}
	list, err := collect(rows, err, func(r Row) (a applied, err error) { return a, r.Scan(&a.version, &a.at) })
	m := make(map[int]int64, len(list))
	for _, a := range list {
		m[a.version] = a.at
	}
	return m, s.wrap("migrations", err)
}
