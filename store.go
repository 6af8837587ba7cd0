package chusme

import (
	"context"
	"crypto/ed25519"
	"time"
)

// Identity roles and statuses.
const (
	RoleAdmin = "admin" // may issue invites and ban identities
	RoleUser  = "user"

	StatusActive = "active"
	StatusBanned = "banned" // all sessions revoked; can't log in
)

// Identity is a person or device known by its Ed25519 key.
type Identity struct {
	Fingerprint string    // hex SHA-256 of GenesisKey; the identity's permanent id
	GenesisKey  []byte    // the 32-byte public key the identity was born with
	PublicKey   []byte    // the current 32-byte public key (the first device key)
	Role        string    // RoleAdmin or RoleUser
	Status      string    // StatusActive or StatusBanned
	CreatedAt   time.Time // registration time
	BannedAt    time.Time // zero unless banned

	// DeviceKeys are the current device keys, PublicKey first, once a
	// chain entry set them; nil before (PublicKey alone). See Devices.
	DeviceKeys []Bytes
}

// Devices returns the identity's current device keys, PublicKey first.
func (id Identity) Devices() []Bytes {
	if len(id.DeviceKeys) == 0 {
		return []Bytes{id.PublicKey}
	}
	return id.DeviceKeys
}

// DeviceSigner returns the current device key of id whose Ed25519
// signature over msg sig is, trying them in order, nil if none.
func (id Identity) DeviceSigner(msg, sig []byte) Bytes {
	if len(sig) != ed25519.SignatureSize {
		return nil
	}
	for _, k := range id.Devices() {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k), msg, sig) {
			return k
		}
	}
	return nil
}

// Admission kinds: which single-use credential, if any, a registration
// redeems.
const (
	AdmitOpen   = "open"   // open registration, nothing to redeem
	AdmitInvite = "invite" // an admin-issued invite
	AdmitSetup  = "setup"  // the one-time setup token (first administrator)
)

// Admission is the credential a registration redeems, checked and consumed in
// the same transaction that creates the identity.
type Admission struct {
	Kind      string    // AdmitOpen, AdmitInvite or AdmitSetup
	TokenHash []byte    // SHA-256 of the invite or setup token; nil for AdmitOpen
	Now       time.Time // an invite must expire after Now
}

// Invite is a single-use registration token issued by an administrator. Only
// its hash is stored.
type Invite struct {
	ID        string // InviteIDSize random bytes in hex: names it to administrators
	Hash      []byte // SHA-256 of the token
	CreatedBy string // fingerprint of the issuing administrator
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedBy    string    // fingerprint of the identity it registered; "" while unused
	UsedAt    time.Time // zero while unused
}

// Challenge is a login challenge: a random nonce that the identity signs once.
// Challenges are not stored when issued (the server authenticates their id);
// answering one records it as a UsedChallenge.
type Challenge struct {
	ID          string
	Fingerprint string
	Nonce       []byte
	ExpiresAt   time.Time
}

// RevocationReason says why a session was revoked. The services decide it
// (the store records what it is told); it is stored as its string.
type RevocationReason string

// Revocation reasons.
const (
	RevokedLogout RevocationReason = "logout" // the session logged out
	RevokedReuse  RevocationReason = "reuse"  // a used refresh token of the session came back
	RevokedBan    RevocationReason = "ban"    // the identity was banned
	RevokedRotate RevocationReason = "rotate" // the identity's key was rotated (EntryRotate)
	RevokedCancel RevocationReason = "cancel" // a rotation of the identity's key was cancelled (EntryCancel)
	// RevokedRecover: the identity's key was rotated by a recovery key (EntryRecover).
	RevokedRecover RevocationReason = "recover"
	// RevokedRecoveryKeys: the identity's recovery keys changed (EntryRecoveryKeys).
	RevokedRecoveryKeys RevocationReason = "recovery_keys"
	// RevokedDeviceRemove: the session's device key was removed (EntryDeviceRemove).
	RevokedDeviceRemove RevocationReason = "device_remove"
)

// Session is a login session: one refresh-token family. Its access tokens
// carry its ID, and revoking it stops them at once.
type Session struct {
	ID          string
	Fingerprint string
	CreatedAt   time.Time
	LastUsedAt  time.Time        // last login or refresh; drives the idle timeout
	ExpiresAt   time.Time        // absolute end of the session
	RevokedAt   time.Time        // zero while live
	Reason      RevocationReason // why it was revoked; empty while live
	Refresh     RefreshState     // its refresh-token state
	DeviceKey   []byte           // the device key that logged in; nil for a session made before 0020
}

// Revoked reports whether the session has been revoked.
func (s Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// RefreshState is a session's refresh-token state, the same size whatever
// the number of refreshes: tokens name their session and sequence number and
// are authenticated by the server, so none is stored.
type RefreshState struct {
	Seq       int64     // sequence number of the newest token: 0 for the one issued at login, then 1, 2, …
	IssuedAt  time.Time // when the newest token was issued
	GraceUsed bool      // whether the token before the newest came back in its grace period already
}

// UsedChallenge records that a login challenge has been answered, so that it
// is answered at most once.
type UsedChallenge struct {
	Nonce     []byte    // the challenge's random nonce, which names it
	ExpiresAt time.Time // the record may be purged after this
}

// Purge says what PurgeExpired deletes: each kind of record that ended
// before its cutoff. The services set the cutoffs; a zero cutoff deletes
// nothing of its kind.
type Purge struct {
	Now           time.Time // used challenges, invites and sessions that expired before Now
	IdleBefore    time.Time // sessions last used before this
	RevokedBefore time.Time // sessions revoked before this
	// CeremoniesBefore: ceremonies that closed (completed, failed or
	// cancelled) and last changed before this, once their signed request's
	// deadline has passed Now too (so its nonce can't be replayed). Group
	// keys and used commitments stay.
	CeremoniesBefore time.Time
}

// NewSession is a login's write: the session and the challenge the login answered (nil if the login recorded it already with
// UseChallenge).
type NewSession struct {
	Session   Session
	Challenge *UsedChallenge
}

// Store persists ChusMe's state. Every method is safe for concurrent use, and
// every method that consumes a single-use secret does so atomically: of two
// concurrent callers at most one succeeds. Errors are *Error values with
// CodeNotFound or CodeConflict where documented, anything else is internal.
//
// Storage engines only persist: the rules (expiry, who may do what, which
// sessions end and why) live in the services, which reach into a
// transaction through the callbacks of the Exchange, Update and Append
// methods. A method that revokes an identity's sessions is told the reason
// and returns the ids of the sessions it revoked.
type Store interface {
	CeremonyStore  // FROST ceremonies, group keys (ceremony.go)
	LifecycleStore // TOTP, identity blobs and chains (lifecycle.go)
	WSTicketStore  // single-use WebSocket tickets (ws.go)
	BlockStore     // who blocks whom from inviting them (blocks.go)
	AdminStore     // ceremony stats and invites for administrators (adminview.go)

	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error

	// PutSetupToken records the hash of a new setup token, replacing any
	// pending one. CodeConflict if an identity exists already.
	PutSetupToken(ctx context.Context, hash []byte, createdAt time.Time) error
	// SetupPending reports whether a setup token waits to be redeemed.
	SetupPending(ctx context.Context) (bool, error)

	// CreateIdentity registers id, redeeming adm in the same transaction.
	// CodeConflict if the fingerprint exists; CodeNotFound if the invite or
	// setup token is unknown, used, or (invite) expired, or if a setup token
	// is redeemed while an identity exists.
	CreateIdentity(ctx context.Context, id Identity, adm Admission) error
	// GetIdentity returns the identity. CodeNotFound if unknown.
	GetIdentity(ctx context.Context, fingerprint string) (Identity, error)
	// GetLoginIdentity returns the identity and its TOTP credential (the
	// zero value if it has none) in one read: what answering a login
	// challenge needs. CodeNotFound if the identity is unknown.
	GetLoginIdentity(ctx context.Context, fingerprint string) (Identity, TOTPCredential, error)
	// CountIdentities returns how many identities exist.
	CountIdentities(ctx context.Context) (int, error)
	// BanIdentity marks the identity banned (an identity banned already
	// keeps its first ban time) and, unless revoke is empty, revokes every
	// live session of the identity at at with reason revoke, in one
	// transaction. It returns the ids of the sessions it revoked.
	// CodeNotFound if unknown.
	BanIdentity(ctx context.Context, fingerprint string, at time.Time, revoke RevocationReason) (revoked []string, err error)
	// UnbanIdentity marks the identity active again (an active one stays
	// as it was). CodeNotFound if unknown.
	UnbanIdentity(ctx context.Context, fingerprint string) error
	// ListIdentities returns at most limit identities by fingerprint,
	// ascending, each after the fingerprint after ("" starts at the
	// first), of status status ("" for any).
	ListIdentities(ctx context.Context, status, after string, limit int) ([]Identity, error)
	// LiveSessions returns the identity's sessions neither revoked nor
	// expired at now, newest first.
	LiveSessions(ctx context.Context, fingerprint string, now time.Time) ([]Session, error)

	// CreateInvite stores an invite. CodeConflict if the hash exists.
	CreateInvite(ctx context.Context, inv Invite) error

	// UseChallenge records a login challenge as answered without a session
	// (a failed answer, or one that still needs a second factor).
	// CodeConflict if it was answered before.
	UseChallenge(ctx context.Context, c UsedChallenge) error

	// CreateSession records ns.Challenge (if any) as answered and stores the
	// session, in one transaction. CodeConflict
	// if the challenge was answered before (nothing is written then).
	CreateSession(ctx context.Context, ns NewSession) error
	// GetSession returns a session. CodeNotFound if unknown.
	GetSession(ctx context.Context, id string) (Session, error)
	// RevokeSession marks a live session revoked at at with reason (a
	// revoked one stays as it was). CodeNotFound if unknown.
	RevokeSession(ctx context.Context, id string, at time.Time, reason RevocationReason) error
	// ExchangeRefreshToken runs decide inside one transaction on the
	// session with the given id, then writes the session decide returned
	// (unless nil) and commits — also when decide returns an error, so that
	// a refused exchange can revoke its session — and returns decide's
	// error. Concurrent exchanges on one session are serialized.
	// CodeNotFound if the session is unknown (decide is not called).
	ExchangeRefreshToken(ctx context.Context, sessionID string, decide func(Session) (*Session, error)) error

	// PurgeExpired deletes what p says in bounded batches, each its own
	// transaction, so that neither a long lock nor a large transaction
	// follows a backlog, and returns how many records it deleted (a
	// ceremony with its members and submissions counts once).
	PurgeExpired(ctx context.Context, p Purge) (int64, error)
}
