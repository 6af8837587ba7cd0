package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/chusme/chusme"
)

const inviteColumns = `id, hash, created_by, created_at, expires_at, used_by, used_at`

var (
	// Ended ceremonies by their last change (ceremonies_closed_updated_at,
	// 0008), open ones by their creation (ceremonies_open_created_at,
	// 0021); the arguments are, for each half, since, the bucket width,
	// since and the end. The rows are at most buckets × kinds × statuses ×
	// reasons.
	qCeremonyCounts = newQuery(`SELECT b, kind, status, failure_reason, count(*) FROM (
		SELECT (updated_at - ?) / ? AS b, kind, status, failure_reason FROM ceremonies
			WHERE status <> 'open' AND updated_at >= ? AND updated_at < ?
		UNION ALL
		SELECT (created_at - ?) / ? AS b, kind, status, failure_reason FROM ceremonies
			WHERE status = 'open' AND created_at >= ? AND created_at < ?
	) t GROUP BY b, kind, status, failure_reason`)
	// Newest first, by id descending within one time: invites_created_at
	// (0021) read backwards.
	qListInvites      = newQuery(`SELECT ` + inviteColumns + ` FROM invites ORDER BY created_at DESC, id DESC LIMIT ?`)
	qListInvitesAfter = newQuery(`SELECT ` + inviteColumns + ` FROM invites
		WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?`)
	qRevokeInvite = newQuery(`DELETE FROM invites WHERE id = ? AND used_at IS NULL`)
	qInviteExists = newQuery(`SELECT EXISTS (SELECT 1 FROM invites WHERE id = ?)`)
)

// CeremonyCounts counts the ceremonies in the n buckets of width bucket
// from since: an ended one by its last change, an open one by its
// creation, in one query.
func (s *Store) CeremonyCounts(ctx context.Context, since time.Time, bucket time.Duration, n int) ([]chusme.BucketCount, error) {
	from, width := since.UnixNano(), int64(bucket)
	end := from + width*int64(n)
	rows, err := s.e.Read().Query(ctx, s.sql[qCeremonyCounts], from, width, from, end, from, width, from, end)
	out, err := collect(rows, err, func(r Row) (chusme.BucketCount, error) {
		var c chusme.BucketCount
		return c, r.Scan(&c.Bucket, &c.Kind, &c.Status, &c.Reason, &c.Count)
	})
	return out, s.wrap("ceremony counts", err)
}

// ListInvites returns at most limit invites after the cursor (zero from
// the first), newest first and, within one time, by id descending.
func (s *Store) ListInvites(ctx context.Context, after chusme.InviteCursor, limit int) ([]chusme.Invite, error) {
	q, args := qListInvites, []any{limit}
	if after != (chusme.InviteCursor{}) {
		q, args = qListInvitesAfter, []any{unixNano(after.CreatedAt), after.ID, limit}
	}
	rows, err := s.e.Read().Query(ctx, s.sql[q], args...)
	out, err := collect(rows, err, scanInvite)
	return out, s.wrap("list invites", err)
}

// scanInvite scans inviteColumns.
func scanInvite(r Row) (chusme.Invite, error) {
	var inv chusme.Invite
	var created, expires, used sql.NullInt64
	err := r.Scan(&inv.ID, &inv.Hash, &inv.CreatedBy, &created, &expires, &inv.UsedBy, &used)
	inv.CreatedAt, inv.ExpiresAt, inv.UsedAt = fromNano(created), fromNano(expires), fromNano(used)
	return inv, err
}

// RevokeInvite deletes the unused invite id. CodeNotFound if unknown;
// CodeInviteUsed if used (it stays).
func (s *Store) RevokeInvite(ctx context.Context, id string) error {
	return s.wrap("revoke invite", s.e.Write(ctx, func(c Conn) error {
		return s.conditional(ctx, c, qRevokeInvite, []any{id}, qInviteExists, id, "invite",
			chusme.Errorf(chusme.CodeInviteUsed, "the invite was used: it can't be revoked"))
	}))
}
