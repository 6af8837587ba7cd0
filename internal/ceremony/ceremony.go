// Package ceremony is the FROST coordinator of chusmed: it starts DKG and
// signing ceremonies, checks and relays their packages, moves them through
// their rounds along a table of legal transitions, fails them at deadlines,
// and wakes long-polling readers. The protocol is described in the root
// package (chusme.CeremonyPackageMessage and its neighbours); the rules are
// here; the store only keeps each transition atomic.
//
// The server never holds a secret: it sees DKG round-1 packages (public
// commitments and proofs), HPKE ciphertexts of round-2 shares, public key
// packages, nonce commitments and signature shares.
package ceremony

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// DefaultRoundTimeout is how long a round waits for its submissions before
// the ceremony fails: 5 minutes, time for people to approve on their devices.
const DefaultRoundTimeout = 5 * time.Minute

// DefaultRoundMax is the longest round timeout a ceremony's request may ask
// for unless configured otherwise: 24 hours, as long as a request may wait
// to be used (chusme.MaxCeremonyRequestAhead).
const DefaultRoundMax = 24 * time.Hour

// MaxWait is the longest a long-poll waits for a change: 30 s, below common
// proxy idle timeouts.
const MaxWait = 30 * time.Second

// recheckInterval is how often a long-poll rereads the store even without an
// in-process notification, so that a change made by another server node is
// seen within it.
const recheckInterval = 2 * time.Second

// DefaultOpenMax is how many open ceremonies one identity may have started
// at a time: 20.
const DefaultOpenMax = 20

// Config holds the service's settings.
type Config struct {
	RoundTimeout time.Duration // per round, unless the request asks otherwise; 0 means DefaultRoundTimeout
	RoundMax     time.Duration // the longest round timeout a request may ask for; 0 means DefaultRoundMax
	// OpenMax bounds the open ceremonies of one creator; 0 means
	// DefaultOpenMax.
	OpenMax int
	Now     func() time.Time // the clock; nil means time.Now
	// Issuer is the server's issuer, which DKG participants bind into
	// their group key confirmations (chusme.GroupKeyConfirmMessage).
	Issuer string
}

// Events receives what the metrics count. Every method must be cheap and
// safe for concurrent use.
type Events interface {
	CeremonyStarted(kind string)
	// CeremonyFinished: status is completed, failed or cancelled; reason a
	// chusme.Fail* constant, "cancelled" or "" when completed.
	CeremonyFinished(kind, status, reason string)
	CeremonyRound(kind string, round int, d time.Duration) // a round completed after d
	CryptoOp(op string, d time.Duration)                   // a cryptographic check took d
	CeremoniesOpen(n int)                                  // how many ceremonies are open now (this node's view)
	CeremonyOpenDelta(delta int)                           // open ceremonies changed by delta
}

type noEvents struct{}

func (noEvents) CeremonyStarted(string)                   {}
func (noEvents) CeremonyFinished(string, string, string)  {}
func (noEvents) CeremonyRound(string, int, time.Duration) {}
func (noEvents) CryptoOp(string, time.Duration)           {}
func (noEvents) CeremoniesOpen(int)                       {}
func (noEvents) CeremonyOpenDelta(int)                    {}

// Service coordinates ceremonies. It is safe for concurrent use.
type Service struct {
	store  chusme.Store
	cfg    Config
	ev     Events
	log    *slog.Logger
	notify *notifier
	done   chan struct{} // closed by Shutdown: long-polls return at once
	cache  caches
}

// New returns a service. ev may be nil.
func New(store chusme.Store, cfg Config, ev Events, log *slog.Logger) *Service {
	if cfg.RoundTimeout <= 0 {
		cfg.RoundTimeout = DefaultRoundTimeout
	}
	if cfg.RoundMax <= 0 {
		cfg.RoundMax = DefaultRoundMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OpenMax <= 0 {
		cfg.OpenMax = DefaultOpenMax
	}
	if ev == nil {
		ev = noEvents{}
	}
	return &Service{store: store, cfg: cfg, ev: ev, log: log, notify: newNotifier(), done: make(chan struct{})}
}

// Shutdown makes every pending and future long-poll return at once, so that
// an HTTP server's graceful shutdown doesn't wait for them. Call it once.
func (s *Service) Shutdown() { close(s.done) }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// identifier is a participant's FROST identifier: derived from its
// fingerprint (frost-core's Identifier::derive).
func identifier(fp string) (frost.Identifier, error) {
	return frost.DeriveIdentifier([]byte(fp))
}

func invalid(format string, args ...any) error {
	return chusme.Errorf(chusme.CodeInvalidRequest, format, args...)
}

func badPackage(format string, args ...any) error {
	return chusme.Errorf(chusme.CodeInvalidPackage, format, args...)
}

var errNotFound = chusme.Errorf(chusme.CodeNotFound, "no such ceremony")

// checkFingerprints requires a sorted-after-return, duplicate-free list of
// active identities.
func (s *Service) checkFingerprints(ctx context.Context, fps []string, what string) ([]string, error) {
	out := slices.Clone(fps)
	slices.Sort(out)
	for i, fp := range out {
		if !chusme.ValidFingerprint(fp) {
			return nil, invalid("%s: %q is not a fingerprint", what, fp)
		}
		if i > 0 && out[i-1] == fp {
			return nil, invalid("%s: %s is listed twice", what, fp)
		}
		id, err := s.store.GetIdentity(ctx, fp)
		if chusme.ErrorCode(err) == chusme.CodeNotFound || (err == nil && id.Status != chusme.StatusActive) {
			return nil, invalid("%s: %s is not an active identity", what, fp)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) isAdmin(ctx context.Context, fp string) (bool, error) {
	id, err := s.store.GetIdentity(ctx, fp)
	return isAdmin(id), err
}

// isAdmin reports whether id is an active administrator.
func isAdmin(id chusme.Identity) bool {
	return id.Role == chusme.RoleAdmin && id.Status == chusme.StatusActive
}

// Create starts a ceremony on behalf of the identity caller. A DKG's creator
// must be one of its participants or an administrator; a signing ceremony's
// creator a participant of the key or an administrator. The request must be
// signed by caller (checkRequest); a nonce caller used before is
// CodeConflict. A participant that blocked the creator makes it
// CodeParticipantBlocked. A creator with Config.OpenMax open ceremonies gets
// CodeTooManyOpenCeremonies. The count is read before the ceremony is
// stored, not in its transaction: creations of one caller racing each other
// can overshoot the bound by how many of them run at once, which the
// creation rate limit keeps small.
func (s *Service) Create(ctx context.Context, caller string, req chusme.CreateCeremonyRequest) (chusme.Ceremony, error) {
	creator, err := s.store.GetIdentity(ctx, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	admin := isAdmin(creator)
	now := s.now()
	timeout, err := s.roundTimeout(req.RoundTimeout)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	c := chusme.Ceremony{
		ID: chusme.NewCeremonyID(), Kind: req.Kind, Creator: caller, Status: chusme.CeremonyOpen, Round: 1,
		Submitted: []string{}, Culprits: []string{}, Deadline: now.Add(timeout), Version: 1,
		CreatedAt: now, UpdatedAt: now, RoundStarted: now,
		RoundTimeout: timeout, RequestRoundTimeout: req.RoundTimeout, AllSigners: req.AllSigners, Signers: []string{},
	}
	switch req.Kind {
	case chusme.KindDKG:
		if req.KeyID != "" || req.Message != nil || req.AllSigners {
			return c, invalid("a dkg ceremony takes no key_id, message or all_signers (every participant takes part)")
		}
		n := len(req.Participants)
		if n < 2 || n > chusme.MaxCeremonyParticipants {
			return c, invalid("a dkg needs 2 to %d participants, not %d", chusme.MaxCeremonyParticipants, n)
		}
		if req.Threshold < 2 || req.Threshold > n {
			return c, invalid("the threshold must be from 2 to the number of participants (%d), not %d", n, req.Threshold)
		}
		if c.Participants, err = s.checkFingerprints(ctx, req.Participants, "participants"); err != nil {
			return c, err
		}
		if !c.IsParticipant(caller) && !admin {
			return c, chusme.Errorf(chusme.CodeForbidden, "only a participant or an administrator may start a dkg")
		}
		c.Threshold = req.Threshold
	case chusme.KindSign:
		if req.Threshold != 0 {
			return c, invalid("a sign ceremony takes its threshold from the key")
		}
		if len(req.Message) > chusme.MaxSignMessage {
			return c, invalid("the message is larger than %d bytes", chusme.MaxSignMessage)
		}
		ck, err := s.groupKey(ctx, req.KeyID, 0)
		var key chusme.GroupKey // read only: shared with the cache
		if err == nil {
			key = ck.key
		}
		if chusme.ErrorCode(err) == chusme.CodeNotFound || (err == nil && !admin && !slices.Contains(key.Participants, caller)) {
			return c, chusme.Errorf(chusme.CodeNotFound, "no such key")
		}
		if err != nil {
			return c, err
		}
		signers := req.Participants
		if len(signers) == 0 {
			signers = key.Participants
		}
		for _, fp := range signers {
			if !slices.Contains(key.Participants, fp) {
				return c, invalid("signers: %s is not a participant of the key", fp)
			}
		}
		if len(signers) < key.Threshold {
			return c, invalid("the key needs at least %d signers, not %d", key.Threshold, len(signers))
		}
		if c.Participants, err = s.checkFingerprints(ctx, signers, "signers"); err != nil {
			return c, err
		}
		c.KeyID, c.KeyGeneration, c.Threshold, c.Message = key.ID, key.Generation, key.Threshold, slices.Clone([]byte(req.Message))
		if c.Message == nil {
			c.Message = []byte{}
		}
	case chusme.KindRefresh:
		if err := s.createRefresh(ctx, &c, caller, admin, req); err != nil {
			return c, err
		}
	case chusme.KindReshare:
		if err := s.createReshare(ctx, &c, caller, admin, req); err != nil {
			return c, err
		}
	case chusme.KindRepair:
		if err := s.createRepair(ctx, &c, caller, admin, req); err != nil {
			return c, err
		}
	default:
		return c, invalid("kind must be dkg, sign, refresh, reshare or repair, not %q", req.Kind)
	}
	if err := s.checkRequest(c, creator, req); err != nil {
		return c, err
	}
	blocking, err := s.store.Blocking(ctx, caller, c.Participants)
	if err != nil {
		return c, err
	}
	if len(blocking) > 0 {
		return c, chusme.Errorf(chusme.CodeParticipantBlocked, "%s blocked you from inviting them: leave them out", strings.Join(blocking, ", "))
	}
	open, err := s.store.CountOpenCeremonies(ctx, caller)
	if err != nil {
		return c, err
	}
	if open >= s.cfg.OpenMax {
		return c, chusme.Errorf(chusme.CodeTooManyOpenCeremonies,
			"you have %d open ceremonies, the most this server allows: wait for one to finish or cancel one", open)
	}
	c.RequestDeadline, c.RequestNonce, c.RequestSignature = req.Deadline, slices.Clone([]byte(req.Nonce)), slices.Clone([]byte(req.Signature))
	if err := s.store.CreateCeremony(ctx, c); err != nil {
		if chusme.ErrorCode(err) == chusme.CodeConflict {
			return c, chusme.Errorf(chusme.CodeConflict, "this request's nonce was used before: sign a new request")
		}
		return c, err
	}
	s.notify.changed(c)
	s.ev.CeremonyStarted(c.Kind)
	s.ev.CeremonyOpenDelta(1)
	s.log.Info("ceremony started", "ceremony", c.ID, "kind", c.Kind, "n", len(c.Participants), "t", c.Threshold)
	return c, nil
}

// roundTimeout is the round timeout a request of secs seconds asks for: 0
// is the configured default, anything else from chusme.MinRoundTimeout to
// Config.RoundMax.
func (s *Service) roundTimeout(secs int64) (time.Duration, error) {
	if secs == 0 {
		return s.cfg.RoundTimeout, nil
	}
	if secs < int64(chusme.MinRoundTimeout/time.Second) || secs > int64(s.cfg.RoundMax/time.Second) {
		return 0, invalid("round_timeout must be 0 (the server's default, %s) or %d to %d seconds, not %d",
			s.cfg.RoundTimeout, int64(chusme.MinRoundTimeout/time.Second), int64(s.cfg.RoundMax/time.Second), secs)
	}
	return time.Duration(secs) * time.Second, nil
}

// checkRequest checks that req is signed by the creator's current key
// (CeremonyRequestMessage over ceremony c's fields, as the server stores
// them), that its nonce is 16 to 32 bytes and that its deadline is after
// now but at most MaxCeremonyRequestAhead later.
func (s *Service) checkRequest(c chusme.Ceremony, creator chusme.Identity, req chusme.CreateCeremonyRequest) error {
	if len(req.Signature) == 0 || len(req.Nonce) == 0 || req.Deadline == 0 {
		return invalid("the request is not signed: it needs a deadline, a nonce and the creator's signature")
	}
	if n := len(req.Nonce); n < chusme.MinCeremonyRequestNonce || n > chusme.MaxCeremonyRequestNonce {
		return invalid("the request's nonce must be %d to %d bytes, not %d", chusme.MinCeremonyRequestNonce, chusme.MaxCeremonyRequestNonce, n)
	}
	deadline, now := time.Unix(req.Deadline, 0), s.now()
	if !deadline.After(now) {
		return invalid("the request's deadline %s has passed", deadline.UTC().Format(time.RFC3339))
	}
	if deadline.After(now.Add(chusme.MaxCeremonyRequestAhead)) {
		return invalid("the request's deadline %s is more than %s ahead", deadline.UTC().Format(time.RFC3339), chusme.MaxCeremonyRequestAhead)
	}
	msg := chusme.CeremonyRequestMessage(s.cfg.Issuer, c.Kind, c.Threshold, c.Participants, c.KeyID,
		chusme.CeremonyMessageSHA256(c.Kind, c.Message), c.RequestRoundTimeout, c.AllSigners, req.Deadline, req.Nonce, c.RequestGeneration(), c.NewParticipants)
	if creator.DeviceSigner(msg, req.Signature) == nil {
		return chusme.Errorf(chusme.CodeInvalidSignature, "the request's signature does not verify under a current device key of %s over the ceremony "+
			"it asks for (kind, threshold, sorted participants, key id, message SHA-256, round timeout, all signers, deadline, nonce)", c.Creator)
	}
	return nil
}

// Get returns a ceremony to one of its members (participants and creator);
// anyone else gets the same CodeNotFound as for an unknown id.
func (s *Service) Get(ctx context.Context, caller, id string) (chusme.Ceremony, error) {
	c, err := s.store.GetCeremony(ctx, id)
	if chusme.ErrorCode(err) == chusme.CodeNotFound || (err == nil && c.Creator != caller && !c.IsParticipant(caller)) {
		return chusme.Ceremony{}, errNotFound
	}
	return c, err
}

// Wait is Get, but while the ceremony's version is at most after and it is
// open, it waits up to maxWait (at most MaxWait) for a change.
func (s *Service) Wait(ctx context.Context, caller, id string, after int64, maxWait time.Duration) (chusme.Ceremony, error) {
	maxWait = min(max(maxWait, 0), MaxWait)
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		ch := s.notify.wait(id)
		c, err := s.Get(ctx, caller, id)
		if err != nil || c.Version > after || c.Status != chusme.CeremonyOpen {
			return c, err
		}
		select {
		case <-ch:
		case <-time.After(recheckInterval):
		case <-timer.C:
			return c, nil
		case <-s.done:
			return c, nil
		case <-ctx.Done():
			return c, ctx.Err()
		}
	}
}

// List returns a page of the ceremonies caller is a member of, newest first,
// and the cursor of the next page ("" after the last). Ceremonies created
// after the first page was read are not on the later ones, and none is on
// two pages.
func (s *Service) List(ctx context.Context, caller string, q chusme.CeremonyListQuery) ([]chusme.Ceremony, string, error) {
	switch q.Status {
	case "", chusme.CeremonyOpen, chusme.CeremonyCompleted, chusme.CeremonyFailed, chusme.CeremonyCancelled:
	default:
		return nil, "", invalid("status must be open, completed, failed or cancelled, not %q", q.Status)
	}
	if q.Limit < 0 || q.Limit > chusme.MaxCeremonyListLimit {
		return nil, "", invalid("limit must be 1 to %d, not %d", chusme.MaxCeremonyListLimit, q.Limit)
	}
	if q.Limit == 0 {
		q.Limit = chusme.MaxCeremonyListLimit
	}
	after, err := parseCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	cs, err := s.store.ListCeremonies(ctx, chusme.CeremonyFilter{Member: caller, Status: q.Status, Limit: q.Limit + 1, After: after})
	if err != nil || len(cs) <= q.Limit {
		return cs, "", err
	}
	cs = cs[:q.Limit]
	last := cs[len(cs)-1]
	return cs, formatCursor(chusme.CeremonyCursor{CreatedAt: last.CreatedAt, ID: last.ID}), nil
}

// A cursor is the unpadded base64url encoding of the creation time (Unix
// nanoseconds, 8 bytes big-endian) and the raw bytes of the id of a page's
// last ceremony.
const cursorSize = 8 + chusme.CeremonyIDSize

func formatCursor(c chusme.CeremonyCursor) string {
	id, _ := hex.DecodeString(c.ID) // a stored id: valid
	b := binary.BigEndian.AppendUint64(make([]byte, 0, cursorSize), uint64(c.CreatedAt.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(append(b, id...))
}

// parseCursor decodes a cursor of formatCursor strictly; "" is the start.
func parseCursor(s string) (chusme.CeremonyCursor, error) {
	if s == "" {
		return chusme.CeremonyCursor{}, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorSize {
		return chusme.CeremonyCursor{}, invalid("cursor: not a cursor this server returned")
	}
	at := int64(binary.BigEndian.Uint64(b))
	if at <= 0 {
		return chusme.CeremonyCursor{}, invalid("cursor: not a cursor this server returned")
	}
	return chusme.CeremonyCursor{CreatedAt: time.Unix(0, at).UTC(), ID: hex.EncodeToString(b[8:])}, nil
}

// EncodedKey returns a generation of a group key, 0 for the current one, as
// encode writes it. Group keys, and every generation of them, are public to
// every identity. A generation comes through the cache of keys (it never
// changes once stored) and is encoded once per format, kept with it: a
// DKG's n participants each read the key, with its n shares and n
// confirmations, as it ends. The caller must not modify the bytes.
func (s *Service) EncodedKey(ctx context.Context, keyID string, generation int, format string, encode func(chusme.GroupKey) ([]byte, error)) ([]byte, error) {
	k, err := s.groupKey(ctx, keyID, generation)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return nil, chusme.Errorf(chusme.CodeNotFound, "no such key or generation")
	}
	if err != nil {
		return nil, err
	}
	return k.encode(format, encode)
}

// Inbox returns the packages of a round that caller may read: the round's
// broadcasts and what was sent to it. Participants only. complete reports
// whether every participant has submitted in that round. The inbox of a
// complete broadcast round is read once and then shared: the caller must
// not modify it.
func (s *Service) Inbox(ctx context.Context, caller, id string, round int) (subs []chusme.CeremonySubmission, complete bool, err error) {
	subs, complete, _, err = s.inbox(ctx, caller, id, round)
	return subs, complete, err
}

// EncodedInbox is Inbox's answer as encode writes it. A shared inbox (a
// complete broadcast round's) is encoded once per format and the bytes
// kept with it: a 67-of-100 DKG's round-1 inbox, 300 KB of JSON, goes to
// all 100 participants. The caller must not modify the bytes.
func (s *Service) EncodedInbox(ctx context.Context, caller, id string, round int, format string, encode func(subs []chusme.CeremonySubmission, complete bool) ([]byte, error)) ([]byte, error) {
	subs, complete, shared, err := s.inbox(ctx, caller, id, round)
	if err != nil {
		return nil, err
	}
	if !shared {
		return encode(subs, complete)
	}
	return s.cache.encodedInboxes.load(ctx, encodedKey{inboxKey{id, round}, format}, s.now(), 0, maxSharedInboxBytes,
		func(b []byte) int { return len(b) }, func() ([]byte, error) { return encode(subs, complete) })
}

// inbox is Inbox, saying whether the inbox is shared.
func (s *Service) inbox(ctx context.Context, caller, id string, round int) (subs []chusme.CeremonySubmission, complete, shared bool, err error) {
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, false, false, err
	}
	if !c.IsParticipant(caller) {
		return nil, false, false, errNotFound
	}
	if round < 1 || round > c.Rounds() {
		return nil, false, false, chusme.Errorf(chusme.CodeNotFound, "a %s ceremony has rounds 1 to %d", c.Kind, c.Rounds())
	}
	complete = round < c.Round || c.Status == chusme.CeremonyCompleted
	direct := c.Direct(round)
	shared = complete && !direct
	held := false
	if complete && direct {
		subs, held = s.directInbox(c, caller)
	}
	switch {
	case shared:
		// Read for every caller waiting: not cut short by this one's end.
		rctx := context.WithoutCancel(ctx)
		subs, err = s.cache.inboxes.load(ctx, inboxKey{id, round}, s.now(), 0, maxSharedInboxBytes, payloadBytes,
			func() ([]chusme.CeremonySubmission, error) { return s.store.ListInbox(rctx, id, round, caller) })
	case held: // this node stored every round-2 package
	case complete && direct:
		// Stored through other nodes, or before a restart: the whole
		// round, read once for all its recipients (the store keeps a
		// sender's packages of a round together, so each recipient's
		// read would read them all).
		rctx := context.WithoutCancel(ctx)
		var all []chusme.CeremonySubmission
		all, err = s.cache.rounds.load(ctx, inboxKey{id, round}, s.now(), 0, maxSharedInboxBytes, payloadBytes,
			func() ([]chusme.CeremonySubmission, error) { return s.store.ListSubmissions(rctx, id, round) })
		for _, r := range all { // by sender, as ListInbox orders them
			if r.Recipient == "" || r.Recipient == caller {
				subs = append(subs, r)
			}
		}
	default:
		subs, err = s.store.ListInbox(ctx, id, round, caller)
	}
	if err != nil {
		return nil, false, false, err
	}
	return subs, complete, shared, nil
}

// Heads returns every participant's current identity chain head, in the
// ceremony's order, as this node read them within headsTTL. Participants
// only.
func (s *Service) Heads(ctx context.Context, caller, id string) ([]chusme.ParticipantHead, error) {
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	if !c.IsParticipant(caller) {
		return nil, errNotFound
	}
	rctx := context.WithoutCancel(ctx) // read for every caller waiting
	return s.cache.chainHeads.load(ctx, id, s.now(), headsTTL, maxDecoded, func([]chusme.ParticipantHead) int { return 1 },
		func() ([]chusme.ParticipantHead, error) {
			heads := make([]chusme.ParticipantHead, len(c.Participants))
			for i, fp := range c.Participants {
				var err error
				if heads[i], _, err = s.chainHead(rctx, fp); err != nil {
					return nil, err
				}
			}
			return heads, nil
		})
}

// payloadBytes is the size of submissions' payloads and signatures.
func payloadBytes(subs []chusme.CeremonySubmission) int {
	n := 0
	for _, r := range subs {
		n += len(r.Payload) + len(r.Signature)
	}
	return n
}

// Cancel cancels an open ceremony; its creator or an administrator only.
func (s *Service) Cancel(ctx context.Context, caller, id string) (chusme.Ceremony, error) {
	admin, err := s.isAdmin(ctx, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	c, err := s.store.GetCeremony(ctx, id)
	if chusme.ErrorCode(err) == chusme.CodeNotFound || (err == nil && !admin && c.Creator != caller && !c.IsParticipant(caller)) {
		return chusme.Ceremony{}, errNotFound
	}
	if err != nil {
		return c, err
	}
	if !admin && c.Creator != caller {
		return c, chusme.Errorf(chusme.CodeForbidden, "only the ceremony's creator or an administrator may cancel it")
	}
	return s.update(ctx, id, func(st *chusme.CeremonyState) error {
		if st.Ceremony.Status != chusme.CeremonyOpen {
			return chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", st.Ceremony.Status)
		}
		return s.finish(&st.Ceremony, chusme.CeremonyCancelled, "cancelled", "cancelled by "+caller, nil)
	})
}

// Decline records participant caller's signed decline of ceremony id
// (sig: its current key over chusme.CeremonyDeclineMessage) and acts on it:
// a DKG fails at once; a signing ceremony goes on without the decliner
// (starting over when it was a signer of the signing package: startOver)
// and fails when fewer than its threshold of candidates are left. The same
// decline again is answered like the first.
func (s *Service) Decline(ctx context.Context, caller, id string, sig []byte) (chusme.Ceremony, error) {
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return c, err
	}
	if !c.IsParticipant(caller) {
		return chusme.Ceremony{}, errNotFound
	}
	ident, err := s.store.GetIdentity(ctx, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	if ident.Status != chusme.StatusActive {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeBanned, "the identity is banned")
	}
	var valid bool
	s.timed("decline_signature", func() error {
		valid = ident.DeviceSigner(chusme.CeremonyDeclineMessage(s.cfg.Issuer, id, caller), sig) != nil
		return nil
	})
	if !valid {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeInvalidSignature,
			"the decline's signature does not verify under %s's current key over CeremonyDeclineMessage(issuer, ceremony id, fingerprint)", caller)
	}
	return s.update(ctx, id, func(st *chusme.CeremonyState) error {
		cur := &st.Ceremony
		if cur.Declined(caller) {
			return chusme.ErrUnchanged
		}
		if cur.Status != chusme.CeremonyOpen {
			return chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", cur.Status)
		}
		cur.Declines = append(cur.Declines, chusme.CeremonyDecline{Fingerprint: caller, Round: cur.Round, Signature: slices.Clone(sig)})
		cur.UpdatedAt = s.now()
		var decliners []string
		for _, d := range cur.Declines {
			decliners = append(decliners, d.Fingerprint)
		}
		slices.Sort(decliners)
		switch {
		case cur.MakesShares() || cur.Kind == chusme.KindRepair:
			return s.finish(cur, chusme.CeremonyFailed, chusme.FailDeclined, caller+" declined the "+cur.Kind, []string{caller})
		case cur.CommitRound(cur.Round) && len(cur.Expected()) < cur.Threshold:
			return s.finish(cur, chusme.CeremonyFailed, chusme.FailDeclined, fmt.Sprintf(
				"%d candidate signer(s) declined: %d are left, fewer than the key's threshold of %d",
				len(decliners), len(cur.Expected()), cur.Threshold), decliners)
		case cur.CommitRound(cur.Round) && len(cur.Submitted) > 0 && cur.Needed() == 0:
			return s.completeRound(st, checked{})
		case cur.ShareRound(cur.Round) && slices.Contains(cur.Signers, caller):
			return s.startOver(cur, nil, chusme.FailDeclined, caller+" declined after the signing package was made from its commitment", []string{caller})
		}
		return nil
	})
}

// Expire fails an open ceremony whose deadline has passed, naming those who
// did not submit in its current round; a signing ceremony in its share
// round starts over without them instead while it can (startOver). It does
// nothing to any other ceremony.
func (s *Service) Expire(ctx context.Context, id string) (chusme.Ceremony, error) {
	return s.update(ctx, id, func(st *chusme.CeremonyState) error {
		c := &st.Ceremony
		if c.Status != chusme.CeremonyOpen || c.Deadline.After(s.now()) {
			return chusme.ErrUnchanged
		}
		missing := c.Missing()
		msg := fmt.Sprintf("round %d missed its deadline: %d participant(s) did not submit", c.Round, len(missing))
		if c.ShareRound(c.Round) {
			return s.startOver(c, missing, chusme.FailDeadline, msg, missing)
		}
		return s.finish(c, chusme.CeremonyFailed, chusme.FailDeadline, msg, missing)
	})
}

// startOver begins a signing ceremony's next attempt after signers of its
// signing package went silent (recorded in Excluded, and never chosen
// again) or declined, as ROAST
// does (Ruffing, Ronge, Jin, Schneider-Bensch and Schröder, "ROAST: Robust
// Asynchronous Schnorr Threshold Signatures", CCS 2022): a new commitment
// round, which the candidates left answer with fresh commitments, the
// first t of them making the next signing package. Unlike ROAST the
// coordinator asks for those commitments in a round of their own rather
// than with the shares, which costs a round trip only when an attempt
// fails. When the request asked for every signer, fewer than t candidates
// are left, or this was the last attempt (chusme.MaxSignAttempts), it
// fails the ceremony instead with reason and message, naming culprits.
func (s *Service) startOver(c *chusme.Ceremony, silent []string, reason, message string, culprits []string) error {
	next := *c
	next.Excluded = append(slices.Clone(c.Excluded), silent...)
	slices.Sort(next.Excluded)
	next.Round++
	c.Excluded = next.Excluded
	if c.AllSigners || c.Round/2 >= chusme.MaxSignAttempts || len(next.Expected()) < c.Threshold {
		return s.finish(c, chusme.CeremonyFailed, reason, message, culprits)
	}
	c.Signers, c.SigningPackage = []string{}, nil
	s.log.Info("signing ceremony starts over", "ceremony", c.ID, "round", c.Round+1, "without", culprits)
	return s.move(c, chusme.CeremonyOpen, c.Round+1)
}

// update runs UpdateCeremony and, when it wrote, wakes the ceremony's
// waiters and records metrics of the transition.
func (s *Service) update(ctx context.Context, id string, fn func(st *chusme.CeremonyState) error) (chusme.Ceremony, error) {
	var before chusme.Ceremony
	var round1, direct []chusme.CeremonySubmission
	c, err := s.store.UpdateCeremony(ctx, id, func(st *chusme.CeremonyState) error {
		before, round1, direct = st.Ceremony, nil, nil
		st.Broadcasts = once(st.Broadcasts)
		if err := fn(st); err != nil {
			return err
		}
		if before.MakesShares() && before.Round == 2 && len(st.Add) > 0 {
			direct = st.Add
		}
		if before.CommitRound(before.Round) && st.Ceremony.Round == before.Round+1 {
			stored, err := st.Broadcasts()
			if err != nil {
				return err
			}
			for _, r := range append(slices.Clone(stored), st.Add...) {
				if slices.Contains(st.Ceremony.Signers, r.Sender) {
					round1 = append(round1, r)
				}
			}
		}
		return nil
	})
	if err != nil || c.Version == before.Version {
		return c, err
	}
	if round1 != nil && c.Status == chusme.CeremonyOpen {
		slices.SortFunc(round1, func(a, b chusme.CeremonySubmission) int { return strings.Compare(a.Sender, b.Sender) })
		s.rememberRelayed(c.ID, round1)
	}
	// Before anyone is told: the round's last submission moves the
	// ceremony on, and the recipients then read their inboxes at once.
	if direct != nil && c.Status == chusme.CeremonyOpen {
		s.rememberDirect(c.ID, direct[0].Sender, direct)
	}
	s.rememberHead(c)
	s.notify.notify(id)
	s.notify.changed(c)
	if c.Round != before.Round || c.Status != before.Status {
		if c.Status != chusme.CeremonyCancelled && (c.Round != before.Round || c.Status == chusme.CeremonyCompleted) {
			s.ev.CeremonyRound(c.Kind, before.Round, c.UpdatedAt.Sub(before.RoundStarted))
		}
		if c.Status != chusme.CeremonyOpen {
			s.ev.CeremonyFinished(c.Kind, c.Status, c.FailureReason)
			s.ev.CeremonyOpenDelta(-1)
			s.log.Info("ceremony finished", "ceremony", c.ID, "kind", c.Kind, "status", c.Status,
				"reason", c.FailureReason, "culprits", c.Culprits)
		}
	}
	return c, nil
}

// once returns read, remembering its first answer: a transaction reads the
// round's broadcasts at most once.
func once(read func() ([]chusme.CeremonySubmission, error)) func() ([]chusme.CeremonySubmission, error) {
	var subs []chusme.CeremonySubmission
	var err error
	done := false
	return func() ([]chusme.CeremonySubmission, error) {
		if !done {
			subs, err = read()
			done = true
		}
		return subs, err
	}
}

// phase is a ceremony's place in its state machine.
type phase struct {
	status string
	round  int
}

// transitions lists, per kind, every legal move. Terminal phases keep the
// round in which the ceremony ended, and have no way out.
var transitions = func() map[string]map[phase][]phase {
	open := func(r int) phase { return phase{chusme.CeremonyOpen, r} }
	ends := func(r int, next ...phase) []phase {
		return append(next, phase{chusme.CeremonyFailed, r}, phase{chusme.CeremonyCancelled, r})
	}
	sign := map[phase][]phase{}
	for a := 1; a <= chusme.MaxSignAttempts; a++ {
		commit, share := 2*a-1, 2*a
		sign[open(commit)] = ends(commit, open(share))
		sign[open(share)] = ends(share, phase{chusme.CeremonyCompleted, share})
		if a < chusme.MaxSignAttempts {
			sign[open(share)] = append(sign[open(share)], open(share+1)) // start over
		}
	}
	dkg := map[phase][]phase{
		open(1): ends(1, open(2)),
		open(2): ends(2, open(3)),
		open(3): ends(3, phase{chusme.CeremonyCompleted, 3}),
	}
	repair := map[phase][]phase{
		open(1): ends(1, open(2)),
		open(2): ends(2, open(3)),
		open(3): ends(3, open(4)),
		open(4): ends(4, phase{chusme.CeremonyCompleted, 4}),
	}
	return map[string]map[phase][]phase{chusme.KindDKG: dkg, chusme.KindRefresh: dkg, chusme.KindReshare: dkg, chusme.KindRepair: repair,
		chusme.KindSign: sign}
}()

// move changes c's phase if the table allows it, resetting the round's
// bookkeeping; any other move is refused.
func (s *Service) move(c *chusme.Ceremony, status string, round int) error {
	from, to := phase{c.Status, c.Round}, phase{status, round}
	if !slices.Contains(transitions[c.Kind][from], to) {
		return fmt.Errorf("ceremony %s: illegal transition %s/%d → %s/%d", c.ID, from.status, from.round, to.status, to.round)
	}
	now := s.now()
	c.Status, c.Round, c.UpdatedAt = status, round, now
	if status == chusme.CeremonyOpen {
		timeout := c.RoundTimeout
		if timeout <= 0 {
			timeout = s.cfg.RoundTimeout
		}
		c.Submitted, c.RoundStarted, c.Deadline = []string{}, now, now.Add(timeout)
	}
	return nil
}

// finish ends c with a terminal status.
func (s *Service) finish(c *chusme.Ceremony, status, reason, message string, culprits []string) error {
	if err := s.move(c, status, c.Round); err != nil {
		return err
	}
	if status != chusme.CeremonyCompleted {
		c.FailureReason, c.FailureMessage = reason, message
		c.Culprits = append([]string{}, culprits...)
	}
	return nil
}

// timed runs f and records its duration as crypto operation op.
func (s *Service) timed(op string, f func() error) error {
	start := time.Now()
	err := f()
	s.ev.CryptoOp(op, time.Since(start))
	return err
}

// sameRows reports whether a sender's stored submissions, mine, equal rows.
func sameRows(mine, rows []chusme.CeremonySubmission) bool {
	if len(mine) != len(rows) {
		return false
	}
	byRecipient := make(map[string]*chusme.CeremonySubmission, len(mine))
	for i := range mine {
		byRecipient[mine[i].Recipient] = &mine[i]
	}
	for _, r := range rows {
		m := byRecipient[r.Recipient]
		if m == nil || m.Round != r.Round || !bytes.Equal(m.Payload, r.Payload) || !bytes.Equal(m.Signature, r.Signature) {
			return false
		}
	}
	return true
}

var (
	errConflict  = chusme.Errorf(chusme.CodeConflict, "a different package was already submitted for this round")
	errDeclined  = chusme.Errorf(chusme.CodeDeclined, "you declined this ceremony")
	errNotNeeded = chusme.Errorf(chusme.CodeNotNeeded, "the signing package was made from other signers' commitments: this signer is not needed")
)

// Submit records caller's package for a round of ceremony id (see the
// protocol in package chusme) and, when it completes the round, moves the
// ceremony on. The same submission again is answered like the first; a
// different one for the same slot is CodeConflict.
func (s *Service) Submit(ctx context.Context, caller, id string, round int, req chusme.SubmitRequest) (chusme.Ceremony, error) {
	// The ceremony's head as this node last wrote or read it saves a read
	// when it says the round is open; anything else reads the store.
	c, ok := s.openHead(id, caller, round)
	if !ok {
		var err error
		if c, err = s.Get(ctx, caller, id); err != nil {
			return c, err
		}
		s.rememberHead(c)
	}
	if !c.IsParticipant(caller) {
		return chusme.Ceremony{}, errNotFound
	}
	if round < 1 || round > c.Rounds() {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeNotFound, "a %s ceremony has rounds 1 to %d", c.Kind, c.Rounds())
	}
	if c.Declined(caller) {
		return chusme.Ceremony{}, errDeclined
	}
	rows, err := s.rows(c, caller, round, req)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	// A replay of an earlier round, or a submission to a closed ceremony:
	// compare with what is stored, which never changes.
	if round != c.Round || c.Status != chusme.CeremonyOpen {
		return s.replay(ctx, c, caller, round, rows)
	}
	id0, err := s.store.GetIdentity(ctx, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	if id0.Status != chusme.StatusActive {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeBanned, "the identity is banned")
	}
	// DKG round 2's point-to-point packages are checked by their
	// recipients, which complain (Complain) about one that fails: checking
	// the n-1 signatures of every sender here would make a DKG's cost grow
	// with n² (their shape, and that the caller sent them, rows checked).
	// The device key that signed a broadcast is the one tried first for
	// the statements in it (a group key's confirmation and endorsement).
	signer := chusme.Bytes(id0.PublicKey)
	if !c.Direct(round) {
		if err := s.timed("package_signature", func() error {
			for _, r := range rows {
				if signer = id0.DeviceSigner(chusme.CeremonyPackageMessage(c.ID, round, caller, r.Recipient, r.Payload), r.Signature); signer == nil {
					return badPackage("the package signature for recipient %q does not verify under a current device key of the sender", r.Recipient)
				}
			}
			return nil
		}); err != nil {
			return chusme.Ceremony{}, err
		}
	}
	chk, err := s.check(ctx, c, caller, signer, round, rows)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	var refused error
	out, err := s.update(ctx, id, func(st *chusme.CeremonyState) error {
		refused = nil
		cur := &st.Ceremony
		if cur.Status != chusme.CeremonyOpen || cur.Round != round {
			return errMoved
		}
		if _, done := slices.BinarySearch(cur.Submitted, caller); done {
			mine, err := st.Sent(caller)
			if err != nil {
				return err
			}
			if sameRows(mine, rows) {
				return chusme.ErrUnchanged
			}
			return errConflict
		}
		if cur.Declined(caller) {
			return errDeclined
		}
		if !slices.Contains(cur.Expected(), caller) {
			return errNotNeeded
		}
		if chk.cheater != nil {
			refused = chk.cheater
			if cur.Kind == chusme.KindReshare || cur.Kind == chusme.KindRepair {
				return s.finish(cur, chusme.CeremonyFailed, chusme.FailInvalidCommitment,
					"the "+cur.Kind+" commitment of "+caller+" does not verify against its share of the key", []string{caller})
			}
			return s.finish(cur, chusme.CeremonyFailed, chusme.FailProofOfKnowledge,
				"the DKG round-1 proof of knowledge of "+caller+" does not verify", []string{caller})
		}
		st.Add = rows
		i, _ := slices.BinarySearch(cur.Submitted, caller)
		cur.Submitted = slices.Insert(cur.Submitted, i, caller)
		cur.UpdatedAt = s.now()
		if chk.commitment != nil {
			st.Commitments = [][]byte{chk.commitment}
		}
		if cur.Needed() > 0 {
			return nil
		}
		return s.completeRound(st, chk)
	})
	if errors.Is(err, errMoved) {
		// The round moved on or the ceremony ended meanwhile.
		c, gerr := s.Get(ctx, caller, id)
		if gerr != nil {
			return c, gerr
		}
		return s.replay(ctx, c, caller, round, rows)
	}
	if err != nil {
		return out, err
	}
	return out, refused
}

var errMoved = errors.New("ceremony moved on")

// replay answers a submission for a round other than the open one: the same
// package as stored gets the current state, another one a conflict.
func (s *Service) replay(ctx context.Context, c chusme.Ceremony, caller string, round int, rows []chusme.CeremonySubmission) (chusme.Ceremony, error) {
	mine, err := s.store.ListSent(ctx, c.ID, round, caller)
	if err != nil {
		return c, err
	}
	has := len(mine) > 0
	switch {
	case has && sameRows(mine, rows):
		return c, nil
	case has:
		return c, errConflict
	case c.CommitRound(round) && c.Round == round+1 && !slices.Contains(c.Signers, caller):
		return c, errNotNeeded
	case c.Status != chusme.CeremonyOpen:
		return c, chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", c.Status)
	default:
		return c, chusme.Errorf(chusme.CodeWrongRound, "the ceremony is in round %d, not %d", c.Round, round)
	}
}

// rows checks a submission's shape for the ceremony's kind and round and
// turns it into the rows to store.
func (s *Service) rows(c chusme.Ceremony, caller string, round int, req chusme.SubmitRequest) ([]chusme.CeremonySubmission, error) {
	now := s.now()
	checkOne := func(payload, sig []byte) error {
		if len(payload) == 0 || len(payload) > chusme.MaxCeremonyPayload {
			return invalid("a payload must have 1 to %d bytes", chusme.MaxCeremonyPayload)
		}
		if len(sig) != ed25519.SignatureSize {
			return invalid("a signature must have %d bytes", ed25519.SignatureSize)
		}
		return nil
	}
	if c.Direct(round) {
		if req.Payload != nil || req.Signature != nil {
			return nil, invalid("%s round %d takes packages, not a broadcast payload", c.Kind, round)
		}
		to := c.Recipients(round, caller)
		if len(req.Packages) != len(to) {
			return nil, invalid("%s round %d needs one package for each of its %d recipients", c.Kind, round, len(to))
		}
		rows := make([]chusme.CeremonySubmission, 0, len(req.Packages))
		seen := make(map[string]bool, len(req.Packages))
		for _, p := range req.Packages {
			if _, ok := slices.BinarySearch(to, p.Recipient); !ok {
				return nil, invalid("recipient %q is not one of this round's", p.Recipient)
			}
			if seen[p.Recipient] {
				return nil, invalid("two packages for recipient %s", p.Recipient)
			}
			seen[p.Recipient] = true
			if err := checkOne(p.Payload, p.Signature); err != nil {
				return nil, err
			}
			rows = append(rows, chusme.CeremonySubmission{CeremonyID: c.ID, Round: round, Sender: caller,
				Recipient: p.Recipient, Payload: p.Payload, Signature: p.Signature, CreatedAt: now})
		}
		return rows, nil
	}
	if req.Packages != nil {
		return nil, invalid("%s round %d takes a broadcast payload, not packages", c.Kind, round)
	}
	if err := checkOne(req.Payload, req.Signature); err != nil {
		return nil, err
	}
	return []chusme.CeremonySubmission{{CeremonyID: c.ID, Round: round, Sender: caller,
		Payload: req.Payload, Signature: req.Signature, CreatedAt: now}}, nil
}

// checked is what the content checks of a submission found.
type checked struct {
	cheater    error      // a protocol violation that fails the ceremony
	commitment []byte     // sign round 1: the commitment digest
	key        *cachedKey // sign: the group key (shared: read only)
	// dkg round 3: every holder's current head, in the ceremony's order,
	// as the sender's confirmation names them (a reshare dealer's that
	// holds none: as the server has them), with its first device key, and
	// every holder's device keys current at that head, by fingerprint.
	confirmed []chusme.GroupKeyConfirmation
	devices   map[string][]chusme.Bytes
	// refresh and reshare round 3: the key's current generation.
	keyGeneration int
}

// check decodes and verifies a submission's content: malformed packages are
// refused; a bad proof of knowledge is reported to fail the ceremony.
// callerKey is the device key of the caller tried first for the statements
// its submission signs (the one that signed its broadcast).
func (s *Service) check(ctx context.Context, c chusme.Ceremony, caller string, callerKey []byte, round int, rows []chusme.CeremonySubmission) (checked, error) {
	var out checked
	payload := rows[0].Payload
	switch {
	case c.Kind == chusme.KindDKG && round == 1:
		// The proof needs the first commitment point only: the other t-1
		// are left to the recipients, who decode them all and complain
		// about a package that does not decode (complaint.go).
		hpkeKey, pkgBytes, ok := chusme.SplitDKGRound1Payload(payload)
		if !ok || bytes.Equal(hpkeKey, make([]byte, chusme.HPKEPublicKeySize)) {
			return out, badPackage("malformed dkg round-1 payload")
		}
		ident, err := identifier(caller)
		if err != nil {
			return out, err
		}
		err = s.timed("verify_proof_of_knowledge", func() error { return frost.VerifyDKGRound1Proof(ident, pkgBytes, c.Threshold) })
		var ce *frost.CheaterError
		if err != nil && !errors.As(err, &ce) && !errors.Is(err, frost.ErrInvalidIdentifier) {
			return out, badPackage("malformed dkg round-1 payload")
		}
		if errors.As(err, &ce) {
			out.cheater = badPackage("the proof of knowledge does not verify (or the commitment has the wrong length); the ceremony failed")
		} else if err != nil {
			return out, err
		}
	case c.Kind == chusme.KindRefresh && round == 1:
		if err := checkRefreshRound1(payload, c.Threshold); err != nil {
			return out, err
		}
	case c.Kind == chusme.KindRepair && round == 1:
		var err error
		if out.cheater, err = s.checkRepairRound1(ctx, c, caller, payload); err != nil {
			return out, err
		}
	case c.Kind == chusme.KindRepair && round == chusme.RepairRounds:
		if len(payload) != 32 {
			return out, badPackage("a repair's round-%d payload is the repaired verifying share (32 bytes)", round)
		}
		var err error
		if out.key, err = s.groupKey(ctx, c.KeyID, c.KeyGeneration); err != nil {
			return out, err
		}
	case c.Kind == chusme.KindReshare && round == 1:
		var err error
		if out.cheater, err = s.checkReshareRound1(ctx, c, caller, payload); err != nil {
			return out, err
		}
	case c.MakesShares() && round == 3:
		confirmation, err := s.checkEndorsement(ctx, c, caller, payload)
		if err != nil {
			return out, err
		}
		if confirmation == nil {
			out.confirmed, out.devices, err = s.currentHeads(ctx, c.Holders())
		} else {
			out.confirmed, out.devices, err = s.checkConfirmation(ctx, c, caller, callerKey, confirmation)
		}
		if err != nil {
			return out, err
		}
		if c.KeyID != "" {
			key, err := s.store.GetGroupKey(ctx, c.KeyID)
			if err != nil {
				return out, err
			}
			out.keyGeneration = key.Generation
		}
	case c.Kind == chusme.KindSign:
		k, err := s.groupKey(ctx, c.KeyID, c.KeyGeneration)
		if err != nil {
			return out, err
		}
		out.key = k
		if c.CommitRound(round) {
			com, err := s.commitments(payload)
			if err != nil {
				return out, badPackage("malformed signing commitments")
			}
			out.commitment = chusme.CommitmentDigest(com.Hiding(), com.Binding())
		} else {
			var share frost.SignatureShare
			if share.UnmarshalBinary(payload) != nil {
				return out, badPackage("malformed signature share")
			}
		}
	}
	return out, nil
}

// checkConfirmation checks a DKG confirmation from caller (callerKey: its
// device key tried first): its layout, one head per participant in the
// ceremony's order, each the identity's current chain head, the
// certificate signature over what it confirms under one of the caller's
// device keys current at its head and the share signature under the
// caller's verifying share. It returns the heads with each identity's
// first device key, and every holder's device keys current at its head. A
// confirmation whose agreed part this node checked before for the
// ceremony (they must all be equal) is checked for its signatures only:
// its heads are then those current at that first check.
func (s *Service) checkConfirmation(ctx context.Context, c chusme.Ceremony, caller string, callerKey, payload []byte) ([]chusme.GroupKeyConfirmation, map[string][]chusme.Bytes, error) {
	// The other n-1 confirmations repeat the first one's agreed part: for
	// them only the signatures are new (unless the caller's keys changed
	// since, when the whole check runs again and refuses a head no longer
	// current), and the payload, the signatures and an agreed part parsed
	// before, is not parsed again (its n heads).
	agreed := append([]byte(c.ID), chusme.DKGConfirmAgreed(payload)...)
	if cc := s.cache.confirmations.get(agreed); cc != nil && slices.ContainsFunc(cc.devices[caller], func(k chusme.Bytes) bool { return bytes.Equal(k, callerKey) }) {
		return cc.confirmed, cc.devices, s.checkConfirmSignatures(caller, callerKey, cc.devices[caller], cc.shares[caller], cc.statement,
			payload[:64], payload[64:chusme.DKGConfirmSignaturesSize])
	}
	conf, ok := chusme.ParseDKGConfirmPayload(payload)
	if !ok {
		return nil, nil, badPackage("malformed dkg confirmation from %s", caller)
	}
	var pub frost.PublicKeyPackage
	holders := c.Holders()
	if pub.UnmarshalBinary(conf.PublicKeyPackage) != nil || len(conf.Heads) != len(holders) {
		return nil, nil, badPackage("malformed dkg confirmation from %s", caller)
	}
	shares := make(map[string][]byte, len(holders))
	out := make([]chusme.GroupKeyConfirmation, len(holders))
	devices := make(map[string][]chusme.Bytes, len(holders))
	for i, fp := range holders {
		h := conf.Heads[i]
		if h.Fingerprint != fp {
			return nil, nil, badPackage("the dkg confirmation from %s names head %d for %s, not for participant %s", caller, i, h.Fingerprint, fp)
		}
		cur, keys, err := s.chainHead(ctx, fp)
		if err != nil {
			return nil, nil, err
		}
		if cur.Seq != h.Seq || !bytes.Equal(cur.Hash, h.Hash) {
			return nil, nil, badPackage("the dkg confirmation from %s names head %d of %s, whose current head is %d", caller, h.Seq, fp, cur.Seq)
		}
		id, err := identifier(fp)
		if err != nil {
			return nil, nil, err
		}
		vs, ok := pub.VerifyingShare(id)
		if !ok {
			return nil, nil, badPackage("the dkg confirmation from %s has no verifying share for %s", caller, fp)
		}
		shares[fp] = vs.Bytes()
		out[i] = chusme.GroupKeyConfirmation{Fingerprint: fp, HeadSeq: h.Seq, HeadHash: h.Hash, PublicKey: keys[0]}
		devices[fp] = keys
	}
	msg := chusme.GroupKeyConfirmMessage(s.cfg.Issuer, c.ID, pub.VerifyingKey().Bytes(),
		chusme.VerifyingSharesHash(holders, shares), conf.Transcript, c.Threshold, conf.Heads)
	if err := s.checkConfirmSignatures(caller, callerKey, devices[caller], shares[caller], msg, conf.Signature, conf.ShareSignature); err != nil {
		return nil, nil, err
	}
	s.cache.confirmations.put(agreed, &checkedConfirmation{statement: msg, confirmed: out, devices: devices, shares: shares})
	return out, devices, nil
}

// signedBy returns the key of keys whose Ed25519 signature over msg sig
// is, trying hint first (one verification when it signed), nil if none.
func signedBy(keys []chusme.Bytes, hint, msg, sig []byte) chusme.Bytes {
	if len(sig) != ed25519.SignatureSize {
		return nil
	}
	i := slices.IndexFunc(keys, func(k chusme.Bytes) bool { return bytes.Equal(k, hint) })
	if i >= 0 && ed25519.Verify(ed25519.PublicKey(hint), msg, sig) {
		return keys[i]
	}
	for j, k := range keys {
		if j != i && len(k) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k), msg, sig) {
			return k
		}
	}
	return nil
}

// checkConfirmSignatures checks the two signatures of caller's group key
// confirmation: sig over statement under one of devices, the caller's
// device keys current at the head it confirms (callerKey tried first), and
// shareSig over the caller's SharePossessionMessage of it under its
// verifying share, share.
func (s *Service) checkConfirmSignatures(caller string, callerKey []byte, devices []chusme.Bytes, share, statement, sig, shareSig []byte) error {
	var valid bool
	s.timed("confirmation_signature", func() error { valid = signedBy(devices, callerKey, statement, sig) != nil; return nil })
	if !valid {
		return badPackage("the group key confirmation signature of %s does not verify under a device key current at the head it confirms", caller)
	}
	s.timed("share_signature", func() error {
		valid = len(share) == ed25519.PublicKeySize && ed25519.Verify(share, chusme.SharePossessionMessage(statement, caller), shareSig)
		return nil
	})
	if !valid {
		return badPackage("the share signature of %s does not verify under its verifying share", caller)
	}
	return nil
}

// chainHead returns identity fp's current chain head and device keys, the
// first device key first.
func (s *Service) chainHead(ctx context.Context, fp string) (chusme.ParticipantHead, []chusme.Bytes, error) {
	id, err := s.store.GetIdentity(ctx, fp)
	if err != nil {
		return chusme.ParticipantHead{}, nil, err
	}
	entries, err := s.store.ListChain(ctx, fp)
	if err != nil {
		return chusme.ParticipantHead{}, nil, err
	}
	last := chusme.GenesisEntry(id)
	if len(entries) > 0 {
		last = entries[len(entries)-1]
	}
	return chusme.ParticipantHead{Fingerprint: fp, ChainHead: chusme.ChainHead{Seq: last.Seq, Hash: last.Hash}}, id.Devices(), nil
}

// completeRound moves the ceremony on once every participant has submitted
// in its current round (the stored submissions plus st.Add); chk is what
// the checks of the last submission found. It reads the round's broadcasts,
// once per round; DKG round 2's packages it does not read at all.
func (s *Service) completeRound(st *chusme.CeremonyState, chk checked) error {
	c := &st.Ceremony
	bySender := map[string][]byte{}
	if !c.Direct(c.Round) {
		stored, err := st.Broadcasts()
		if err != nil {
			return err
		}
		for _, r := range append(slices.Clone(stored), st.Add...) {
			if r.Recipient == "" {
				bySender[r.Sender] = r.Payload
			}
		}
	}
	switch {
	case c.MakesShares() && c.Round == 1:
		c.Transcript = chusme.DKGTranscriptHash(c.ID, c.Participants, bySender)
		return s.move(c, chusme.CeremonyOpen, 2)
	case c.MakesShares() && c.Round == 2:
		return s.move(c, chusme.CeremonyOpen, 3)
	case c.MakesShares() && c.Round == 3:
		return s.completeDKG(st, bySender, chk)
	case c.Kind == chusme.KindRepair && c.Round == 1:
		c.Transcript = chusme.DKGTranscriptHash(c.ID, c.Participants, bySender)
		return s.move(c, chusme.CeremonyOpen, 2)
	case c.Kind == chusme.KindRepair && c.Round < chusme.RepairRounds:
		return s.move(c, chusme.CeremonyOpen, c.Round+1)
	case c.Kind == chusme.KindRepair:
		return s.completeRepair(c, bySender[c.NewParticipants[0]], chk.key)
	case c.CommitRound(c.Round):
		// The signers: those who committed and have not declined since.
		expected := c.Expected()
		c.Signers = slices.DeleteFunc(slices.Clone(c.Submitted), func(fp string) bool { return !slices.Contains(expected, fp) })
		coms := make(map[frost.Identifier]*frost.SigningCommitments, len(c.Signers))
		for _, fp := range c.Signers {
			p := bySender[fp]
			id, err := identifier(fp)
			if err != nil {
				return err
			}
			com, err := s.commitments(p)
			if err != nil {
				return err
			}
			coms[id] = com
		}
		var pkg *frost.SigningPackage
		err := s.timed("signing_package", func() error {
			var err error
			pkg, err = frost.NewSigningPackage(coms, c.Message)
			return err
		})
		if err != nil {
			return err
		}
		if c.SigningPackage, err = pkg.MarshalBinary(); err != nil {
			return err
		}
		s.cache.signingPkgs.put(c.SigningPackage, pkg)
		return s.move(c, chusme.CeremonyOpen, c.Round+1)
	case c.ShareRound(c.Round):
		return s.completeSign(c, bySender, chk.key)
	}
	return fmt.Errorf("ceremony %s: no round %d in a %s ceremony", c.ID, c.Round, c.Kind)
}

// completeDKG completes a DKG whose confirmations all agree with each other
// and with the server's transcript, storing the group key with its
// certificate (the heads of the last confirmation's check, chk, every
// confirmation's signatures and the device key that made each);
// otherwise it fails it naming those who disagree with the majority. A
// refresh stores the key's next generation, if the key is still at the one
// it replaces (chk's, read before the transaction; the store refuses a
// move that lost a race).
func (s *Service) completeDKG(st *chusme.CeremonyState, round3 map[string][]byte, chk checked) error {
	c := &st.Ceremony
	confirmed, current := chk.confirmed, chk.keyGeneration
	confirms, endorsements := splitRound3(c, round3)
	count := map[string]int{}
	best := ""
	for _, p := range confirms {
		agreed := string(chusme.DKGConfirmAgreed(p))
		count[agreed]++
		if count[agreed] > count[best] {
			best = agreed
		}
	}
	conf, _ := chusme.ParseDKGConfirmPayload(append(make([]byte, chusme.DKGConfirmSignaturesSize), best...))
	holders := c.Holders()
	agreed := len(count) == 1 && bytes.Equal(conf.Transcript, c.Transcript) && len(confirmed) == len(holders) && sameHeads(conf.Heads, confirmed)
	var pub frost.PublicKeyPackage
	if agreed && pub.UnmarshalBinary(conf.PublicKeyPackage) == nil && pub.MinSigners() == c.Threshold && pub.MaxSigners() == len(holders) {
		key := &chusme.GroupKey{
			PublicKey: pub.VerifyingKey().Bytes(), Threshold: c.Threshold, Participants: slices.Clone(holders),
			VerifyingShares: map[string][]byte{}, PublicKeyPackage: conf.PublicKeyPackage, CeremonyID: c.ID, CreatedAt: s.now(),
			Issuer: s.cfg.Issuer, Transcript: c.Transcript, Confirmations: make([]chusme.GroupKeyConfirmation, len(confirmed)),
			Kind: c.Kind, Endorsements: endorsements,
		}
		for i, k := range confirmed {
			sender, _ := chusme.ParseDKGConfirmPayload(confirms[k.Fingerprint])
			k.Signature, k.ShareSignature = sender.Signature, sender.ShareSignature
			key.Confirmations[i] = k
		}
		key.ID = chusme.GroupKeyID(key.PublicKey)
		if c.KeyID != "" {
			if key.ID != c.KeyID {
				return s.finish(c, chusme.CeremonyFailed, chusme.FailDisagreement,
					"the holders confirmed a "+c.Kind+"ed key that is not the group key", append([]string{}, holders...))
			}
			key.Generation = c.KeyGeneration + 1
			if current != c.KeyGeneration {
				return s.finish(c, chusme.CeremonyFailed, chusme.FailKeyChanged, fmt.Sprintf(
					"the key moved from generation %d to %d while this %s ran: start a new one", c.KeyGeneration, current, c.Kind), nil)
			}
		}
		for _, fp := range holders {
			id, err := identifier(fp)
			if err != nil {
				return err
			}
			vs, ok := pub.VerifyingShare(id)
			if !ok {
				agreed = false
				break
			}
			key.VerifyingShares[fp] = vs.Bytes()
		}
		if agreed {
			if err := s.confirmers(key, conf.Heads, chk.devices); err != nil {
				return err
			}
			st.Key = key
			c.ResultKeyID, c.PublicKey = key.ID, key.PublicKey
			return s.finish(c, chusme.CeremonyCompleted, "", "", nil)
		}
	}
	var culprits []string
	for _, fp := range holders {
		p, _ := chusme.ParseDKGConfirmPayload(confirms[fp])
		if string(chusme.DKGConfirmAgreed(confirms[fp])) != best || !bytes.Equal(p.Transcript, c.Transcript) {
			culprits = append(culprits, fp)
		}
	}
	return s.finish(c, chusme.CeremonyFailed, chusme.FailDisagreement,
		"the participants' confirmations (group key and round-1 transcript) do not all agree", culprits)
}

// confirmers sets the PublicKey of each of key's confirmations to the
// device key of its identity that made it, of devices, those current at
// the heads confirmed (each confirmation was checked under one of them):
// the first device key, unless the identity has several.
func (s *Service) confirmers(key *chusme.GroupKey, heads []chusme.ParticipantHead, devices map[string][]chusme.Bytes) error {
	var statement []byte
	for i := range key.Confirmations {
		cf := &key.Confirmations[i]
		keys := devices[cf.Fingerprint]
		if len(keys) == 1 {
			cf.PublicKey = keys[0]
			continue
		}
		if statement == nil {
			statement = chusme.GroupKeyConfirmMessage(s.cfg.Issuer, key.CeremonyID, key.PublicKey,
				chusme.VerifyingSharesHash(key.Participants, key.VerifyingShares), key.Transcript, key.Threshold, heads)
		}
		if cf.PublicKey = signedBy(keys, cf.PublicKey, statement, cf.Signature); cf.PublicKey == nil {
			return fmt.Errorf("ceremony %s: the confirmation of %s verifies under none of its device keys", key.CeremonyID, cf.Fingerprint)
		}
	}
	return nil
}

// completeSign verifies every share, aggregates, verifies the signature with
// crypto/ed25519 and stores it; a bad share fails the ceremony naming its
// signer.
func (s *Service) completeSign(c *chusme.Ceremony, shares map[string][]byte, ck *cachedKey) error {
	if ck == nil {
		return fmt.Errorf("ceremony %s: no group key", c.ID)
	}
	key, pub := &ck.key, ck.pub
	if pub == nil {
		pub = new(frost.PublicKeyPackage)
		if err := pub.UnmarshalBinary(key.PublicKeyPackage); err != nil {
			return err
		}
	}
	pkg, err := s.signingPackage(c.SigningPackage)
	if err != nil {
		return err
	}
	byID := map[frost.Identifier]string{}
	zs := make(map[frost.Identifier]*frost.SignatureShare, len(shares))
	for fp, p := range shares {
		id, err := identifier(fp)
		if err != nil {
			return err
		}
		z := new(frost.SignatureShare)
		if err := z.UnmarshalBinary(p); err != nil {
			return err
		}
		byID[id], zs[id] = fp, z
	}
	var sig []byte
	err = s.timed("aggregate", func() error {
		var err error
		sig, err = frost.Aggregate(pkg, zs, pub, frost.VerifyShares)
		return err
	})
	var ce *frost.CheaterError
	if errors.As(err, &ce) {
		var culprits []string
		for _, id := range ce.Identifiers {
			culprits = append(culprits, byID[id])
		}
		slices.Sort(culprits)
		return s.finish(c, chusme.CeremonyFailed, chusme.FailSignatureShare,
			fmt.Sprintf("%d signature share(s) do not verify against the signers' verifying shares", len(culprits)), culprits)
	}
	if err != nil {
		return err
	}
	var ok bool
	s.timed("ed25519_verify", func() error { ok = ed25519.Verify(key.PublicKey, c.Message, sig); return nil })
	if !ok {
		return s.finish(c, chusme.CeremonyFailed, chusme.FailInvalidSignature, "the aggregated signature does not verify", nil)
	}
	c.Signature, c.PublicKey = sig, key.PublicKey
	return s.finish(c, chusme.CeremonyCompleted, "", "", nil)
}
