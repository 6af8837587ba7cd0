package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/frost"
)

// Errors of the participant drivers.
var (
	// ErrTampered means a relayed package fails its sender's identity-key
	// signature, or differs from what the participant itself sent: the
	// server, or something between it and the client, altered or swapped
	// it. The driver aborts without using it.
	ErrTampered = errors.New("client: a relayed ceremony package is not what its sender signed (altered or swapped by the server or a proxy)")
	// ErrInconsistent means the server's view of a ceremony contradicts what
	// the participant knows (another message, a signing package without
	// this signer's commitment, a group key it did not compute, …).
	ErrInconsistent = errors.New("client: the server's ceremony state is inconsistent with this participant's")
	// ErrForgedRequest means the ceremony's request is not one its creator
	// signed: the signature fails under the creator's verified key, the
	// ceremony differs from what was signed, or the request is missing or
	// past its deadline. The server (or a proxy) made it up or altered it;
	// the driver sends nothing.
	ErrForgedRequest = errors.New("client: the ceremony is not what its creator requested (made up or altered by the server or a proxy)")
	// ErrNotApproved means the approval callback declined to sign.
	ErrNotApproved = errors.New("client: signing not approved")
	// ErrCannotJoin means the ceremony is past the point where this
	// participant could still take part, and the driver found no round
	// state to resume from (WithRoundState): its secrets lived only in the
	// driver that started it.
	ErrCannotJoin = errors.New("client: the ceremony is past its first round for this participant")
)

// RunOption configures a run of RunDKG or RunSign.
type RunOption func(*runConfig)

type runConfig struct {
	state *roundstate.Store
	keep  func(*DKGResult) error
	// tamper, set by tests only (export_test.go), changes each secret
	// before it is signed and sealed: a cheating participant.
	tamper func(round int, recipient string, secret []byte)
}

// WithRoundState makes the driver seal its round state in store at every
// step, before it sends the step's package, and resume from the state store
// holds for the ceremony, if any: an interrupted participant (Ctrl-C, a
// crash, a lost network) then takes part again from where it stopped. The
// state is removed when the ceremony ends (completed, failed or cancelled).
// Without it, a participant past round 1 gets ErrCannotJoin.
func WithRoundState(store *roundstate.Store) RunOption {
	return func(c *runConfig) { c.state = store }
}

// WithKeyPackageSaver makes RunDKG give its result to save (which stores
// the key package, e.g. with package sharefile) before it removes the
// round state, so that a crash before the share is stored leaves the state
// to compute it again from. If save fails, RunDKG keeps the state, zeroes
// the key package and returns the error.
func WithKeyPackageSaver(save func(*DKGResult) error) RunOption {
	return func(c *runConfig) { c.keep = save }
}

// HPKE suite of the sealed DKG round-2 packages: DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-256-GCM.
var (
	hpkeKEM  = hpke.DHKEM(ecdh.X25519())
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.AES256GCM()
)

// Progress receives every new state of a ceremony a driver runs.
type Progress func(chusme.CeremonyInfo)

// DKGResult is what a completed DKG leaves this participant: its key
// package (secret: store it with package sharefile, then Zero it) and the
// group's public key package.
type DKGResult struct {
	KeyID            string
	KeyPackage       *frost.KeyPackage
	PublicKeyPackage *frost.PublicKeyPackage
	Ceremony         chusme.CeremonyInfo
}

// participant holds what a driver needs about itself and its peers.
type participant struct {
	c    *Client
	key  crypto.Signer
	me   string
	info chusme.CeremonyInfo

	mu        sync.Mutex
	pubs      map[string]verifiedChain     // fingerprint → the verified chain this driver uses
	refetched map[string]bool              // the identities whose chain this driver fetched again
	signers   map[string]ed25519.PublicKey // fingerprint → the device key that signed its last statement
	sent      map[int]chusme.SubmitRequest // round → the broadcast this driver sent

	keep    func(*DKGResult) error                           // WithKeyPackageSaver's, or nil
	tamper  func(round int, recipient string, secret []byte) // runConfig's
	store   *roundstate.Store                                // where the round state is sealed, or nil
	sealed  *roundstate.Ceremony                             // the ceremony's state file, once opened or created
	st      *roundstate.State                                // the round state: resumed, or new (Round 0)
	resumed bool                                             // st came from a state file
	oldKey  *chusme.GroupKeyInfo                             // the generation a key change replaces, once ceremonyKey verified it
}

// participant checks that this identity takes part in ceremony id of kind,
// opens its round state if it has some, and checks the ceremony's request.
// Past round 1 it needs round state; with round state it accepts a
// completed ceremony too (the driver still has to get its result).
func (c *Client) participant(ctx context.Context, id string, key crypto.Signer, kind string, opts []RunOption) (*participant, error) {
	var cfg runConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	me, err := c.identityOf(ctx, key)
	if err != nil {
		return nil, err
	}
	p := &participant{c: c, key: key, me: me, pubs: map[string]verifiedChain{}, refetched: map[string]bool{}, signers: map[string]ed25519.PublicKey{}, sent: map[int]chusme.SubmitRequest{},
		keep: cfg.keep, store: cfg.state, tamper: cfg.tamper, st: &roundstate.State{Kind: kind}}
	info, err := c.ceremonyNow(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.Kind != kind {
		return nil, fmt.Errorf("client: ceremony %s is a %s ceremony, not %s", id, info.Kind, kind)
	}
	if !slices.Contains(info.Participants, p.me) {
		return nil, fmt.Errorf("client: %s is not a participant of ceremony %s", p.me, id)
	}
	if p.store != nil {
		sealed, st, err := p.store.Open(id)
		switch {
		case err == nil:
			if st.Kind != kind || st.Round < 1 {
				st.Zero()
				return nil, fmt.Errorf("%w: %s holds round %d of a %s ceremony", roundstate.ErrFormat, sealed.Path(), st.Round, st.Kind)
			}
			p.sealed, p.st, p.resumed = sealed, st, true
		case !errors.Is(err, roundstate.ErrNotFound):
			return nil, err
		}
	}
	if info.Status != chusme.CeremonyOpen && !(p.resumed && info.Status == chusme.CeremonyCompleted) {
		p.st.Zero()
		return nil, p.ended(&CeremonyError{Info: info})
	}
	// Without round state: a DKG's first round, or a signing ceremony's
	// commitment round (the first, or that of an attempt after a silent
	// signer), before this participant submitted; or a signing ceremony's
	// share round without this signer, which stands by.
	joinable := info.Round == 1 && !slices.Contains(info.Submitted, p.me)
	if kind == chusme.KindSign {
		joinable = (info.Round%2 == 1 && !slices.Contains(info.Submitted, p.me)) || (info.Round%2 == 0 && !slices.Contains(info.Signers, p.me))
	}
	if !p.resumed && !joinable {
		where := "the driver keeps none (WithRoundState)"
		if p.store != nil {
			where = "none is at " + p.store.Path(id)
		}
		return nil, fmt.Errorf("%w: no round state was found (%s)", ErrCannotJoin, where)
	}
	p.info = info
	if err := p.trustParticipants(ctx); err != nil {
		p.st.Zero()
		return nil, err
	}
	if err := p.checkRequest(ctx); err != nil {
		p.st.Zero()
		return nil, err
	}
	return p, nil
}

// checkRequest checks the ceremony's request (ErrForgedRequest, naming
// what failed, otherwise): its signature under the creator's key from the
// creator's verified, pinned chain, over this client's issuer and the
// request's fields; that those fields are the ceremony's (kind, threshold,
// participants, key id, message SHA-256, the generation a refresh or
// reshare replaces, a reshare's new participants); and, unless the driver resumes
// what it started before, that its deadline has not passed.
func (p *participant) checkRequest(ctx context.Context) error {
	info, r := p.info, p.info.Request
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: ceremony %s: %s", ErrForgedRequest, info.ID, fmt.Sprintf(format, args...))
	}
	if r == nil {
		return bad("it carries no signed request")
	}
	ok, err := p.signedBy(ctx, info.Creator, r.Message(p.c.issuer), r.Signature)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return bad("the requester signature of %s does not verify under its verified key", info.Creator)
	case r.Kind != info.Kind:
		return bad("the request's kind is %s, the ceremony's %s", r.Kind, info.Kind)
	case r.Threshold != info.Threshold:
		return bad("the request's threshold is %d, the ceremony's %d", r.Threshold, info.Threshold)
	case !slices.Equal(r.Participants, info.Participants):
		return bad("the request's participants %v are not the ceremony's %v", r.Participants, info.Participants)
	case r.KeyID != info.KeyID:
		return bad("the request's key id %q is not the ceremony's %q", r.KeyID, info.KeyID)
	case !bytes.Equal(r.MessageSHA256, chusme.CeremonyMessageSHA256(info.Kind, info.Message)):
		return bad("the request's message hash is not the SHA-256 of the ceremony's message")
	case (info.Kind == chusme.KindRefresh || info.Kind == chusme.KindReshare || info.Kind == chusme.KindRepair) && r.Generation != info.KeyGeneration:
		return bad("the request replaces generation %d of the key, the ceremony %d", r.Generation, info.KeyGeneration)
	case !slices.Equal(r.NewParticipants, info.NewParticipants):
		return bad("the request's new participants %v are not the ceremony's %v", r.NewParticipants, info.NewParticipants)
	case !p.resumed && !time.Now().Before(time.Unix(r.Deadline, 0)):
		return bad("the request's deadline %s has passed", time.Unix(r.Deadline, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// trustParticipants gets every participant's key from its verified, pinned
// chain (the fetches run in parallel, maxChainFetches at a time) before the
// driver signs anything, and checks that the driver's own key is its
// identity's current key.
func (p *participant) trustParticipants(ctx context.Context) error {
	parts := p.info.Participants
	var listed map[string]chusme.ChainHead
	if p.c.overRealtime() == nil && slices.ContainsFunc(parts, func(fp string) bool { return !p.c.fresh(fp) }) {
		// One request for every head instead of a chain fetch for each
		// peer whose verified chain is older than identityTTL; a server
		// without it (or failing) leaves every fetch to be made. (Over
		// HTTP only: the WebSocket's ceremony API has no such request.)
		if hs, err := p.c.ceremonyHeads(ctx, p.info.ID); err == nil {
			listed = hs
			p.c.reuseAt(ctx, listed)
		}
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxChainFetches)
	for i, fp := range parts {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if _, _, errs[i] = p.peer(ctx, fp); errs[i] != nil {
				return
			}
			p.mu.Lock()
			v := p.pubs[fp]
			p.mu.Unlock()
			if h, ok := listed[fp]; ok && !v.holds(h) {
				errs[i] = &PeerKeyError{Fingerprint: fp, Reason: fmt.Sprintf("the server lists its chain head as %s, which its chain (head %s) does not hold", h, v.head())}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	own, _ := p.chain(ctx, p.me)
	if !p.ownKey(own) {
		// The client may have verified the chain before this identity
		// rotated to (or added) the key the driver has.
		if _, err := p.refetch(ctx, p.me); err != nil {
			return err
		}
		own, _ = p.chain(ctx, p.me)
	}
	if !p.ownKey(own) {
		return &PeerKeyError{Fingerprint: p.me, Reason: fmt.Sprintf("the key this driver signs with is not the identity's current key, nor another of its device keys (its chain's head, %s)", own.head())}
	}
	return nil
}

// ownKey reports whether the driver's key may take part as its identity
// in the ceremony, by v, its verified chain: any current device key signs
// its statements, a group key's confirmations and endorsements too (a
// certificate names the device key that made each: docs/protocol.md §6
// "Devices").
func (p *participant) ownKey(v verifiedChain) bool {
	return v.hasDevice(p.key.Public().(ed25519.PublicKey))
}

// peer returns identity fp's key and chain head as this driver verified
// them: fetched once per driver, or verified by the client within
// identityTTL.
func (p *participant) peer(ctx context.Context, fp string) (ed25519.PublicKey, chusme.ChainHead, error) {
	v, err := p.chain(ctx, fp)
	if err != nil {
		return nil, chusme.ChainHead{}, err
	}
	return v.key, v.head(), nil
}

// chain returns identity fp's chain as this driver verified it (peer).
func (p *participant) chain(ctx context.Context, fp string) (verifiedChain, error) {
	p.mu.Lock()
	v, ok := p.pubs[fp]
	p.mu.Unlock()
	if !ok {
		var err error
		if v, err = p.c.peerKey(ctx, fp, false); err != nil {
			return verifiedChain{}, err
		}
		p.mu.Lock()
		p.pubs[fp] = v
		p.mu.Unlock()
	}
	return v, nil
}

// refetch fetches identity fp's chain again, once per driver (the identity
// may have rotated since the client verified its key), and reports whether
// it did.
func (p *participant) refetch(ctx context.Context, fp string) (bool, error) {
	p.mu.Lock()
	done := p.refetched[fp]
	p.refetched[fp] = true
	p.mu.Unlock()
	if done {
		return false, nil
	}
	v, err := p.c.peerKey(ctx, fp, true)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	p.pubs[fp] = v
	p.mu.Unlock()
	return true, nil
}

// verify checks a relayed package's signature by its sender's identity key
// (from the sender's verified chain).
func (p *participant) verify(ctx context.Context, pkg chusme.CeremonyPackage, round int) error {
	if pkg.Round != round || !slices.Contains(p.info.Participants, pkg.Sender) {
		return fmt.Errorf("%w: a round-%d package claims round %d and sender %q", ErrTampered, round, pkg.Round, pkg.Sender)
	}
	if pkg.Sender == p.me && pkg.Recipient == "" {
		p.mu.Lock()
		sent, ok := p.sent[round]
		p.mu.Unlock()
		if ok {
			// This driver's own broadcast: it must come back as sent, byte
			// for byte, which makes a signature check needless.
			if !bytes.Equal(pkg.Payload, sent.Payload) || !bytes.Equal(pkg.Signature, sent.Signature) {
				return fmt.Errorf("%w: this participant's own round-%d package came back changed", ErrTampered, round)
			}
			return nil
		}
	}
	ok, err := p.signedBy(ctx, pkg.Sender, chusme.CeremonyPackageMessage(p.info.ID, round, pkg.Sender, pkg.Recipient, pkg.Payload), pkg.Signature)
	if err == nil && !ok {
		err = &forgedPackage{round, pkg.Sender, "fails its signature under the key of its verified chain"}
	}
	return err
}

// signedBy reports whether sig verifies over msg under one of identity
// fp's current device keys from its verified chain (the one that signed
// fp's last statement first), fetching the chain again once if it does not
// (fp may have rotated or added a device since it was verified).
func (p *participant) signedBy(ctx context.Context, fp string, msg, sig []byte) (bool, error) {
	for {
		v, err := p.chain(ctx, fp)
		if err != nil {
			return false, err
		}
		p.mu.Lock()
		hint := p.signers[fp]
		p.mu.Unlock()
		if k := v.signer(msg, sig, hint); k != nil {
			p.mu.Lock()
			p.signers[fp] = k
			p.mu.Unlock()
			return true, nil
		}
		again, err := p.refetch(ctx, fp)
		if err != nil || !again {
			return false, err
		}
	}
}

func (p *participant) sign(round int, recipient string, payload []byte) ([]byte, error) {
	return signWith(p.key, chusme.CeremonyPackageMessage(p.info.ID, round, p.me, recipient, payload))
}

// submit sends a package, retrying what may succeed later until the
// round's deadline (retryUntil; submissions are idempotent), and returns
// the state the server answered.
func (p *participant) submit(ctx context.Context, round int, req chusme.SubmitRequest) (chusme.CeremonyInfo, error) {
	ans, err := retryUntil(ctx, p.info.Deadline, func() (chusme.CeremonyChange, error) { return p.c.Submit(ctx, p.info.ID, round, req) })
	if chusme.ErrorCode(err) == chusme.CodeCeremonyClosed {
		// Ended meanwhile (declined, cancelled, failed): say how.
		if now, gerr := p.c.ceremonyNow(ctx, p.info.ID); gerr == nil && now.Status != chusme.CeremonyOpen {
			if derr := p.checkDeclines(ctx, now); derr != nil {
				return p.info, derr
			}
			return now, &CeremonyError{Info: now}
		}
	}
	if err != nil {
		return p.info, err
	}
	return answered(p.info, ans), nil
}

// answered is the state a submission's answer leaves the driver with: the
// whole state when it carries one, else the driver's state with the
// answer's version, needed and this submission (the others' submissions
// since reach it with the events it waits for).
func answered(info chusme.CeremonyInfo, ans chusme.CeremonyChange) chusme.CeremonyInfo {
	switch {
	case ans.Ceremony != nil:
		return *ans.Ceremony
	case ans.Version <= info.Version || ans.Round != info.Round || ans.Status != info.Status:
		return info
	}
	return withChange(info, ans)
}

// broadcast sends this driver's broadcast for round, unless the server has
// it already (a resumed driver), and returns the state the server answered
// (or the driver's current one).
func (p *participant) broadcast(ctx context.Context, round int, payload []byte) (chusme.CeremonyInfo, error) {
	sig, err := p.sign(round, "", payload)
	if err != nil {
		return p.info, err
	}
	req := chusme.SubmitRequest{Payload: payload, Signature: sig}
	p.mu.Lock()
	p.sent[round] = req
	p.mu.Unlock()
	return p.submitOnce(ctx, round, req)
}

// submitOnce submits req for round unless the server is past that round or
// has this participant's package for it: a resumed driver sends what it
// sealed again only where it never arrived (the same bytes: submissions are
// idempotent).
func (p *participant) submitOnce(ctx context.Context, round int, req chusme.SubmitRequest) (chusme.CeremonyInfo, error) {
	if i := p.info; i.Status != chusme.CeremonyOpen || i.Round != round || slices.Contains(i.Submitted, p.me) {
		return i, nil
	}
	return p.submit(ctx, round, req)
}

// seal records the round state as of round before that round's package is
// sent: in the state file when the driver has a store (creating the file,
// and its state key, the first time), else nowhere.
func (p *participant) seal(round int) error {
	p.st.Round = round
	if p.store == nil {
		return nil
	}
	if p.sealed == nil {
		sealed, err := p.store.Create(p.info.ID)
		if err != nil {
			return err
		}
		p.sealed = sealed
	}
	return p.sealed.Save(p.st)
}

// ended removes the round state once the ceremony has ended for this
// driver (err nil: it got its result; a CeremonyError: the ceremony failed,
// was cancelled, or completed without it; ErrNotNeeded), and returns err. On any other
// error (interrupted, the server lying, …) the state stays for a resume.
func (p *participant) ended(err error) error {
	var ce *CeremonyError
	if p.sealed == nil || (err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrNotNeeded)) {
		return err
	}
	if rerr := p.sealed.Remove(); rerr != nil && err == nil {
		return fmt.Errorf("client: removing the round state: %w", rerr)
	}
	return err
}

// checkStored fails with ErrInconsistent when fresh, a value this resumed
// run computed again, differs from stored, the one its round state holds.
func (p *participant) checkStored(what string, stored, fresh []byte) error {
	if !bytes.Equal(stored, fresh) {
		return fmt.Errorf("%w: %s is not the one this participant computed before it was interrupted", ErrInconsistent, what)
	}
	return nil
}

// wait long-polls until the ceremony has left round, or has completed.
func (p *participant) wait(ctx context.Context, info chusme.CeremonyInfo, round int, progress Progress) (chusme.CeremonyInfo, error) {
	info, err := p.c.waitUntil(ctx, info, progress, func(i chusme.CeremonyInfo) bool {
		return i.Status == chusme.CeremonyCompleted || (i.Status == chusme.CeremonyOpen && i.Round > round)
	})
	if err == nil {
		p.info = info
	}
	var ce *CeremonyError
	if errors.As(err, &ce) {
		// A ceremony said to have failed by a decline must carry it, signed.
		if derr := p.checkDeclines(ctx, ce.Info); derr != nil {
			return info, derr
		}
	}
	return info, err
}

// inbox returns a completed round's packages, as pushed with the ceremony's
// event over the realtime connection or else fetched, and verifies every
// signature.
func (p *participant) inbox(ctx context.Context, round int) ([]chusme.CeremonyPackage, error) {
	in, ok := chusme.Inbox{}, false
	if rt := p.c.rt.Load(); rt != nil {
		in, ok = rt.pushedInbox(ctx, p.info.ID, round, p.info.Version)
	}
	if !ok {
		var err error
		if in, err = retryUntil(ctx, p.info.Deadline, func() (chusme.Inbox, error) { return p.c.Inbox(ctx, p.info.ID, round) }); err != nil {
			return nil, err
		}
	}
	if !in.Complete || in.Round != round {
		return nil, fmt.Errorf("%w: round %d's inbox is not complete", ErrInconsistent, round)
	}
	for _, pkg := range in.Packages {
		if err := p.verify(ctx, pkg, round); err != nil {
			return nil, err
		}
	}
	return in.Packages, nil
}

// broadcasts returns exactly one broadcast per participant, keyed by sender,
// requiring this participant's own to be what it sent.
func (p *participant) broadcasts(pkgs []chusme.CeremonyPackage, mine []byte, senders []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, pkg := range pkgs {
		if pkg.Recipient != "" || !slices.Contains(senders, pkg.Sender) {
			continue // a candidate's commitment the signing package does not use
		}
		if _, dup := out[pkg.Sender]; dup {
			return nil, fmt.Errorf("%w: two broadcasts from %s", ErrTampered, pkg.Sender)
		}
		out[pkg.Sender] = pkg.Payload
	}
	if len(out) != len(senders) {
		return nil, fmt.Errorf("%w: %d broadcasts for %d participants", ErrInconsistent, len(out), len(senders))
	}
	for _, fp := range senders {
		if _, ok := out[fp]; !ok {
			return nil, fmt.Errorf("%w: no broadcast from %s", ErrInconsistent, fp)
		}
	}
	if !bytes.Equal(out[p.me], mine) {
		return nil, fmt.Errorf("%w: this participant's own package came back changed", ErrTampered)
	}
	return out, nil
}

func identifiers(fps []string) (map[string]frost.Identifier, error) {
	out := make(map[string]frost.Identifier, len(fps))
	for _, fp := range fps {
		id, err := frost.DeriveIdentifier([]byte(fp))
		if err != nil {
			return nil, err
		}
		out[fp] = id
	}
	return out, nil
}

// RunDKG takes part, as the identity of key, in DKG ceremony id from its
// first round to its end: it checks that its creator signed the ceremony's
// request (ErrForgedRequest otherwise, before anything is sent), broadcasts its commitment and an ephemeral HPKE
// key, sends every other participant its share sealed to that participant's
// key, derives its key package, and confirms the group key and the round-1
// transcript, signing the group key certificate's statement
// (chusme.GroupKeyConfirmMessage) over every participant's verified chain
// head. It verifies the identity-key signature of every package it receives
// (ErrTampered otherwise) and, at the end, that every participant confirmed
// the same group key, transcript and heads with a valid certificate
// signature, and that the server stored that key with those confirmations. progress (may be nil) sees every new state. The caller owns the
// returned key package: save it (package sharefile, best through
// WithKeyPackageSaver) and Zero it. With WithRoundState it seals each
// round's state before sending its package and resumes an interrupted run
// from it.
func (c *Client) RunDKG(ctx context.Context, id string, key crypto.Signer, progress Progress, opts ...RunOption) (*DKGResult, error) {
	return c.runDealing(ctx, id, key, chusme.KindDKG, &freshDealing{}, progress, opts)
}

// OldShare is a participant's share of a group key that a refresh
// replaces: its key package, the key's public key package and the
// generation of both.
type OldShare struct {
	KeyPackage       *frost.KeyPackage
	PublicKeyPackage *frost.PublicKeyPackage
	Generation       int
}

// RunRefresh takes part, as the identity of key holding share old, in
// refresh ceremony id, as RunDKG takes part in a DKG: the participants
// deal each other shares of zero (frost.RefreshDKGPart1, RefreshDKGPart2,
// RefreshDKGShares), so the group key stays and every share changes. It
// checks first that the ceremony refreshes old's key at old's generation,
// with old's threshold, among holders of that key, and at the end that the
// server stored the key's next generation with the public key package and
// confirmations computed. The returned key package replaces old's: save it
// (WithKeyPackageSaver) with the new generation, Ceremony.KeyGeneration+1,
// and wipe the old one.
func (c *Client) RunRefresh(ctx context.Context, id string, key ed25519.PrivateKey, old OldShare, progress Progress, opts ...RunOption) (*DKGResult, error) {
	if old.KeyPackage == nil || old.PublicKeyPackage == nil {
		return nil, errors.New("client: a refresh needs the share it replaces")
	}
	return c.runDealing(ctx, id, key, chusme.KindRefresh, &refreshDealing{old: old}, progress, opts)
}

// runDealing runs a ceremony that deals shares in a DKG's three rounds.
func (c *Client) runDealing(ctx context.Context, id string, key crypto.Signer, kind string, d dealing, progress Progress, opts []RunOption) (*DKGResult, error) {
	return c.runParticipant(ctx, id, key, kind, opts, func(p *participant) (*DKGResult, error) {
		if err := d.check(p.info); err != nil {
			return nil, err
		}
		return p.runDKG(ctx, d, progress)
	})
}

// runParticipant takes part, as the identity of key, in ceremony id of a
// kind that gives some participants a key package: run does the rounds,
// the saver of WithKeyPackageSaver gets the result's key package if it has
// one, and the round state goes once the ceremony has ended for this
// driver.
func (c *Client) runParticipant(ctx context.Context, id string, key crypto.Signer, kind string, opts []RunOption,
	run func(p *participant) (*DKGResult, error)) (*DKGResult, error) {
	p, err := c.participant(ctx, id, key, kind, opts)
	if err != nil {
		return nil, err
	}
	defer p.st.Zero()
	res, err := run(p)
	if err == nil && p.keep != nil && res.KeyPackage != nil {
		if err = p.keep(res); err != nil {
			res.KeyPackage.Zero()
			return nil, err
		}
	}
	return res, p.ended(err)
}

// dealing is what a DKG and a refresh do differently in runDKG's rounds.
type dealing interface {
	// check checks the ceremony before anything is sent.
	check(info chusme.CeremonyInfo) error
	// part1 starts the dealing: the round-1 secret and package.
	part1(id frost.Identifier, n, t int) (*frost.DKGRound1Secret, []byte, error)
	// others decodes the peers' round-1 packages, by sender (false, and
	// the sender, if one is malformed).
	others(raw map[string][]byte, ids map[string]frost.Identifier) (string, bool)
	part2(secret *frost.DKGRound1Secret) (*frost.DKGRound2Secret, map[frost.Identifier]*frost.DKGRound2Package, error)
	part3(secret *frost.DKGRound2Secret, received map[frost.Identifier]*frost.DKGRound2Package) (*frost.KeyPackage, *frost.PublicKeyPackage, error)
	// generation is the generation the result must be stored as.
	generation(info chusme.CeremonyInfo) int
}

// freshDealing is a DKG's: a new group key (frost.DKGPart1 to DKGPart3).
type freshDealing struct {
	round1 map[frost.Identifier]*frost.DKGRound1Package
}

func (*freshDealing) check(chusme.CeremonyInfo) error { return nil }

func (*freshDealing) part1(id frost.Identifier, n, t int) (*frost.DKGRound1Secret, []byte, error) {
	secret, pkg, err := frost.DKGPart1(nil, id, n, t)
	if err != nil {
		return nil, nil, err
	}
	b, err := pkg.MarshalBinary()
	return secret, b, err
}

func (d *freshDealing) others(raw map[string][]byte, ids map[string]frost.Identifier) (string, bool) {
	d.round1 = map[frost.Identifier]*frost.DKGRound1Package{}
	return decodeRound1(raw, ids, d.round1, func() *frost.DKGRound1Package { return new(frost.DKGRound1Package) })
}

// decodeRound1 decodes the round-1 packages raw, by sender, into out, by
// identifier; it returns false and the sender of the first that does not
// decode.
func decodeRound1[T interface{ UnmarshalBinary([]byte) error }](raw map[string][]byte, ids map[string]frost.Identifier, out map[frost.Identifier]T, newPkg func() T) (string, bool) {
	for fp, b := range raw {
		pkg := newPkg()
		if pkg.UnmarshalBinary(b) != nil {
			return fp, false
		}
		out[ids[fp]] = pkg
	}
	return "", true
}

func (d *freshDealing) part2(secret *frost.DKGRound1Secret) (*frost.DKGRound2Secret, map[frost.Identifier]*frost.DKGRound2Package, error) {
	return frost.DKGPart2(secret, d.round1)
}

func (d *freshDealing) part3(secret *frost.DKGRound2Secret, received map[frost.Identifier]*frost.DKGRound2Package) (*frost.KeyPackage, *frost.PublicKeyPackage, error) {
	return frost.DKGPart3(secret, d.round1, received)
}

func (*freshDealing) generation(chusme.CeremonyInfo) int { return 1 }

// refreshDealing is a refresh's: shares of zero added to old's.
type refreshDealing struct {
	old    OldShare
	round1 map[frost.Identifier]*frost.RefreshRound1Package
}

// check refuses a refresh that is not of old's key at old's generation and
// threshold, among holders of that key: a server can't make this share
// take part in refreshing another key, or make up holders.
func (d *refreshDealing) check(info chusme.CeremonyInfo) error {
	pub := d.old.PublicKeyPackage
	held := map[frost.Identifier]bool{}
	for _, id := range pub.Identifiers() {
		held[id] = true
	}
	switch {
	case info.KeyID != chusme.GroupKeyID(pub.VerifyingKey().Bytes()):
		return fmt.Errorf("%w: ceremony %s refreshes key %s, not the share's key", ErrInconsistent, info.ID, info.KeyID)
	case info.KeyGeneration != d.old.Generation || info.Request == nil || info.Request.Generation != d.old.Generation:
		return fmt.Errorf("client: ceremony %s refreshes generation %d of key %s; this share is of generation %d", info.ID, info.KeyGeneration, info.KeyID, d.old.Generation)
	case info.Threshold != pub.MinSigners() || info.Threshold != d.old.KeyPackage.MinSigners():
		return fmt.Errorf("%w: ceremony %s has threshold %d, the key %d", ErrInconsistent, info.ID, info.Threshold, pub.MinSigners())
	}
	ids, err := identifiers(info.Participants)
	if err != nil {
		return err
	}
	for fp, id := range ids {
		if !held[id] {
			return fmt.Errorf("%w: ceremony %s names %s, who holds no share of key %s", ErrInconsistent, info.ID, fp, info.KeyID)
		}
	}
	return nil
}

func (*refreshDealing) part1(id frost.Identifier, n, t int) (*frost.DKGRound1Secret, []byte, error) {
	secret, pkg, err := frost.RefreshDKGPart1(nil, id, n, t)
	if err != nil {
		return nil, nil, err
	}
	b, err := pkg.MarshalBinary()
	return secret, b, err
}

func (d *refreshDealing) others(raw map[string][]byte, ids map[string]frost.Identifier) (string, bool) {
	d.round1 = map[frost.Identifier]*frost.RefreshRound1Package{}
	return decodeRound1(raw, ids, d.round1, func() *frost.RefreshRound1Package { return new(frost.RefreshRound1Package) })
}

func (d *refreshDealing) part2(secret *frost.DKGRound1Secret) (*frost.DKGRound2Secret, map[frost.Identifier]*frost.DKGRound2Package, error) {
	return frost.RefreshDKGPart2(secret, d.round1)
}

func (d *refreshDealing) part3(secret *frost.DKGRound2Secret, received map[frost.Identifier]*frost.DKGRound2Package) (*frost.KeyPackage, *frost.PublicKeyPackage, error) {
	return frost.RefreshDKGShares(secret, d.round1, received, d.old.PublicKeyPackage, d.old.KeyPackage)
}

func (d *refreshDealing) generation(info chusme.CeremonyInfo) int { return info.KeyGeneration + 1 }

// runDKG is the work of RunDKG and RunRefresh, dealing as d does, from the
// round its state is at.
func (p *participant) runDKG(ctx context.Context, d dealing, progress Progress) (*DKGResult, error) {
	id, st := p.info.ID, p.st
	parts := p.info.Participants
	n, t := len(parts), p.info.Threshold
	ids, err := identifiers(parts)
	if err != nil {
		return nil, err
	}

	// Round 1: commitment, proof of knowledge, ephemeral HPKE key.
	secret1 := new(frost.DKGRound1Secret)
	defer func() { secret1.Zero() }()
	var hpkeKey hpke.PrivateKey
	if st.Round == 0 {
		var pkg1Bytes []byte
		if secret1, pkg1Bytes, err = d.part1(ids[p.me], n, t); err != nil {
			return nil, err
		}
		if hpkeKey, err = hpkeKEM.GenerateKey(); err != nil {
			return nil, err
		}
		st.Round1 = chusme.DKGRound1Payload(hpkeKey.PublicKey().Bytes(), pkg1Bytes)
		if st.HPKEKey, err = hpkeKey.Bytes(); err != nil {
			return nil, err
		}
		if st.Round1Secret, err = secret1.MarshalBinary(); err != nil {
			return nil, err
		}
		if err := p.seal(1); err != nil {
			return nil, err
		}
	} else {
		hk, _, ok := chusme.SplitDKGRound1Payload(st.Round1)
		if hpkeKey, err = hpkeKEM.NewPrivateKey(st.HPKEKey); err != nil || !ok || !bytes.Equal(hpkeKey.PublicKey().Bytes(), hk) {
			return nil, fmt.Errorf("%w: the round state's HPKE key is not the one of its round-1 package", roundstate.ErrFormat)
		}
		if st.Round == 1 {
			if err := secret1.UnmarshalBinary(st.Round1Secret); err != nil {
				return nil, fmt.Errorf("%w: the round-1 secret: %v", roundstate.ErrFormat, err)
			}
		}
	}
	mine1 := st.Round1
	_, round1, err := p.exchangeRound1(ctx, mine1, progress)
	if err != nil {
		return nil, err
	}

	// Round 2: verify the round-1 packages, seal a share to each peer.
	transcript := chusme.DKGTranscriptHash(id, parts, round1)
	others := map[string][]byte{}
	peerKeys := map[string]hpke.PublicKey{}
	for fp, payload := range round1 {
		if fp == p.me {
			continue
		}
		hk, fb, ok := chusme.SplitDKGRound1Payload(payload)
		if !ok {
			return nil, fmt.Errorf("%w: malformed round-1 package from %s", ErrInconsistent, fp)
		}
		if peerKeys[fp], err = hpkeKEM.NewPublicKey(hk); err != nil {
			return nil, fmt.Errorf("%w: bad HPKE key from %s", ErrInconsistent, fp)
		}
		others[fp] = fb
	}
	if bad, ok := d.others(others, ids); !ok {
		// Signed by its sender (inbox checked it): the server decodes only
		// a DKG package's first point, so it is told, and fails the
		// ceremony naming the sender.
		return nil, p.complained(ctx, &malformedRound1{bad})
	}
	secret2 := new(frost.DKGRound2Secret)
	defer func() { secret2.Zero() }()
	if st.Round == 1 {
		if secret2, err = p.dkgRound2(d, secret1, peerKeys, ids); err != nil {
			return nil, err
		}
		st.Transcript = transcript
		clear(st.Round1Secret)
		st.Round1Secret = nil
		if err := p.seal(2); err != nil {
			return nil, err
		}
	} else {
		if err := p.checkStored("the round-1 transcript", st.Transcript, transcript); err != nil {
			return nil, err
		}
		if err := secret2.UnmarshalBinary(st.Round2Secret); err != nil {
			return nil, fmt.Errorf("%w: the round-2 secret: %v", roundstate.ErrFormat, err)
		}
	}
	info, err := p.submitOnce(ctx, 2, chusme.SubmitRequest{Packages: st.Round2})
	if err != nil {
		return nil, err
	}
	if _, err = p.wait(ctx, info, 2, progress); err != nil {
		return nil, err
	}

	// Round 3: open the shares sent to us, derive the key, confirm.
	pkgs, err := p.inbox(ctx, 2)
	if err != nil {
		return nil, p.complained(ctx, err)
	}
	received := map[frost.Identifier]*frost.DKGRound2Package{}
	defer func() {
		for _, r := range received {
			r.Zero()
		}
	}()
	o, err := openRound(ctx, p, 2, pkgs, hpkeKey, parts, ids, received, func() *frost.DKGRound2Package { return new(frost.DKGRound2Package) })
	if err != nil {
		return nil, err
	}
	defer o.wipe()
	kp, pub, err := d.part3(secret2, received)
	if err != nil {
		return nil, fmt.Errorf("client: %s round 3: %w", p.info.Kind, p.cheated(ctx, o, err, ids))
	}
	ok := false
	defer func() {
		if !ok {
			kp.Zero()
		}
	}()
	if info, err = p.confirmRound(ctx, parts, t, transcript, kp, pub, d.generation(p.info), progress); err != nil {
		return nil, err
	}
	ok = true
	return &DKGResult{KeyID: chusme.GroupKeyID(pub.VerifyingKey().Bytes()), KeyPackage: kp, PublicKeyPackage: pub, Ceremony: info}, nil
}

// exchangeRound1 broadcasts mine, this participant's round-1 payload,
// waits for the round to complete and returns every participant's
// payload, by sender, as verified by inbox and broadcasts.
func (p *participant) exchangeRound1(ctx context.Context, mine []byte, progress Progress) (chusme.CeremonyInfo, map[string][]byte, error) {
	info, err := p.broadcast(ctx, 1, mine)
	if err != nil {
		return info, nil, err
	}
	if _, err = p.wait(ctx, info, 1, progress); err != nil {
		return info, nil, err
	}
	pkgs, err := p.inbox(ctx, 1)
	if err != nil {
		return info, nil, err
	}
	round1, err := p.broadcasts(pkgs, mine, p.info.Participants)
	return info, round1, err
}

// secretPackage is a round-2 package a driver opens: a frost secret.
type secretPackage interface {
	UnmarshalBinary([]byte) error
	Zero()
}

// confirmRound is round 3 of a ceremony that makes shares, for a holder of
// key package kp and the public key package pub it computed: it confirms
// the key (confirm), after its endorsement if it endorses a key change
// (endorsement), sends both (round3), and checks the stored key, of
// generation, against what it computed (checkStoredKey).
func (p *participant) confirmRound(ctx context.Context, holders []string, t int, transcript []byte, kp *frost.KeyPackage, pub *frost.PublicKeyPackage,
	generation int, progress Progress) (chusme.CeremonyInfo, error) {
	endorse, err := p.endorsement(ctx, holders, t, transcript)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	var sealed []byte // the confirmation sealed before an interruption, if any
	if p.st.Round > 2 && len(p.st.Confirmation) > len(endorse) {
		sealed = p.st.Confirmation[len(endorse):]
	}
	want, confirmation, err := p.confirm(ctx, p.info.ID, holders, t, transcript, kp, pub, sealed)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	info, err := p.round3(ctx, append(endorse, confirmation...), progress)
	if err != nil {
		return info, err
	}
	want.generation = generation
	return info, p.checkStoredKey(ctx, info, want)
}

// round3 sends this participant's round-3 payload, mine3, sealing it in
// the round state first (a resumed driver checks it makes the same), and
// waits for the end.
func (p *participant) round3(ctx context.Context, mine3 []byte, progress Progress) (chusme.CeremonyInfo, error) {
	st := p.st
	if st.Round == 2 {
		st.Confirmation = mine3
		if err := p.seal(3); err != nil {
			return chusme.CeremonyInfo{}, err
		}
	} else if err := p.checkStored("the round-3 confirmation", st.Confirmation, mine3); err != nil {
		return chusme.CeremonyInfo{}, err
	}
	info, err := p.broadcast(ctx, 3, mine3)
	if err != nil {
		return info, err
	}
	return p.wait(ctx, info, 3, progress)
}

// confirm makes this holder's round-3 confirmation of public key package
// pub, made by ceremony id for holders with threshold t after round-1
// transcript: the certificate statement over every holder's chain head, as
// this driver verified it before round 1, the group key, its verifying
// shares and the transcript, signed with its identity key and, over
// SharePossessionMessage, with its share of key package kp. The share
// signature's nonce is random, so a driver resumed after sealing its
// confirmation (sealed) sends the share signature sealed if it verifies.
// It returns what to compare the stored key with (its generation left to
// the caller) and the payload.
func (p *participant) confirm(ctx context.Context, id string, holders []string, t int, transcript []byte, kp *frost.KeyPackage, pub *frost.PublicKeyPackage,
	sealed []byte) (storedKey, []byte, error) {
	pubBytes, err := pub.MarshalBinary()
	if err != nil {
		return storedKey{}, nil, err
	}
	heads, chains, err := p.chainHeads(ctx, holders)
	if err != nil {
		return storedKey{}, nil, err
	}
	ids, err := identifiers(holders)
	if err != nil {
		return storedKey{}, nil, err
	}
	vshares := make(map[string][]byte, len(holders))
	for _, fp := range holders {
		vs, ok := pub.VerifyingShare(ids[fp])
		if !ok {
			return storedKey{}, nil, fmt.Errorf("client: %s round 3: no verifying share for %s", p.info.Kind, fp)
		}
		vshares[fp] = vs.Bytes()
	}
	groupKey := pub.VerifyingKey().Bytes()
	sharesHash := chusme.VerifyingSharesHash(holders, vshares)
	statement := chusme.GroupKeyConfirmMessage(p.c.issuer, id, groupKey, sharesHash, transcript, t, heads)
	mySig, err := signWith(p.key, statement)
	if err != nil {
		return storedKey{}, nil, err
	}
	possession := chusme.SharePossessionMessage(statement, p.me)
	var shareSig []byte
	if before, ok := chusme.ParseDKGConfirmPayload(sealed); ok && ed25519.Verify(kp.VerifyingShare().Bytes(), possession, before.ShareSignature) {
		shareSig = slices.Clone(before.ShareSignature)
	} else if shareSig, err = kp.SignWithShare(nil, possession); err != nil {
		return storedKey{}, nil, err
	}
	payload := chusme.DKGConfirmPayload(chusme.DKGConfirmation{Signature: mySig, ShareSignature: shareSig, Transcript: transcript, Heads: heads, PublicKeyPackage: pubBytes})
	return storedKey{chusme.GroupKeyID(groupKey), 0, pubBytes, groupKey, t, transcript, sharesHash, heads, chains, mySig, statement,
		vshares, shareSig}, payload, nil
}

// storedKey is what a driver that made (or changed) a group key computed,
// to compare with what the server stored.
type storedKey struct {
	keyID                  string
	generation             int
	pub, groupKey          []byte // the public key package's encoding, the group key
	threshold              int
	transcript, sharesHash []byte
	heads                  []chusme.ParticipantHead
	chains                 map[string]verifiedChain // every holder's, at its head in heads
	mySig, statement       []byte                   // this holder's confirmation and what it signed (nil for a dealer that holds none)
	shares                 map[string][]byte        // every holder's verifying share
	myShareSig             []byte                   // this holder's share signature
}

// checkStoredKey checks that the completed ceremony info made key want:
// the stored key and certificate must be the ones computed, field by
// field, and every other holder's confirmation signature must verify,
// under the key it names, one of the device keys of its verified chain at
// the head in heads, over the statement this driver signed, so all confirmed the same key, transcript and heads, and its
// share signature under its verifying share. (The
// certificate has n entries; round 3's inbox n confirmations of n heads
// each, which the driver need not read.)
func (p *participant) checkStoredKey(ctx context.Context, info chusme.CeremonyInfo, want storedKey) error {
	c := p.c
	if info.Result == nil || info.Result.KeyID != want.keyID {
		return fmt.Errorf("%w: the ceremony's result is not the group key computed", ErrInconsistent)
	}
	gk, err := retry(ctx, func() (chusme.GroupKeyInfo, error) { return c.groupKey(ctx, want.keyID, want.generation) })
	if err != nil {
		return err
	}
	cert := gk.Certificate
	if !bytes.Equal(gk.PublicKeyPackage, want.pub) || !bytes.Equal(gk.PublicKey, want.groupKey) || gk.Threshold != want.threshold || cert == nil ||
		cert.Issuer != c.issuer || cert.CeremonyID != info.ID || cert.Threshold != want.threshold || !bytes.Equal(cert.Transcript, want.transcript) ||
		!bytes.Equal(cert.VerifyingSharesHash, want.sharesHash) || len(cert.Confirmations) != len(want.heads) {
		return fmt.Errorf("%w: the stored group key differs from the one computed", ErrInconsistent)
	}
	for i, cf := range cert.Confirmations {
		h := want.heads[i]
		if cf.Fingerprint != h.Fingerprint || cf.HeadSeq != h.Seq || !bytes.Equal(cf.HeadHash, h.Hash) || !want.chains[cf.Fingerprint].hasDevice(ed25519.PublicKey(cf.PublicKey)) ||
			cf.Fingerprint == p.me && (!bytes.Equal(cf.PublicKey, p.key.Public().(ed25519.PublicKey)) || !bytes.Equal(cf.Signature, want.mySig) || !bytes.Equal(cf.ShareSignature, want.myShareSig)) ||
			cf.Fingerprint != p.me && (!ed25519.Verify(ed25519.PublicKey(cf.PublicKey), want.statement, cf.Signature) ||
				!ed25519.Verify(want.shares[cf.Fingerprint], chusme.SharePossessionMessage(want.statement, cf.Fingerprint), cf.ShareSignature)) {
			return fmt.Errorf("%w: the stored certificate's confirmation of %s is not the one it signed", ErrInconsistent, cf.Fingerprint)
		}
	}
	return nil
}

// dkgRound2 computes this participant's round-2 shares from its round-1
// secret (the dealing's part2), seals each to its recipient's HPKE key and signs it,
// and keeps them in the round state (Round2, with the round-2 secret) to be
// sent.
func (p *participant) dkgRound2(d dealing, secret1 *frost.DKGRound1Secret, peerKeys map[string]hpke.PublicKey, ids map[string]frost.Identifier) (*frost.DKGRound2Secret, error) {
	secret2, shares, err := d.part2(secret1)
	if err != nil {
		return nil, fmt.Errorf("client: %s round 2: %w", p.info.Kind, err)
	}
	defer func() {
		for _, share := range shares {
			share.Zero()
		}
	}()
	out, err := sealEach(p, 2, shares, peerKeys, ids, p.info.Participants)
	if err != nil {
		secret2.Zero()
		return nil, err
	}
	if p.st.Round2Secret, err = secret2.MarshalBinary(); err != nil {
		secret2.Zero()
		return nil, err
	}
	p.st.Round2 = out
	return secret2, nil
}

// chainHeads returns every participant's head, in the order of fps, and
// chain, as this driver verified them (chain).
func (p *participant) chainHeads(ctx context.Context, fps []string) ([]chusme.ParticipantHead, map[string]verifiedChain, error) {
	heads := make([]chusme.ParticipantHead, len(fps))
	chains := make(map[string]verifiedChain, len(fps))
	for i, fp := range fps {
		v, err := p.chain(ctx, fp)
		if err != nil {
			return nil, nil, err
		}
		heads[i], chains[fp] = chusme.ParticipantHead{Fingerprint: fp, ChainHead: v.head()}, v
	}
	return heads, chains, nil
}

// SignRequest is what a signer is asked to approve before it commits.
type SignRequest struct {
	CeremonyID string
	KeyID      string
	// Requester is the fingerprint of the identity that started the
	// ceremony: verified, its signature over the request checked under
	// one of its device keys; RequesterKey is its first device key, of its
	// verified, pinned chain at RequesterHead.
	Requester     string
	RequesterKey  ed25519.PublicKey
	RequesterHead chusme.ChainHead
	Signers       []string // fingerprints
	Message       []byte
	MessageSHA256 [32]byte
	Deadline      time.Time // the request is void after it
}

// Approver decides whether to sign. It runs before the signer commits to
// anything; returning false (or an error) ends RunSign with ErrNotApproved
// (or that error) and nothing is sent.
type Approver func(ctx context.Context, req SignRequest) (bool, error)

// RunSign takes part, as the identity of key with key share kp of group key
// keyID, in signing ceremony id: it checks that the requester signed the
// ceremony's request (ErrForgedRequest otherwise), shows the message and
// the verified requester to approve (declining the ceremony, signed, if
// they are not approved), then signs as signAttempt does. When the first t
// candidates to commit made the signing package without this one, it
// stands by until the ceremony ends (ErrNotNeeded) or starts over because
// a chosen signer went silent; then, as after its own share of a failed
// attempt, it commits again with fresh nonces for the next attempt. With
// WithRoundState it seals its nonces and commitment, then the signing
// package with its share, before sending them, and resumes an interrupted
// run from them without asking approve again (it approved before
// committing); sealed nonces sign no other signing package
// (ErrInconsistent, nothing sent). Nonces are never used twice.
func (c *Client) RunSign(ctx context.Context, id string, key crypto.Signer, keyID string, kp *frost.KeyPackage, approve Approver, progress Progress, opts ...RunOption) ([]byte, error) {
	if kp == nil || approve == nil {
		return nil, errors.New("client: RunSign needs a key package and an approver")
	}
	p, err := c.participant(ctx, id, key, chusme.KindSign, opts)
	if err != nil {
		return nil, err
	}
	defer p.st.Zero()
	sig, err := p.runSign(ctx, key, keyID, kp, approve, progress)
	return sig, p.ended(err)
}

// runSign is RunSign's work, from the round its state is at.
func (p *participant) runSign(ctx context.Context, key crypto.Signer, keyID string, kp *frost.KeyPackage, approve Approver, progress Progress) ([]byte, error) {
	id, info := p.info.ID, p.info
	if info.KeyID != keyID {
		return nil, fmt.Errorf("client: ceremony %s signs with key %s, not %s", id, info.KeyID, keyID)
	}
	if chusme.GroupKeyID(kp.VerifyingKey().Bytes()) != keyID {
		return nil, fmt.Errorf("client: the key share is not a share of key %s", keyID)
	}
	ids, err := identifiers(info.Participants)
	if err != nil {
		return nil, err
	}
	if kp.Identifier() != ids[p.me] {
		return nil, fmt.Errorf("client: the key share of key %s is not %s's", keyID, p.me)
	}
	msg := slices.Clone([]byte(info.Message))
	if p.st.Round == 0 {
		requesterKey, requesterHead, err := p.peer(ctx, info.Creator)
		if err != nil {
			return nil, err
		}
		req := SignRequest{CeremonyID: id, KeyID: keyID, Requester: info.Creator, RequesterKey: requesterKey, RequesterHead: requesterHead,
			Signers: slices.Clone(info.Participants), Message: msg, MessageSHA256: sha256.Sum256(msg), Deadline: time.Unix(info.Request.Deadline, 0)}
		approved, err := approve(ctx, req)
		if err == nil && !approved {
			err = ErrNotApproved
		}
		if errors.Is(err, ErrNotApproved) {
			// Tell the others at once rather than let them wait out the round.
			if _, derr := p.c.DeclineCeremony(ctx, id, key); derr != nil {
				return nil, fmt.Errorf("%w (sending the decline failed: %w)", err, derr)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for {
		sig, next, err := p.signAttempt(ctx, kp, ids, msg, info, progress)
		switch {
		case errors.Is(err, ErrNotNeeded) && next.Status == chusme.CeremonyOpen:
			// Standing by: the signing package was made without this signer,
			// which is needed again only if the ceremony starts over.
			if next, err = p.wait(ctx, next, next.Round, progress); err != nil {
				return nil, err
			}
			if next.Status == chusme.CeremonyCompleted {
				return nil, ErrNotNeeded
			}
		case err != nil || sig != nil:
			return sig, err
		}
		info = next // the next attempt's commitment round
	}
}

// signAttempt takes part in the attempt of signing ceremony info that its
// current round belongs to: it commits with fresh nonces (or, resuming, the
// sealed ones of this attempt), checks the signing package the server built
// (its own commitment unchanged, every other commitment signed by its
// signer, the approved message, and the package its sealed share was made
// for, if any), sends its signature share and returns the aggregated
// signature once it verifies under the group key. If the ceremony starts
// over (a chosen signer went silent), it returns no signature, the new
// state and a nil error; if the signing package was made without this
// signer, ErrNotNeeded with the state. The nonces in memory are destroyed
// whatever happens.
func (p *participant) signAttempt(ctx context.Context, kp *frost.KeyPackage, ids map[string]frost.Identifier, msg []byte,
	info chusme.CeremonyInfo, progress Progress) ([]byte, chusme.CeremonyInfo, error) {
	st := p.st
	commitRound := info.Round - 1 + info.Round%2 // the attempt's odd round
	resumed := st.Round == commitRound || st.Round == commitRound+1
	if info.Round%2 == 0 && !resumed {
		return nil, info, ErrNotNeeded // its share round, without this signer
	}
	nonces, com := new(frost.SigningNonces), new(frost.SigningCommitments)
	defer func() { nonces.Zero() }()
	if resumed {
		// Committed before the interruption: the same commitment, and the
		// nonces unless the share was made already.
		if err := com.UnmarshalBinary(st.Commitment); err != nil {
			return nil, info, fmt.Errorf("%w: the commitment: %v", roundstate.ErrFormat, err)
		}
		if st.Share == nil {
			if err := nonces.UnmarshalBinary(st.SigningNonces); err != nil || !nonces.Commitments().Equal(com) {
				return nil, info, fmt.Errorf("%w: the nonces are not those of the commitment", roundstate.ErrFormat)
			}
		}
	} else {
		var err error
		if nonces, com, err = frost.Commit(nil, kp); err != nil {
			return nil, info, err
		}
		clear(st.SigningNonces)
		st.SigningPackage, st.Share = nil, nil
		if st.Commitment, err = com.MarshalBinary(); err != nil {
			return nil, info, err
		}
		if st.SigningNonces, err = nonces.MarshalBinary(); err != nil {
			return nil, info, err
		}
		if err := p.seal(commitRound); err != nil {
			return nil, info, err
		}
	}
	comBytes := st.Commitment
	info, err := p.broadcast(ctx, commitRound, comBytes)
	if err != nil {
		if chusme.ErrorCode(err) == chusme.CodeNotNeeded {
			now, gerr := p.c.ceremonyNow(ctx, p.info.ID)
			if gerr != nil {
				return nil, info, gerr
			}
			return nil, now, ErrNotNeeded
		}
		return nil, info, err
	}
	if info, err = p.wait(ctx, info, commitRound, progress); err != nil {
		return nil, info, err
	}
	if info.Status == chusme.CeremonyOpen && info.Round > commitRound+1 {
		return nil, info, nil // the attempt ended without this signer's share
	}
	if err := p.checkSigners(ctx, info); err != nil {
		return nil, info, err
	}

	// The share round: check the signing package before signing.
	var pkg frost.SigningPackage
	if err := pkg.UnmarshalBinaryWithOwn(info.SigningPackage, com); err != nil {
		return nil, info, fmt.Errorf("%w: malformed signing package", ErrInconsistent)
	}
	if !bytes.Equal(pkg.Message(), msg) || !bytes.Equal(info.Message, msg) {
		return nil, info, fmt.Errorf("%w: the signing package's message is not the approved one", ErrInconsistent)
	}
	if st.SigningPackage != nil && !bytes.Equal(st.SigningPackage, info.SigningPackage) {
		// The nonces made a share for another package: a server showing a
		// second package for the same commitment is lying, and a share of
		// it would give the signing share away.
		return nil, info, fmt.Errorf("%w: the signing package is not the one this participant's nonces signed before it was interrupted; nothing sent", ErrInconsistent)
	}
	pkgs, err := p.inbox(ctx, commitRound)
	if err != nil {
		return nil, info, err
	}
	coms, err := p.broadcasts(pkgs, comBytes, info.Signers)
	if err != nil {
		return nil, info, err
	}
	if len(pkg.Identifiers()) != len(info.Signers) {
		return nil, info, fmt.Errorf("%w: the signing package has %d signers, not %d", ErrInconsistent, len(pkg.Identifiers()), len(info.Signers))
	}
	// The signing package decoded (and checked) every commitment already;
	// the strict encoding is one-to-one, so comparing the signed bytes with
	// its re-encoding is the same check as decoding them again and
	// comparing, without paying each point's torsion check twice.
	for fp, b := range coms {
		got, ok := pkg.Commitments(ids[fp])
		var enc []byte
		if ok {
			enc, _ = got.MarshalBinary()
		}
		if !ok || !bytes.Equal(enc, b) {
			return nil, info, fmt.Errorf("%w: the signing package does not hold %s's signed commitment", ErrTampered, fp)
		}
	}
	if st.Share == nil {
		share, err := frost.Sign(&pkg, nonces, kp)
		if err != nil {
			return nil, info, fmt.Errorf("client: signing: %w", err)
		}
		if st.Share, err = share.MarshalBinary(); err != nil {
			return nil, info, err
		}
		// One seal records the package and its share and drops the
		// nonces, before the share is sent: a crash before it loses a
		// share nobody saw, and after it the driver can only send this
		// share again.
		st.SigningPackage = slices.Clone([]byte(info.SigningPackage))
		clear(st.SigningNonces)
		st.SigningNonces = nil
		if err := p.seal(commitRound + 1); err != nil {
			return nil, info, err
		}
	}
	if info, err = p.broadcast(ctx, commitRound+1, st.Share); err != nil {
		return nil, info, err
	}
	if info, err = p.wait(ctx, info, commitRound+1, progress); err != nil {
		return nil, info, err
	}
	if info.Status == chusme.CeremonyOpen {
		return nil, info, nil // started over without a silent signer
	}
	if info.Result == nil || !ed25519.Verify(kp.VerifyingKey().Ed25519(), msg, info.Result.Signature) {
		return nil, info, fmt.Errorf("%w: the ceremony's signature does not verify under the group key", ErrInconsistent)
	}
	return slices.Clone([]byte(info.Result.Signature)), info, nil
}
