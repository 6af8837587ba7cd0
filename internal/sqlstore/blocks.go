package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/chusme/chusme"
)

var (
	qCountBlocks = newQuery(`SELECT count(*) FROM blocks WHERE blocker = ?`)
	qInsertBlock = newQuery(`INSERT INTO blocks (blocker, blocked, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	qDeleteBlock = newQuery(`DELETE FROM blocks WHERE blocker = ? AND blocked = ?`)
	qListBlocked = newQuery(`SELECT blocked FROM blocks WHERE blocker = ? ORDER BY blocked{bytewise}`)
	qIsBlocked   = newQuery(`SELECT count(*) FROM blocks WHERE blocker = ? AND blocked = ?`)
)

// Block records that blocker blocks blocked, in one transaction that
// counts the blocker's blocks first (see chusme.BlockStore).
func (s *Store) Block(ctx context.Context, blocker, blocked string, at time.Time) error {
	return s.wrap("block", s.e.Write(ctx, func(c Conn) error {
		var n, has int
		if err := c.QueryRow(ctx, s.sql[qIsBlocked], blocker, blocked).Scan(&has); err != nil || has > 0 {
			return err
		}
		if err := c.QueryRow(ctx, s.sql[qCountBlocks], blocker).Scan(&n); err != nil {
			return err
		}
		if n >= chusme.MaxBlocks {
			return chusme.Errorf(chusme.CodeInvalidRequest, "you block %d identities, the most allowed: unblock one first", n)
		}
		_, err := c.Exec(ctx, s.sql[qInsertBlock], blocker, blocked, at.UnixNano())
		return err
	}))
}

// Unblock removes a block. CodeNotFound if there is none.
func (s *Store) Unblock(ctx context.Context, blocker, blocked string) error {
	return s.wrap("unblock", s.e.Write(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, s.sql[qDeleteBlock], blocker, blocked)
		if err == nil && n == 0 {
			return notFound("block")
		}
		return err
	}))
}

// ListBlocked returns whom blocker blocks, sorted.
func (s *Store) ListBlocked(ctx context.Context, blocker string) ([]string, error) {
	rows, err := s.e.Read().Query(ctx, s.sql[qListBlocked], blocker)
	out, err := collect(rows, err, func(r Row) (string, error) {
		var fp string
		return fp, r.Scan(&fp)
	})
	if out == nil {
		out = []string{}
	}
	return out, s.wrap("list blocked", err)
}

// Blocking returns which of fps block creator, sorted: one primary-key
// lookup per participant.
func (s *Store) Blocking(ctx context.Context, creator string, fps []string) ([]string, error) {
	var out []string
	for _, fp := range fps {
		var n int
		if err := s.e.Read().QueryRow(ctx, s.sql[qIsBlocked], fp, creator).Scan(&n); err != nil {
			return nil, s.wrap("blocking", err)
		}
		if n > 0 {
			out = append(out, fp)
		}
	}
	slices.Sort(out)
	return out, nil
}
