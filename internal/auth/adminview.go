package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chusme/chusme"
)

// CeremonyStats returns, to an administrator, the ceremonies of the last
// hours (1 to chusme.MaxStatsHours) by the hour: whole hours of UTC, the
// last the current one. An ended ceremony counts in the hour it ended,
// an open one in the hour it was created. CodeInvalidRequest for bad
// hours.
func (s *Service) CeremonyStats(ctx context.Context, p Principal, hours int) (chusme.CeremonyStats, error) {
	if err := s.requireAdmin(ctx, p); err != nil {
		return chusme.CeremonyStats{}, err
	}
	if hours < 1 || hours > chusme.MaxStatsHours {
		return chusme.CeremonyStats{}, chusme.Errorf(chusme.CodeInvalidRequest, "hours must be 1 to %d", chusme.MaxStatsHours)
	}
	until := s.now().UTC().Truncate(chusme.StatsBucket).Add(chusme.StatsBucket)
	st := chusme.CeremonyStats{
		Since:         until.Add(-time.Duration(hours) * chusme.StatsBucket),
		Until:         until,
		BucketSeconds: int(chusme.StatsBucket / time.Second),
		Totals:        []chusme.CeremonyCount{},
		Buckets:       make([]chusme.CeremonyStatsBucket, hours),
	}
	rows, err := s.store.CeremonyCounts(ctx, st.Since, chusme.StatsBucket, hours)
	if err != nil {
		return chusme.CeremonyStats{}, err
	}
	for i := range st.Buckets {
		st.Buckets[i] = chusme.CeremonyStatsBucket{Start: st.Since.Add(time.Duration(i) * chusme.StatsBucket), Counts: []chusme.CeremonyCount{}}
	}
	totals := map[chusme.CeremonyCount]int{} // by kind, status and reason, Count 0
	for _, r := range rows {
		if r.Bucket < 0 || r.Bucket >= hours {
			continue // not asked for: the store's rows are within the window
		}
		b := &st.Buckets[r.Bucket]
		b.Counts = append(b.Counts, r.CeremonyCount)
		key := r.CeremonyCount
		key.Count = 0
		totals[key] += r.Count
	}
	for key, n := range totals {
		key.Count = n
		st.Totals = append(st.Totals, key)
	}
	slices.SortFunc(st.Totals, byKindStatusReason)
	for _, b := range st.Buckets {
		slices.SortFunc(b.Counts, byKindStatusReason)
	}
	return st, nil
}

// byKindStatusReason orders ceremony counts by kind, status and reason.
func byKindStatusReason(a, b chusme.CeremonyCount) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Status, b.Status), strings.Compare(a.Reason, b.Reason))
}

// ListInvites returns, to an administrator, at most limit (1 to
// chusme.MaxInvitePage) stored invites, newest first, after cursor (""
// from the first), and the next page's cursor if there is more: ids,
// times and fingerprints, never a token or its hash. CodeInvalidRequest
// for a bad limit or cursor.
func (s *Service) ListInvites(ctx context.Context, p Principal, cursor string, limit int) (chusme.AdminInvitePage, error) {
	page := chusme.AdminInvitePage{Invites: []chusme.AdminInvite{}}
	if err := s.requireAdmin(ctx, p); err != nil {
		return page, err
	}
	if limit < 1 || limit > chusme.MaxInvitePage {
		return page, chusme.Errorf(chusme.CodeInvalidRequest, "limit must be 1 to %d", chusme.MaxInvitePage)
	}
	after, ok := parseInviteCursor(cursor)
	if !ok {
		return page, chusme.Errorf(chusme.CodeInvalidRequest, "the cursor is not one a page returned")
	}
	invs, err := s.store.ListInvites(ctx, after, limit+1)
	if err != nil {
		return page, err
	}
	if len(invs) > limit {
		invs = invs[:limit]
		page.NextCursor = formatInviteCursor(invs[limit-1])
	}
	now := s.now()
	for _, inv := range invs {
		a := chusme.AdminInvite{ID: inv.ID, Status: chusme.InviteOutstanding, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, CreatedBy: inv.CreatedBy}
		switch {
		case !inv.UsedAt.IsZero():
			a.Status, a.UsedBy, a.UsedAt = chusme.InviteUsed, inv.UsedBy, &inv.UsedAt
		case !inv.ExpiresAt.After(now):
			a.Status = chusme.InviteExpired
		}
		page.Invites = append(page.Invites, a)
	}
	return page, nil
}

// RevokeInvite deletes, for an administrator, the unused invite id, so
// that it registers no one. CodeNotFound if unknown; CodeInviteUsed if
// it was used.
func (s *Service) RevokeInvite(ctx context.Context, p Principal, id string) error {
	if err := s.requireAdmin(ctx, p); err != nil {
		return err
	}
	if !chusme.ValidInviteID(id) {
		return chusme.Errorf(chusme.CodeNotFound, "invite not found")
	}
	if err := s.store.RevokeInvite(ctx, id); err != nil {
		return err
	}
	s.log.Info("invite revoked", "invite", id, "by", p.Fingerprint)
	return nil
}

// newInviteID returns a random invite id: chusme.InviteIDSize bytes in
// lowercase hex, from crypto/rand.
func newInviteID() string {
	var b [chusme.InviteIDSize]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// An invite cursor is the creation time (Unix nanoseconds, decimal) and
// the id of a page's last invite, joined by a dot.
func formatInviteCursor(inv chusme.Invite) string {
	return strconv.FormatInt(inv.CreatedAt.UnixNano(), 10) + "." + inv.ID
}

// parseInviteCursor decodes a cursor of formatInviteCursor; "" is the
// start (the zero cursor).
func parseInviteCursor(s string) (chusme.InviteCursor, bool) {
	if s == "" {
		return chusme.InviteCursor{}, true
	}
	at, id, ok := strings.Cut(s, ".")
	ns, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || ns <= 0 || strconv.FormatInt(ns, 10) != at || !chusme.ValidInviteID(id) {
		return chusme.InviteCursor{}, false
	}
	return chusme.InviteCursor{CreatedAt: time.Unix(0, ns).UTC(), ID: id}, true
}
