package chusme

import (
	"context"
	"encoding/hex"
	"time"
)

// Ceremony stats (GET /v1/admin/ceremony-stats) count the ceremonies of
// the last hours by the hour.
const (
	StatsBucket       = time.Hour // the width of a bucket
	DefaultStatsHours = 24        // the hours counted without ?hours=
	MaxStatsHours     = 7 * 24    // the most hours one request counts
)

// CeremonyCount is how many ceremonies of one kind ended in one status
// for one reason (FailureReason: "" for none, "cancelled" for a cancelled
// one), or are open.
type CeremonyCount struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// CeremonyStatsBucket is one hour of CeremonyStats: the counts of the
// ceremonies that ended in it (completed, failed or cancelled) or, for
// open ones, were created in it. Counts are by kind, status and reason.
type CeremonyStatsBucket struct {
	Start  time.Time       `json:"start"`
	Counts []CeremonyCount `json:"counts"`
}

// CeremonyStats is the answer of GET /v1/admin/ceremony-stats: the hours
// from Since to Until, whole hours of UTC that end with the current one,
// every one of them in Buckets (oldest first), and Totals over them all.
type CeremonyStats struct {
	Since         time.Time             `json:"since"`
	Until         time.Time             `json:"until"`
	BucketSeconds int                   `json:"bucket_seconds"`
	Totals        []CeremonyCount       `json:"totals"`
	Buckets       []CeremonyStatsBucket `json:"buckets"`
}

// BucketCount is one row of AdminStore.CeremonyCounts: a CeremonyCount in
// bucket Bucket (0 for the first).
type BucketCount struct {
	Bucket int
	CeremonyCount
}

// Invites as an administrator sees them (GET /v1/admin/invites).
const (
	DefaultInvitePage = 50  // a page without ?limit=
	MaxInvitePage     = 100 // the largest page
	InviteIDSize      = 16  // random bytes of an invite's id, written in hex

	InviteOutstanding = "outstanding" // AdminInvite.Status: unused and unexpired
	InviteUsed        = "used"        // it registered an identity
	InviteExpired     = "expired"     // unused past its expiry, not yet purged

	// CodeInviteUsed: a used invite can't be revoked.
	CodeInviteUsed = "invite_used"
)

// ValidInviteID reports whether id is an invite id: InviteIDSize bytes in
// lowercase hex.
func ValidInviteID(id string) bool {
	b, err := hex.DecodeString(id)
	return err == nil && len(b) == InviteIDSize && hex.EncodeToString(b) == id
}

// AdminInvite is a stored invite without its token or the token's hash.
// An invite is stored until it expires, used or not.
type AdminInvite struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"` // InviteOutstanding, InviteUsed or InviteExpired
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedBy string     `json:"created_by"`        // the issuing administrator's fingerprint
	UsedBy    string     `json:"used_by,omitempty"` // the fingerprint of the identity it registered
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// AdminInvitePage is the answer of GET /v1/admin/invites: invites newest
// first. NextCursor, absent on the last page, is the next page's cursor.
type AdminInvitePage struct {
	Invites    []AdminInvite `json:"invites"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// InviteCursor is a position in the list of invites, newest first and,
// for one creation time, by id descending: the last invite of a page.
type InviteCursor struct {
	CreatedAt time.Time
	ID        string
}

// AdminStore is the administrator's view of ceremonies and invites.
type AdminStore interface {
	// CeremonyCounts counts, in one bounded query, the ceremonies in the n
	// buckets of width bucket from since: a ceremony that ended by the
	// time of its last change, an open one by its creation. No row has a
	// zero count.
	CeremonyCounts(ctx context.Context, since time.Time, bucket time.Duration, n int) ([]BucketCount, error)
	// ListInvites returns at most limit invites after the cursor (zero
	// from the first), newest first and, within one time, by id
	// descending.
	ListInvites(ctx context.Context, after InviteCursor, limit int) ([]Invite, error)
	// RevokeInvite deletes the unused invite id. CodeNotFound if unknown;
	// CodeInviteUsed if used (it stays).
	RevokeInvite(ctx context.Context, id string) error
}
