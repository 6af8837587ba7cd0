package client

import (
	"bytes"
	"context"
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
	// participant could still take part (its secrets live only in the
	// driver that started it).
	ErrCannotJoin = errors.New("client: the ceremony is past its first round for this participant")
)

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
	key  ed25519.PrivateKey
	me   string
	info chusme.CeremonyInfo

	mu        sync.Mutex
	pubs      map[string]verifiedChain     // fingerprint → the verified chain this driver uses
	refetched map[string]bool              // the identities whose chain this driver fetched again
	sent      map[int]chusme.SubmitRequest // round → the broadcast this driver sent
}

func (c *Client) participant(ctx context.Context, id string, key ed25519.PrivateKey, kind string) (*participant, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	// Participants are named by identity fingerprint, which is the genesis
	// key's: after a rotation it is not the current key's, so take it from
	// the session when there is one.
	me := chusme.Fingerprint(key.Public().(ed25519.PublicKey))
	if t, err := c.store.Load(ctx); err == nil && t.Fingerprint != "" {
		me = t.Fingerprint
	}
	p := &participant{c: c, key: key, me: me, pubs: map[string]verifiedChain{}, refetched: map[string]bool{}, sent: map[int]chusme.SubmitRequest{}}
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
	if info.Status != chusme.CeremonyOpen {
		return nil, &CeremonyError{Info: info}
	}
	if info.Round != 1 || slices.Contains(info.Submitted, p.me) {
		return nil, ErrCannotJoin
	}
	p.info = info
	if err := p.trustParticipants(ctx); err != nil {
		return nil, err
	}
	if err := p.checkRequest(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// checkRequest checks the ceremony's request (ErrForgedRequest, naming
// what failed, otherwise): its signature under the creator's key from the
// creator's verified, pinned chain, over this client's issuer and the
// request's fields; that those fields are the ceremony's (kind, threshold,
// participants, key id, message SHA-256); and that its deadline has not
// passed.
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
	case !time.Now().Before(time.Unix(r.Deadline, 0)):
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
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxChainFetches)
	for i, fp := range parts {
		slots <- struct{}{}
		wg.Go(func() { _, _, errs[i] = p.peer(ctx, fp); <-slots })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	own, head, _ := p.peer(ctx, p.me)
	if !own.Equal(p.key.Public()) {
		// The client may have verified the chain before this identity
		// rotated to the key the driver has.
		if _, err := p.refetch(ctx, p.me); err != nil {
			return err
		}
		own, head, _ = p.peer(ctx, p.me)
	}
	if !own.Equal(p.key.Public()) {
		return &PeerKeyError{Fingerprint: p.me, Reason: fmt.Sprintf("the key this driver signs with is not the identity's current key (its chain's head, %s)", head)}
	}
	return nil
}

// peer returns identity fp's key and chain head as this driver verified
// them: fetched once per driver, or verified by the client within
// identityTTL.
func (p *participant) peer(ctx context.Context, fp string) (ed25519.PublicKey, chusme.ChainHead, error) {
	p.mu.Lock()
	v, ok := p.pubs[fp]
	p.mu.Unlock()
	if !ok {
		var err error
		if v, err = p.c.peerKey(ctx, fp, false); err != nil {
			return nil, chusme.ChainHead{}, err
		}
		p.mu.Lock()
		p.pubs[fp] = v
		p.mu.Unlock()
	}
	return v.key, v.head(), nil
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

// signedBy reports whether sig verifies over msg under identity fp's key
// from its verified chain, fetching the chain again once if it does not
// (fp may have rotated since it was verified).
func (p *participant) signedBy(ctx context.Context, fp string, msg, sig []byte) (bool, error) {
	for {
		pub, _, err := p.peer(ctx, fp)
		if err != nil {
			return false, err
		}
		if ed25519.Verify(pub, msg, sig) {
			return true, nil
		}
		again, err := p.refetch(ctx, fp)
		if err != nil || !again {
			return false, err
		}
	}
}

func (p *participant) sign(round int, recipient string, payload []byte) []byte {
	return ed25519.Sign(p.key, chusme.CeremonyPackageMessage(p.info.ID, round, p.me, recipient, payload))
}

// submit sends a package, retrying transport failures (submissions are
// idempotent), and returns the state the server answered.
func (p *participant) submit(ctx context.Context, round int, req chusme.SubmitRequest) (chusme.CeremonyInfo, error) {
	info, err := retry(ctx, func() (chusme.CeremonyInfo, error) { return p.c.Submit(ctx, p.info.ID, round, req) })
	if err != nil {
		return p.info, err
	}
	return info, nil
}

func (p *participant) broadcast(ctx context.Context, round int, payload []byte) (chusme.CeremonyInfo, error) {
	req := chusme.SubmitRequest{Payload: payload, Signature: p.sign(round, "", payload)}
	p.mu.Lock()
	p.sent[round] = req
	p.mu.Unlock()
	return p.submit(ctx, round, req)
}

// wait long-polls until the ceremony has left round, or has completed.
func (p *participant) wait(ctx context.Context, info chusme.CeremonyInfo, round int, progress Progress) (chusme.CeremonyInfo, error) {
	info, err := p.c.waitUntil(ctx, info, progress, func(i chusme.CeremonyInfo) bool {
		return i.Status == chusme.CeremonyCompleted || (i.Status == chusme.CeremonyOpen && i.Round > round)
	})
	if err == nil {
		p.info = info
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
		if in, err = retry(ctx, func() (chusme.Inbox, error) { return p.c.Inbox(ctx, p.info.ID, round) }); err != nil {
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
		if pkg.Recipient != "" {
			continue
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
// returned key package: save it (package sharefile) and Zero it.
func (c *Client) RunDKG(ctx context.Context, id string, key ed25519.PrivateKey, progress Progress) (*DKGResult, error) {
	p, err := c.participant(ctx, id, key, chusme.KindDKG)
	if err != nil {
		return nil, err
	}
	parts := p.info.Participants
	n, t := len(parts), p.info.Threshold
	ids, err := identifiers(parts)
	if err != nil {
		return nil, err
	}

	// Round 1: commitment, proof of knowledge, ephemeral HPKE key.
	secret1, pkg1, err := frost.DKGPart1(nil, ids[p.me], n, t)
	if err != nil {
		return nil, err
	}
	defer secret1.Zero()
	hpkeKey, err := hpkeKEM.GenerateKey()
	if err != nil {
		return nil, err
	}
	pkg1Bytes, err := pkg1.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mine1 := chusme.DKGRound1Payload(hpkeKey.PublicKey().Bytes(), pkg1Bytes)
	info, err := p.broadcast(ctx, 1, mine1)
	if err != nil {
		return nil, err
	}
	if _, err = p.wait(ctx, info, 1, progress); err != nil {
		return nil, err
	}

	// Round 2: verify the round-1 packages, seal a share to each peer.
	pkgs, err := p.inbox(ctx, 1)
	if err != nil {
		return nil, err
	}
	round1, err := p.broadcasts(pkgs, mine1, parts)
	if err != nil {
		return nil, err
	}
	transcript := chusme.DKGTranscriptHash(id, parts, round1)
	others := map[frost.Identifier]*frost.DKGRound1Package{}
	peerKeys := map[string]hpke.PublicKey{}
	for fp, payload := range round1 {
		if fp == p.me {
			continue
		}
		hk, fb, ok := chusme.SplitDKGRound1Payload(payload)
		pk := new(frost.DKGRound1Package)
		if !ok || pk.UnmarshalBinary(fb) != nil {
			return nil, fmt.Errorf("%w: malformed round-1 package from %s", ErrInconsistent, fp)
		}
		if peerKeys[fp], err = hpkeKEM.NewPublicKey(hk); err != nil {
			return nil, fmt.Errorf("%w: bad HPKE key from %s", ErrInconsistent, fp)
		}
		others[ids[fp]] = pk
	}
	secret2, shares, err := frost.DKGPart2(secret1, others)
	if err != nil {
		return nil, fmt.Errorf("client: dkg round 2: %w", err)
	}
	defer secret2.Zero()
	req := chusme.SubmitRequest{}
	for _, fp := range parts {
		if fp == p.me {
			continue
		}
		share := shares[ids[fp]]
		pt, err := share.MarshalBinary()
		share.Zero()
		if err != nil {
			return nil, err
		}
		ct, err := hpke.Seal(peerKeys[fp], hpkeKDF, hpkeAEAD, chusme.DKGShareInfo(id, p.me, fp), pt)
		clear(pt)
		if err != nil {
			return nil, err
		}
		req.Packages = append(req.Packages, chusme.DirectPackage{Recipient: fp, Payload: ct, Signature: p.sign(2, fp, ct)})
	}
	if info, err = p.submit(ctx, 2, req); err != nil {
		return nil, err
	}
	if _, err = p.wait(ctx, info, 2, progress); err != nil {
		return nil, err
	}

	// Round 3: open the shares sent to us, derive the key, confirm.
	pkgs, err = p.inbox(ctx, 2)
	if err != nil {
		return nil, p.complained(ctx, err)
	}
	received := map[frost.Identifier]*frost.DKGRound2Package{}
	defer func() {
		for _, r := range received {
			r.Zero()
		}
	}()
	for _, pkg := range pkgs {
		if pkg.Recipient != p.me || pkg.Sender == p.me {
			return nil, fmt.Errorf("%w: a round-2 package from %s to %q", ErrTampered, pkg.Sender, pkg.Recipient)
		}
		if _, dup := received[ids[pkg.Sender]]; dup {
			return nil, fmt.Errorf("%w: two round-2 packages from %s", ErrTampered, pkg.Sender)
		}
		pt, err := hpke.Open(hpkeKey, hpkeKDF, hpkeAEAD, chusme.DKGShareInfo(id, pkg.Sender, p.me), pkg.Payload)
		if err != nil {
			return nil, p.complained(ctx, &forgedPackage{2, pkg.Sender, "does not decrypt"})
		}
		r := new(frost.DKGRound2Package)
		err = r.UnmarshalBinary(pt)
		clear(pt)
		if err != nil {
			return nil, fmt.Errorf("%w: malformed round-2 package from %s", ErrInconsistent, pkg.Sender)
		}
		received[ids[pkg.Sender]] = r
	}
	kp, pub, err := frost.DKGPart3(secret2, others, received)
	if err != nil {
		return nil, fmt.Errorf("client: dkg round 3: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			kp.Zero()
		}
	}()
	pubBytes, err := pub.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// The certificate: every participant's chain head, as this driver
	// verified it before round 1, signed with the group key, its verifying
	// shares and the transcript.
	heads, headKeys, err := p.chainHeads(ctx, parts)
	if err != nil {
		return nil, err
	}
	vshares := make(map[string][]byte, n)
	for _, fp := range parts {
		vs, ok := pub.VerifyingShare(ids[fp])
		if !ok {
			return nil, fmt.Errorf("client: dkg round 3: no verifying share for %s", fp)
		}
		vshares[fp] = vs.Bytes()
	}
	groupKey := pub.VerifyingKey().Bytes()
	sharesHash := chusme.VerifyingSharesHash(parts, vshares)
	statement := chusme.GroupKeyConfirmMessage(c.issuer, id, groupKey, sharesHash, transcript, t, heads)
	mySig := ed25519.Sign(p.key, statement)
	mine3 := chusme.DKGConfirmPayload(chusme.DKGConfirmation{
		Signature: mySig, Transcript: transcript, Heads: heads, PublicKeyPackage: pubBytes,
	})
	if info, err = p.broadcast(ctx, 3, mine3); err != nil {
		return nil, err
	}
	if info, err = p.wait(ctx, info, 3, progress); err != nil {
		return nil, err
	}

	keyID := chusme.GroupKeyID(groupKey)
	if info.Result == nil || info.Result.KeyID != keyID {
		return nil, fmt.Errorf("%w: the ceremony's result is not the group key computed", ErrInconsistent)
	}
	// Completed: the stored key and certificate must be the ones this driver
	// computed, field by field, and every other participant's confirmation
	// signature must verify, under the key of its verified chain, over the
	// statement this driver signed, so all n confirmed the same key,
	// transcript and heads. (The certificate has n entries; round 3's inbox
	// n confirmations of n heads each, which the driver need not read.)
	gk, err := retry(ctx, func() (chusme.GroupKeyInfo, error) { return c.groupKey(ctx, keyID) })
	if err != nil {
		return nil, err
	}
	cert := gk.Certificate
	if !bytes.Equal(gk.PublicKeyPackage, pubBytes) || !bytes.Equal(gk.PublicKey, groupKey) || gk.Threshold != t || cert == nil ||
		cert.Issuer != c.issuer || cert.CeremonyID != id || cert.Threshold != t || !bytes.Equal(cert.Transcript, transcript) ||
		!bytes.Equal(cert.VerifyingSharesHash, sharesHash) || len(cert.Confirmations) != len(heads) {
		return nil, fmt.Errorf("%w: the stored group key differs from the one computed", ErrInconsistent)
	}
	for i, cf := range gk.Certificate.Confirmations {
		if cf.Fingerprint != heads[i].Fingerprint || cf.HeadSeq != heads[i].Seq || !bytes.Equal(cf.HeadHash, heads[i].Hash) || !bytes.Equal(cf.PublicKey, headKeys[cf.Fingerprint]) ||
			cf.Fingerprint == p.me && !bytes.Equal(cf.Signature, mySig) || cf.Fingerprint != p.me && !ed25519.Verify(headKeys[cf.Fingerprint], statement, cf.Signature) {
			return nil, fmt.Errorf("%w: the stored certificate's confirmation of %s is not the one it signed", ErrInconsistent, cf.Fingerprint)
		}
	}
	ok = true
	return &DKGResult{KeyID: keyID, KeyPackage: kp, PublicKeyPackage: pub, Ceremony: info}, nil
}

// chainHeads returns every participant's head, in the order of fps, and
// key, as this driver verified them (peer).
func (p *participant) chainHeads(ctx context.Context, fps []string) ([]chusme.ParticipantHead, map[string]ed25519.PublicKey, error) {
	heads := make([]chusme.ParticipantHead, len(fps))
	keys := make(map[string]ed25519.PublicKey, len(fps))
	for i, fp := range fps {
		key, head, err := p.peer(ctx, fp)
		if err != nil {
			return nil, nil, err
		}
		heads[i], keys[fp] = chusme.ParticipantHead{Fingerprint: fp, ChainHead: head}, key
	}
	return heads, keys, nil
}

// SignRequest is what a signer is asked to approve before it commits.
type SignRequest struct {
	CeremonyID string
	KeyID      string
	// Requester is the fingerprint of the identity that started the
	// ceremony: verified, its signature over the request checked under
	// RequesterKey, the key of its verified, pinned chain at RequesterHead.
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
// the verified requester to approve, commits, checks the signing package the server built (its own
// commitment unchanged, every other commitment signed by its signer, the
// approved message), sends its signature share, and returns the aggregated
// signature once it verifies under the group key. The nonces are destroyed
// whatever happens.
func (c *Client) RunSign(ctx context.Context, id string, key ed25519.PrivateKey, keyID string, kp *frost.KeyPackage, approve Approver, progress Progress) ([]byte, error) {
	if kp == nil || approve == nil {
		return nil, errors.New("client: RunSign needs a key package and an approver")
	}
	p, err := c.participant(ctx, id, key, chusme.KindSign)
	if err != nil {
		return nil, err
	}
	info := p.info
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
	requesterKey, requesterHead, err := p.peer(ctx, info.Creator)
	if err != nil {
		return nil, err
	}
	req := SignRequest{CeremonyID: id, KeyID: keyID, Requester: info.Creator, RequesterKey: requesterKey, RequesterHead: requesterHead,
		Signers: slices.Clone(info.Participants), Message: msg, MessageSHA256: sha256.Sum256(msg), Deadline: time.Unix(info.Request.Deadline, 0)}
	approved, err := approve(ctx, req)
	if err != nil {
		return nil, err
	}
	if !approved {
		return nil, ErrNotApproved
	}

	nonces, com, err := frost.Commit(nil, kp)
	if err != nil {
		return nil, err
	}
	defer nonces.Zero()
	comBytes, err := com.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if info, err = p.broadcast(ctx, 1, comBytes); err != nil {
		return nil, err
	}
	if info, err = p.wait(ctx, info, 1, progress); err != nil {
		return nil, err
	}

	// Round 2: check the signing package before signing.
	var pkg frost.SigningPackage
	if err := pkg.UnmarshalBinaryWithOwn(info.SigningPackage, com); err != nil {
		return nil, fmt.Errorf("%w: malformed signing package", ErrInconsistent)
	}
	if !bytes.Equal(pkg.Message(), msg) || !bytes.Equal(info.Message, msg) {
		return nil, fmt.Errorf("%w: the signing package's message is not the approved one", ErrInconsistent)
	}
	pkgs, err := p.inbox(ctx, 1)
	if err != nil {
		return nil, err
	}
	coms, err := p.broadcasts(pkgs, comBytes, info.Participants)
	if err != nil {
		return nil, err
	}
	if len(pkg.Identifiers()) != len(info.Participants) {
		return nil, fmt.Errorf("%w: the signing package has %d signers, not %d", ErrInconsistent, len(pkg.Identifiers()), len(info.Participants))
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
			return nil, fmt.Errorf("%w: the signing package does not hold %s's signed commitment", ErrTampered, fp)
		}
	}
	share, err := frost.Sign(&pkg, nonces, kp)
	if err != nil {
		return nil, fmt.Errorf("client: signing: %w", err)
	}
	shareBytes, err := share.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if info, err = p.broadcast(ctx, 2, shareBytes); err != nil {
		return nil, err
	}
	if info, err = p.wait(ctx, info, 2, progress); err != nil {
		return nil, err
	}
	if info.Result == nil || !ed25519.Verify(kp.VerifyingKey().Ed25519(), msg, info.Result.Signature) {
		return nil, fmt.Errorf("%w: the ceremony's signature does not verify under the group key", ErrInconsistent)
	}
	return slices.Clone([]byte(info.Result.Signature)), nil
}
