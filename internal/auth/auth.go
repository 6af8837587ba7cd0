// Package auth holds the rules of identities and sessions: bootstrap and
// registration, challenge-response login, access and refresh tokens with
// reuse detection, logout, invites and bans. It persists through chusme.Store
// and signs tokens through package tokens; it knows nothing of HTTP.
package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"slices"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
	"github.com/chusme/chusme/internal/tokens"
	"github.com/chusme/chusme/keys"
)

// Defaults of Config.
const (
	DefaultChallengeTTL    = 60 * time.Second    // how long a login challenge can be answered
	DefaultRefreshGrace    = 10 * time.Second    // how long the previous refresh token may come back once
	DefaultSessionIdle     = 14 * 24 * time.Hour // a session unused this long ends
	DefaultSessionLifetime = 90 * 24 * time.Hour // no session outlives this
	DefaultInviteTTL       = 7 * 24 * time.Hour  // an invite's default validity
	MaxInviteTTL           = 90 * 24 * time.Hour // the longest an invite may be valid
)

// Sizes of random values.
const (
	nonceSize = 32 // login challenge nonce, bytes
)

// Registration modes.
const (
	RegistrationOpen   = "open"   // anyone may register
	RegistrationInvite = "invite" // an admin-issued invite is needed
)

// Config holds the service's settings. Zero durations take the defaults.
type Config struct {
	Issuer          string // the server's public base URL, bound into signed messages
	Registration    string // RegistrationOpen or RegistrationInvite
	ChallengeTTL    time.Duration
	RefreshGrace    time.Duration // 0 takes the default; negative disables the grace
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	DataKey         []byte          // 256-bit key: seals TOTP secrets at rest, keys the challenge MAC
	TOTPLimit       ratelimit.Limit // TOTP and recovery codes per identity; zero is unlimited
}

// Events receives what the service reports for metrics. Implementations
// must be safe for concurrent use.
type Events interface {
	Login(outcome string) // "ok" or a problem code
	RefreshReused()       // a used refresh token came back; its session was revoked
}

// Principal is who an access token speaks for.
type Principal struct {
	Fingerprint string
	SessionID   string
	ExpiresAt   time.Time // of the access token
}

// Service implements the rules. It is safe for concurrent use.
type Service struct {
	store  chusme.Store
	issuer *tokens.Issuer
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	events Events

	totpLimit    *ratelimit.Limiter // TOTP attempts per identity
	challengeMAC []byte             // HMAC key of login challenge ids
	refreshMAC   []byte             // HMAC key authenticating refresh tokens
}

// New returns a service. now is the clock (time.Now outside tests). It fails
// unless cfg.DataKey is 256 bits.
func New(store chusme.Store, issuer *tokens.Issuer, cfg Config, now func() time.Time, log *slog.Logger, events Events) (*Service, error) {
	mac, err := macKey(cfg.DataKey, chusme.LabelLoginChallengeMAC)
	if err != nil {
		return nil, err
	}
	refreshMAC, err := macKey(cfg.DataKey, chusme.LabelRefreshTokenMAC)
	if err != nil {
		return nil, err
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	switch {
	case cfg.RefreshGrace == 0:
		cfg.RefreshGrace = DefaultRefreshGrace
	case cfg.RefreshGrace < 0:
		cfg.RefreshGrace = 0
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.Registration == "" {
		cfg.Registration = RegistrationInvite
	}
	return &Service{store: store, issuer: issuer, cfg: cfg, now: now, log: log, events: events,
		totpLimit: ratelimit.New(cfg.TOTPLimit, now), challengeMAC: mac, refreshMAC: refreshMAC}, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// hashSecret is how single-use secrets (setup token, invites) are stored: their SHA-256. The secrets carry at least 128 bits of
// randomness, so a fast hash is the right one.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Bootstrap prepares the first start: when no identity exists it creates a
// new setup token, stores its hash (replacing any earlier one) and returns
// it; otherwise it returns "".
func (s *Service) Bootstrap(ctx context.Context) (string, error) {
	n, err := s.store.CountIdentities(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := rand.Text()
	if err := s.store.PutSetupToken(ctx, hashSecret(token), s.now()); err != nil {
		return "", err
	}
	return token, nil
}

// Setup redeems the setup token and registers the first administrator.
func (s *Service) Setup(ctx context.Context, req chusme.SetupRequest) (chusme.Identity, error) {
	if req.SetupToken == "" {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeInvalidRequest, "setup_token is required")
	}
	id, err := s.newIdentity(req.PublicKey, req.Signature, chusme.RoleAdmin)
	if err != nil {
		return chusme.Identity{}, err
	}
	err = s.store.CreateIdentity(ctx, id, chusme.Admission{Kind: chusme.AdmitSetup, TokenHash: hashSecret(req.SetupToken), Now: id.CreatedAt})
	switch chusme.ErrorCode(err) {
	case "":
		s.log.Info("first administrator registered", "fingerprint", id.Fingerprint)
		return id, nil
	case chusme.CodeNotFound:
		return chusme.Identity{}, chusme.Errorf(chusme.CodeSetupInvalid, "setup token is wrong or already redeemed")
	case chusme.CodeConflict:
		return chusme.Identity{}, chusme.Errorf(chusme.CodeIdentityExists, "this key is already registered")
	default:
		return chusme.Identity{}, err
	}
}

// Register registers an identity, redeeming the invite when one is given.
// Without an invite, registration must be open.
func (s *Service) Register(ctx context.Context, req chusme.RegisterRequest) (chusme.Identity, error) {
	adm := chusme.Admission{Kind: chusme.AdmitOpen}
	switch {
	case req.Invite != "":
		adm = chusme.Admission{Kind: chusme.AdmitInvite, TokenHash: hashSecret(req.Invite)}
	case s.cfg.Registration != RegistrationOpen:
		return chusme.Identity{}, chusme.Errorf(chusme.CodeRegistrationClosed, "registration needs an invite")
	}
	id, err := s.newIdentity(req.PublicKey, req.Signature, chusme.RoleUser)
	if err != nil {
		return chusme.Identity{}, err
	}
	adm.Now = id.CreatedAt
	err = s.store.CreateIdentity(ctx, id, adm)
	switch chusme.ErrorCode(err) {
	case "":
		return id, nil
	case chusme.CodeNotFound:
		return chusme.Identity{}, chusme.Errorf(chusme.CodeInviteInvalid, "invite is unknown, used or expired")
	case chusme.CodeConflict:
		return chusme.Identity{}, chusme.Errorf(chusme.CodeIdentityExists, "this key is already registered")
	default:
		return chusme.Identity{}, err
	}
}

// newIdentity checks the key strictly and the proof of possession.
func (s *Service) newIdentity(pub, sig []byte, role string) (chusme.Identity, error) {
	if err := keys.CheckPublicKey(pub); err != nil {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeInvalidPublicKey, "%v", err)
	}
	if err := keys.Verify(pub, chusme.RegisterMessage(s.cfg.Issuer, pub), sig); err != nil {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeInvalidSignature, "registration signature does not verify")
	}
	return chusme.Identity{
		Fingerprint: chusme.Fingerprint(pub),
		GenesisKey:  pub,
		PublicKey:   pub,
		Role:        role,
		Status:      chusme.StatusActive,
		CreatedAt:   s.now().UTC(),
	}, nil
}

// Identity returns an identity by fingerprint.
func (s *Service) Identity(ctx context.Context, fp string) (chusme.Identity, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeNotFound, "no such identity")
	}
	id, err := s.store.GetIdentity(ctx, fp)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeNotFound, "no such identity")
	}
	return id, err
}

// Challenge issues a login challenge for an active identity. Nothing is
// stored until it is answered (see challenge.go).
func (s *Service) Challenge(ctx context.Context, fp string) (chusme.Challenge, error) {
	id, err := s.Identity(ctx, fp)
	if err != nil {
		return chusme.Challenge{}, err
	}
	if id.Status != chusme.StatusActive {
		return chusme.Challenge{}, chusme.Errorf(chusme.CodeBanned, "identity is banned")
	}
	return s.newChallenge(fp, s.now().UTC().Add(s.cfg.ChallengeTTL))
}

// replacedKey explains a login signature that the current key did not
// make: CodeKeyRotated, naming the entry, its time and its cancel window,
// if a key the chain replaced made it; CodeInvalidSignature otherwise.
func (s *Service) replacedKey(ctx context.Context, fp string, msg, sig []byte) error {
	invalid := chusme.Errorf(chusme.CodeInvalidSignature, "login signature does not verify")
	entries, err := s.store.ListChain(ctx, fp)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return invalid
	}
	for _, e := range slices.Backward(entries) {
		if bytes.Equal(e.OldKey, e.NewKey) || len(e.OldKey) != ed25519.PublicKeySize || !ed25519.Verify(ed25519.PublicKey(e.OldKey), msg, sig) {
			continue
		}
		if e.Kind == chusme.EntryDeviceRemove {
			return chusme.Errorf(chusme.CodeKeyRotated, "this device key was removed at %s (chain entry %d): add this machine again with a new key "+
				"(chusme devices join), or, if that was not you, recover with a recovery key (chusme recover)", e.AcceptedAt.UTC().Format(time.RFC3339), e.Seq)
		}
		end := e.AcceptedAt.Add(chusme.RotationCancelWindow)
		next := "if that was not you, recover with a recovery key (chusme recover)"
		if s.now().Before(end) {
			next = "if that was not you, cancel it by " + end.UTC().Format(time.RFC3339) + " (chusme rotate cancel) or recover with a recovery key (chusme recover)"
		}
		return chusme.Errorf(chusme.CodeKeyRotated, "this key was replaced at %s (chain entry %d, %s); its cancel window ends %s: %s",
			e.AcceptedAt.UTC().Format(time.RFC3339), e.Seq, e.Kind, end.UTC().Format(time.RFC3339), next)
	}
	return invalid
}

// Token answers a challenge: it checks the signature of one of the
// identity's current device keys over the login message and opens a
// session, which records that key. A genuine,
// unexpired challenge is used up whatever the outcome.
func (s *Service) Token(ctx context.Context, req chusme.TokenRequest) (chusme.TokenResponse, error) {
	resp, err := s.token(ctx, req)
	outcome := chusme.ErrorCode(err)
	if outcome == "" {
		outcome = "ok"
	}
	s.events.Login(outcome)
	return resp, err
}

func (s *Service) token(ctx context.Context, req chusme.TokenRequest) (chusme.TokenResponse, error) {
	invalid := chusme.Errorf(chusme.CodeChallengeInvalid, "challenge is unknown, used or expired")
	now := s.now().UTC()
	c, ok := s.openChallenge(req.ChallengeID)
	if !ok || !now.Before(c.ExpiresAt) {
		return chusme.TokenResponse{}, invalid
	}
	used := usedChallenge(c)
	// use records the challenge as answered; a challenge answered before
	// is invalid whatever else is wrong with this answer.
	use := func() error {
		err := s.store.UseChallenge(ctx, *used)
		if chusme.ErrorCode(err) == chusme.CodeConflict {
			return invalid
		}
		return err
	}
	fail := func(e error) (chusme.TokenResponse, error) {
		if err := use(); err != nil {
			return chusme.TokenResponse{}, err
		}
		return chusme.TokenResponse{}, e
	}
	id, cred, err := s.store.GetLoginIdentity(ctx, c.Fingerprint)
	if err != nil {
		return fail(err)
	}
	if id.Status != chusme.StatusActive {
		return fail(chusme.Errorf(chusme.CodeBanned, "identity is banned"))
	}
	msg := chusme.LoginMessage(s.cfg.Issuer, c.ID, c.Nonce)
	device := id.DeviceSigner(msg, req.Signature)
	if device == nil {
		return fail(s.replacedKey(ctx, id.Fingerprint, msg, req.Signature))
	}
	totp, err := loginTOTP(cred, req.TOTPCode, req.RecoveryCode)
	if err != nil {
		return fail(err)
	}
	if totp {
		// Use the challenge before the code is checked, so that a replayed
		// answer can't be used to try codes.
		if err := use(); err != nil {
			return chusme.TokenResponse{}, err
		}
		if err := s.secondFactor(ctx, cred, req.TOTPCode, req.RecoveryCode); err != nil {
			return chusme.TokenResponse{}, err
		}
		used = nil
	}
	sess := chusme.Session{
		ID:          rand.Text(),
		Fingerprint: id.Fingerprint,
		CreatedAt:   now,
		LastUsedAt:  now,
		ExpiresAt:   now.Add(s.cfg.SessionLifetime),
		Refresh:     chusme.RefreshState{IssuedAt: now},
		DeviceKey:   device,
	}
	err = s.store.CreateSession(ctx, chusme.NewSession{Session: sess, Challenge: used})
	if chusme.ErrorCode(err) == chusme.CodeConflict {
		return chusme.TokenResponse{}, invalid // answered before, or concurrently
	} else if err != nil {
		return chusme.TokenResponse{}, err
	}
	return s.tokenPair(sess, s.refreshToken(sess.ID, 0))
}

func (s *Service) tokenPair(sess chusme.Session, refresh string) (chusme.TokenResponse, error) {
	access, _, err := s.issuer.Issue(sess.Fingerprint, sess.ID)
	if err != nil {
		return chusme.TokenResponse{}, err
	}
	return chusme.TokenResponse{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int(tokens.AccessTTL / time.Second),
		RefreshToken: refresh,
		SessionID:    sess.ID,
	}, nil
}

// Refresh exchanges a refresh token for a new pair. The newest token of a
// session can be exchanged once. The token it replaced may come back once
// within the grace period (a lost response, two tabs): that returns a new
// access token and the same refresh token the first exchange returned,
// which stays the newest, so both holders keep one live token. Any other
// earlier token of the session is reuse: the whole session is revoked, and
// so are the tokens of every holder. A token the server did not issue is
// refresh_invalid and changes nothing.
func (s *Service) Refresh(ctx context.Context, refresh string) (chusme.TokenResponse, error) {
	invalid := chusme.Errorf(chusme.CodeRefreshInvalid, "refresh token is unknown or expired")
	sid, seq, ok := s.openRefresh(refresh)
	if !ok {
		return chusme.TokenResponse{}, invalid
	}
	now := s.now().UTC()
	var sess chusme.Session
	err := s.store.ExchangeRefreshToken(ctx, sid, func(st chusme.Session) (*chusme.Session, error) {
		sess = st
		u, err := s.decideRefresh(st, seq, now)
		if u != nil {
			sess = *u
		}
		return u, err
	})
	switch chusme.ErrorCode(err) {
	case "":
		return s.tokenPair(sess, s.refreshToken(sid, sess.Refresh.Seq))
	case chusme.CodeNotFound:
		return chusme.TokenResponse{}, invalid
	case chusme.CodeRefreshReused:
		s.events.RefreshReused()
		s.log.Warn("refresh token reuse: session revoked", "session", sess.ID, "fingerprint", sess.Fingerprint)
	}
	return chusme.TokenResponse{}, err
}

// decideRefresh is the refresh rule, run inside the store's transaction on
// the session that token seq names: it returns the session to write (nil
// for nothing) and the exchange's error.
func (s *Service) decideRefresh(sess chusme.Session, seq int64, now time.Time) (*chusme.Session, error) {
	switch {
	case sess.Revoked():
		return nil, revokedError(sess.Reason)
	case !now.Before(sess.ExpiresAt) || now.Sub(sess.LastUsedAt) >= s.cfg.SessionIdle:
		return nil, chusme.Errorf(chusme.CodeRefreshInvalid, "session expired")
	}
	r, revoked := sess.Refresh, sess
	sess.LastUsedAt = now
	switch {
	case seq == r.Seq:
		sess.Refresh = chusme.RefreshState{Seq: r.Seq + 1, IssuedAt: now}
		return &sess, nil
	// A grace of 0 is none, also for a now read before the exchange that
	// issued the newest token committed (now before r.IssuedAt).
	case s.cfg.RefreshGrace > 0 && seq == r.Seq-1 && !r.GraceUsed && now.Sub(r.IssuedAt) <= s.cfg.RefreshGrace:
		sess.Refresh.GraceUsed = true
		return &sess, nil
	case seq > r.Seq:
		// Authentic but never issued: only a holder of the data key could
		// make it. Refused without revoking.
		return nil, chusme.Errorf(chusme.CodeRefreshInvalid, "refresh token is unknown or expired")
	default:
		revoked.RevokedAt, revoked.Reason = now, chusme.RevokedReuse
		return &revoked, chusme.Errorf(chusme.CodeRefreshReused, "refresh token was already used: the session is revoked")
	}
}

// Purge returns what may be purged at now of the records the service
// rules on: expired challenges, invites and sessions, and sessions idle past
// the timeout or revoked, once the last access token they issued has expired
// too (so that it keeps its precise error until then).
func (s *Service) Purge(now time.Time) chusme.Purge {
	lastAccess := tokens.AccessTTL + tokens.Leeway
	return chusme.Purge{Now: now, IdleBefore: now.Add(-s.cfg.SessionIdle - lastAccess), RevokedBefore: now.Add(-lastAccess)}
}

// Authenticate validates an access token and checks that its session is
// live (LiveSession), so that logout and bans take effect at once: the
// check of every HTTP request and of a WebSocket's ?token=.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	c, err := s.issuer.Validate(accessToken)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Fingerprint: c.Subject, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt.Time}
	if _, err := s.LiveSession(ctx, p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// LiveSession returns the principal's session while it is live: known, of
// the principal's identity, not revoked and not expired. It is the one
// liveness rule of every credential: HTTP requests (Authenticate),
// WebSocket tickets (their issue and redemption) and WebSocket connections
// (at the upgrade, after registration and at every ping). An ended session
// fails with one code per situation: CodeBanned if it was revoked because
// its identity was banned, CodeSessionRevoked otherwise.
func (s *Service) LiveSession(ctx context.Context, p Principal) (chusme.Session, error) {
	sess, err := s.store.GetSession(ctx, p.SessionID)
	switch {
	case chusme.ErrorCode(err) == chusme.CodeNotFound:
		return chusme.Session{}, sessionEnded()
	case err != nil:
		return chusme.Session{}, err
	case sess.Fingerprint != p.Fingerprint:
		return chusme.Session{}, sessionEnded()
	case sess.Revoked():
		return chusme.Session{}, revokedError(sess.Reason)
	case !s.now().Before(sess.ExpiresAt):
		return chusme.Session{}, sessionEnded()
	}
	return sess, nil
}

// sessionEnded is the error of a credential whose session is unknown,
// another identity's or expired.
func sessionEnded() error { return chusme.Errorf(chusme.CodeSessionRevoked, "session has ended") }

// revokedError is the error of a credential (access token, ticket, refresh
// token) whose session was revoked with reason.
func revokedError(reason chusme.RevocationReason) error {
	if reason == chusme.RevokedBan {
		return chusme.Errorf(chusme.CodeBanned, "the identity is banned")
	}
	return chusme.Errorf(chusme.CodeSessionRevoked, "session is revoked")
}

// Logout revokes the principal's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	return s.store.RevokeSession(ctx, p.SessionID, s.now().UTC(), chusme.RevokedLogout)
}

// requireAdmin returns nil when the principal is an active administrator.
func (s *Service) requireAdmin(ctx context.Context, p Principal) error {
	id, err := s.store.GetIdentity(ctx, p.Fingerprint)
	if err != nil {
		return err
	}
	if id.Role != chusme.RoleAdmin || id.Status != chusme.StatusActive {
		return chusme.Errorf(chusme.CodeForbidden, "administrators only")
	}
	return nil
}

// CreateInvite issues a single-use registration invite valid for ttl (0
// takes the default): its token, once, and the id it is listed by.
func (s *Service) CreateInvite(ctx context.Context, p Principal, ttl time.Duration) (chusme.InviteResponse, error) {
	if err := s.requireAdmin(ctx, p); err != nil {
		return chusme.InviteResponse{}, err
	}
	switch {
	case ttl == 0:
		ttl = DefaultInviteTTL
	case ttl < time.Minute || ttl > MaxInviteTTL:
		return chusme.InviteResponse{}, chusme.Errorf(chusme.CodeInvalidRequest, "ttl must be between 60 s and %d s", int(MaxInviteTTL/time.Second))
	}
	token := rand.Text()
	now := s.now().UTC()
	inv := chusme.Invite{ID: newInviteID(), Hash: hashSecret(token), CreatedBy: p.Fingerprint, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateInvite(ctx, inv); err != nil {
		return chusme.InviteResponse{}, err
	}
	return chusme.InviteResponse{Invite: token, ID: inv.ID, ExpiresAt: inv.ExpiresAt}, nil
}

// Ban bans an identity and revokes all its sessions. An administrator can't
// ban itself.
func (s *Service) Ban(ctx context.Context, p Principal, fp string) (chusme.Identity, error) {
	if err := s.requireAdmin(ctx, p); err != nil {
		return chusme.Identity{}, err
	}
	if fp == p.Fingerprint {
		return chusme.Identity{}, chusme.Errorf(chusme.CodeInvalidRequest, "an administrator can't ban itself")
	}
	if _, err := s.Identity(ctx, fp); err != nil {
		return chusme.Identity{}, err
	}
	revoked, err := s.store.BanIdentity(ctx, fp, s.now().UTC(), chusme.RevokedBan)
	if err != nil {
		return chusme.Identity{}, err
	}
	s.log.Info("identity banned", "fingerprint", fp, "by", p.Fingerprint, "sessions_revoked", len(revoked))
	return s.store.GetIdentity(ctx, fp)
}

// Role returns the principal's role.
func (s *Service) Role(ctx context.Context, p Principal) (string, error) {
	id, err := s.store.GetIdentity(ctx, p.Fingerprint)
	return id.Role, err
}
