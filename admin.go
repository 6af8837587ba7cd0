package chusme

import "time"

// MaxAdminPage is the largest page of GET /v1/admin/identities, and
// DefaultAdminPage the page it returns without a limit.
const (
	MaxAdminPage     = 100
	DefaultAdminPage = 50
)

// AdminIdentity is one identity as an administrator sees it (GET
// /v1/admin/identities and /v1/admin/identities/{fp}).
type AdminIdentity struct {
	Fingerprint  string     `json:"fingerprint"`
	Role         string     `json:"role"`   // RoleAdmin or RoleUser
	Status       string     `json:"status"` // StatusActive or StatusBanned
	CreatedAt    time.Time  `json:"created_at"`
	BannedAt     *time.Time `json:"banned_at,omitempty"`
	PublicKey    Bytes      `json:"public_key"`    // the current (device) key
	ChainLength  int        `json:"chain_length"`  // entries, the genesis included
	RecoveryKeys int        `json:"recovery_keys"` // the recovery keys the chain leaves
	Devices      int        `json:"devices"`       // the device keys the chain leaves
}

// AdminIdentityPage is the answer of GET /v1/admin/identities: identities
// by fingerprint, ascending. NextCursor, absent on the last page, is the
// cursor of the next page: the last fingerprint of this one.
type AdminIdentityPage struct {
	Identities []AdminIdentity `json:"identities"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// AdminSession is a live session as an administrator sees it: its id and
// times, never a token.
type AdminSession struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	DeviceKey  Bytes     `json:"device_key,omitempty"` // the device key that logged in; absent for sessions made before devices
}

// AdminIdentityDetail is the answer of GET /v1/admin/identities/{fp}: the
// identity, its chain (as GET /v1/identities/{fp}/chain) and its live
// sessions, newest first.
type AdminIdentityDetail struct {
	AdminIdentity
	Chain    ChainResponse  `json:"chain"`
	Sessions []AdminSession `json:"sessions"`
}
