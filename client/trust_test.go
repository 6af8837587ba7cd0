package client_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// party is a registered identity with its key and a logged-in client.
type party struct {
	fp  string
	key ed25519.PrivateKey
	c   *client.Client
}

// register registers a new identity on server s (the first one, when setup
// is set, with the setup token) and logs it in.
func register(t *testing.T, s *servertest.Server, setup bool) party {
	t.Helper()
	ctx := t.Context()
	p := party{key: testkit.NewKey(t), c: newClient(t, s.URL)}
	p.fp = chusme.Fingerprint(p.key.Public().(ed25519.PublicKey))
	var err error
	if setup {
		_, err = p.c.Setup(ctx, s.SetupToken(t), p.key)
	} else {
		_, err = p.c.Register(ctx, p.key, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.c.Login(ctx, p.key); err != nil {
		t.Fatal(err)
	}
	return p
}

// rotate rotates p's identity to a new key and logs p in with it.
func (p *party) rotate(t *testing.T) {
	t.Helper()
	newKey := testkit.NewKey(t)
	if _, err := p.c.Rotate(t.Context(), p.fp, p.key, newKey); err != nil {
		t.Fatal(err)
	}
	p.key = newKey
	if _, err := p.c.Login(t.Context(), newKey, client.LoginFingerprint(p.fp)); err != nil {
		t.Fatal(err)
	}
}

// viaProxy returns identity p with a new client (its own caches, pinning
// in pins) that reaches the server through the proxy, logged in.
func viaProxy(t *testing.T, s *servertest.Server, proxy *lyingProxy, p party, pins client.PinStore) party {
	t.Helper()
	p.c = newClient(t, proxy.URL, client.WithIssuer(s.URL), client.WithPinStore(pins))
	if _, err := p.c.Login(t.Context(), p.key, client.LoginFingerprint(p.fp)); err != nil {
		t.Fatal(err)
	}
	return p
}

func pathIs(want string) func(string) bool { return func(p string) bool { return p == want } }

// answerKey makes GET /v1/identities/{fp} answer key.
func answerKey(t *testing.T, fp string, key ed25519.PublicKey) func(string, []byte) []byte {
	return rewriteJSON(t, pathIs("/v1/identities/"+fp), func(_ string, id *chusme.IdentityInfo) { id.PublicKey = chusme.Bytes(key) })
}

// answerChain makes GET /v1/identities/{fp}/chain answer what f makes of
// the chain.
func answerChain(t *testing.T, fp string, f func(*chusme.ChainResponse)) func(string, []byte) []byte {
	return rewriteJSON(t, pathIs("/v1/identities/"+fp+"/chain"), func(_ string, ch *chusme.ChainResponse) { f(ch) })
}

// swapHPKE rewrites the round-1 inboxes so that peer's package carries the
// HPKE key hk, re-signed by signer (the attacker's identity key, or a key of
// the peer's the attacker stole).
func swapHPKE(t *testing.T, peer string, hk []byte, signer ed25519.PrivateKey) func(string, []byte) []byte {
	inbox := func(p string) bool { return strings.HasSuffix(p, "/rounds/1/inbox") }
	return rewriteJSON(t, inbox, func(path string, in *chusme.Inbox) {
		id := strings.Split(path, "/")[3] // /v1/ceremonies/{id}/rounds/1/inbox
		for i, pkg := range in.Packages {
			if pkg.Sender != peer || pkg.Recipient != "" {
				continue
			}
			_, frostPkg, ok := chusme.SplitDKGRound1Payload(pkg.Payload)
			if !ok {
				t.Errorf("proxy: malformed round-1 package")
				return
			}
			payload := chusme.DKGRound1Payload(hk, frostPkg)
			in.Packages[i].Payload = payload
			in.Packages[i].Signature = ed25519.Sign(signer, chusme.CeremonyPackageMessage(id, 1, peer, "", payload))
		}
	})
}

// The attacker's HPKE suite: the one of the sealed round-2 shares.
var (
	attackKEM  = hpke.DHKEM(ecdh.X25519())
	attackKDF  = hpke.HKDFSHA256()
	attackAEAD = hpke.AES256GCM()
)

// dkgAttack runs a 2-of-2 DKG of victim, through the proxy lying with lie,
// and peer, directly. It checks what the victim did: no round-2 submission
// of its reached the server, it sealed no share, and the attacker's HPKE
// key opens none of what it sent. It returns how many requests the victim
// submitted to the ceremony, and the victim's error.
func dkgAttack(t *testing.T, proxy *lyingProxy, victim, peer party, attacker hpke.PrivateKey, lie func(string, []byte) []byte) (int, error) {
	t.Helper()
	ctx := t.Context()
	info, err := peer.c.StartDKG(ctx, peer.key, 2, []string{victim.fp, peer.fp})
	if err != nil {
		t.Fatal(err)
	}
	peerCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { peer.c.RunDKG(peerCtx, info.ID, peer.key, nil) })
	defer func() { stop(); wg.Wait() }()

	proxy.requests("", "") // forget what went before
	proxy.setLie(lie)
	_, verr := victim.c.RunDKG(ctx, info.ID, victim.key, nil)
	proxy.setLie(nil)
	if verr == nil {
		t.Fatal("the victim completed the DKG")
	}
	sent := proxy.requests(http.MethodPost, "/v1/ceremonies/"+info.ID+"/rounds/")
	now, err := peer.c.Ceremony(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Round > 2 || now.Round == 2 && slices.Contains(now.Submitted, victim.fp) {
		t.Errorf("the server holds the victim's round-2 submission: round %d, submitted %v", now.Round, now.Submitted)
	}
	sealed := 0
	for _, r := range sent {
		var req chusme.SubmitRequest
		if err := json.Unmarshal(r.body, &req); err != nil {
			t.Fatal(err)
		}
		for _, pkg := range req.Packages {
			sealed++
			if _, err := hpke.Open(attacker, attackKDF, attackAEAD, chusme.DKGShareInfo(info.ID, victim.fp, pkg.Recipient), pkg.Payload); err == nil {
				t.Errorf("the attacker opened the share the victim sealed for %s", pkg.Recipient)
			}
		}
	}
	if sealed != 0 {
		t.Errorf("the victim sealed %d shares", sealed)
	}
	if _, err := peer.c.CancelCeremony(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	return len(sent), verr
}

// wantPeerKeyError checks that err refuses fp's key as a *PeerKeyError.
func wantPeerKeyError(t *testing.T, err error, fp string, reason ...string) {
	t.Helper()
	var pke *client.PeerKeyError
	if !errors.Is(err, client.ErrPeerKey) || !errors.As(err, &pke) || pke.Fingerprint != fp || !strings.Contains(err.Error(), fp) {
		t.Fatalf("error %v, want a *PeerKeyError naming %s", err, fp)
	}
	for _, r := range reason {
		if !strings.Contains(pke.Reason, r) {
			t.Fatalf("reason %q does not say %q", pke.Reason, r)
		}
	}
}

// TestDKGRefusesLyingServer: a proxy in front of the real server answers the
// victim with the attacker's key for its peer (identity, chain) and swaps
// the peer's round-1 HPKE key for the attacker's, re-signed. The victim
// refuses before sealing anything to that key, naming the peer; the
// attacker opens nothing the victim sent.
func TestDKGRefusesLyingServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer, attacker := register(t, s, true), register(t, s, false), register(t, s, false)
	attackerPub := attacker.key.Public().(ed25519.PublicKey)
	attackerHPKE, err := attackKEM.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	hk := attackerHPKE.PublicKey().Bytes()
	attackerChain, err := attacker.c.Chain(ctx, attacker.fp)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newLyingProxy(t, s.URL)
	fresh := func() party { return viaProxy(t, s, proxy, victim, &client.MemoryPinStore{}) }

	t.Run("honest_proxy_completes", func(t *testing.T) {
		v := fresh()
		info, err := peer.c.StartDKG(ctx, peer.key, 2, []string{v.fp, peer.fp})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var peerErr error
		wg.Go(func() { _, peerErr = peer.c.RunDKG(ctx, info.ID, peer.key, nil) })
		res, err := v.c.RunDKG(ctx, info.ID, v.key, nil)
		wg.Wait()
		if err != nil || peerErr != nil {
			t.Fatalf("RunDKG: victim %v, peer %v", err, peerErr)
		}
		res.KeyPackage.Zero()
	})
	t.Run("substituted_identity_key_refused", func(t *testing.T) {
		sent, err := dkgAttack(t, proxy, fresh(), peer, attackerHPKE, lies(answerKey(t, peer.fp, attackerPub), swapHPKE(t, peer.fp, hk, attacker.key)))
		if !errors.Is(err, client.ErrTampered) || !strings.Contains(err.Error(), peer.fp) {
			t.Fatalf("RunDKG = %v, want ErrTampered naming %s", err, peer.fp)
		}
		if sent != 1 {
			t.Fatalf("the victim submitted %d times, want its round-1 package only", sent)
		}
	})
	for name, forge := range map[string]func(*chusme.ChainResponse){
		"forged_genesis": func(ch *chusme.ChainResponse) { ch.Entries = attackerChain.Entries },
		"rotation_signed_by_the_attacker": func(ch *chusme.ChainResponse) {
			head := ch.Entries[len(ch.Entries)-1]
			e := chusme.ChainEntry{Seq: head.Seq + 1, Kind: chusme.EntryRotate, Prev: head.Hash, OldKey: head.NewKey,
				NewKey: chusme.Bytes(attackerPub), Time: time.Now().Unix(), AcceptedAt: time.Now()}
			msg := e.Statement(s.URL, peer.fp)
			e.Signature, e.NewKeySignature = ed25519.Sign(attacker.key, msg), ed25519.Sign(attacker.key, msg)
			e.Hash = chusme.EntryHash(s.URL, peer.fp, e)
			ch.Entries = append(ch.Entries, e)
		},
	} {
		t.Run(name+"_refused", func(t *testing.T) {
			sent, err := dkgAttack(t, proxy, fresh(), peer, attackerHPKE,
				lies(answerKey(t, peer.fp, attackerPub), answerChain(t, peer.fp, forge), swapHPKE(t, peer.fp, hk, attacker.key)))
			wantPeerKeyError(t, err, peer.fp, "does not verify")
			if chusme.ErrorCode(err) != chusme.CodeChainConflict {
				t.Fatalf("code %q, want %q", chusme.ErrorCode(err), chusme.CodeChainConflict)
			}
			if sent != 0 {
				t.Fatalf("the victim submitted %d packages before refusing", sent)
			}
		})
	}

	// The peer rotates; the attacker has its old key. A victim that pinned
	// the rotation refuses the chain rolled back to the old key.
	t.Run("rolled_back_chain_after_pinning_refused", func(t *testing.T) {
		oldKey, newKey := peer.key, testkit.NewKey(t)
		if _, err := peer.c.Rotate(ctx, peer.fp, oldKey, newKey); err != nil {
			t.Fatal(err)
		}
		peer.key = newKey
		if _, err := peer.c.Login(ctx, newKey, client.LoginFingerprint(peer.fp)); err != nil {
			t.Fatal(err)
		}
		pins := &client.MemoryPinStore{}
		ch, _, err := viaProxy(t, s, proxy, victim, pins).c.VerifiedChain(ctx, peer.fp)
		if err != nil {
			t.Fatal(err)
		}
		pinned := ch.Head()
		if got, ok, _ := pins.Load(ctx, s.URL, peer.fp); !ok || got.Seq != 1 {
			t.Fatalf("pinned %+v, %v; want seq 1", got, ok)
		}
		rollBack := func(ch *chusme.ChainResponse) { ch.Entries = ch.Entries[:1] }
		sent, err := dkgAttack(t, proxy, viaProxy(t, s, proxy, victim, pins), peer, attackerHPKE,
			lies(answerKey(t, peer.fp, oldKey.Public().(ed25519.PublicKey)), answerChain(t, peer.fp, rollBack), swapHPKE(t, peer.fp, hk, oldKey)))
		rolledBack := chusme.ChainResponse{Entries: ch.Entries[:1]}.Head()
		wantPeerKeyError(t, err, peer.fp, "rolled back", pinned.String(), rolledBack.String())
		if sent != 0 {
			t.Fatalf("the victim submitted %d packages before refusing", sent)
		}
		if got, _, _ := pins.Load(ctx, s.URL, peer.fp); got.Seq != pinned.Seq {
			t.Fatalf("the refused chain moved the pin to %+v", got)
		}

		// A driver refuses to sign with a key that is not its chain's head.
		info, err := peer.c.StartDKG(ctx, peer.key, 2, []string{victim.fp, peer.fp})
		if err != nil {
			t.Fatal(err)
		}
		_, err = peer.c.RunDKG(ctx, info.ID, oldKey, nil)
		wantPeerKeyError(t, err, peer.fp, "not the identity's current key", pinned.String())
		if now, err := peer.c.Ceremony(ctx, info.ID); err != nil || len(now.Submitted) != 0 {
			t.Fatalf("Ceremony = %+v, %v; want no submission", now, err)
		}
		if _, err := peer.c.CancelCeremony(ctx, info.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// dkg2 makes a 2-of-2 group key of a and b, directly.
func dkg2(t *testing.T, a, b party) (string, [2]*frost.KeyPackage) {
	t.Helper()
	ctx := t.Context()
	info, err := a.c.StartDKG(ctx, a.key, 2, []string{a.fp, b.fp})
	if err != nil {
		t.Fatal(err)
	}
	var res [2]*client.DKGResult
	var errs [2]error
	var wg sync.WaitGroup
	for i, p := range []party{a, b} {
		wg.Go(func() { res[i], errs[i] = p.c.RunDKG(ctx, info.ID, p.key, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res[0].KeyPackage.Zero(); res[1].KeyPackage.Zero() })
	return res[0].KeyID, [2]*frost.KeyPackage{res[0].KeyPackage, res[1].KeyPackage}
}

// signAttack runs a signing of message with keyID by victim (through the
// proxy, lying with lie, with key share kp, told to sign for victimKeyID)
// and peer (directly, share peerKP), started by the peer. It checks that
// the server holds no signature share of the victim's and returns whether
// the victim was asked to approve, the rounds it submitted and its error.
func signAttack(t *testing.T, proxy *lyingProxy, victim, peer party, keyID, victimKeyID string, kp, peerKP *frost.KeyPackage, message []byte, lie func(id string) func(string, []byte) []byte) (bool, []string, error) {
	t.Helper()
	ctx := t.Context()
	info, err := peer.c.StartSign(ctx, peer.key, keyID, message, nil)
	if err != nil {
		t.Fatal(err)
	}
	yes := func(context.Context, client.SignRequest) (bool, error) { return true, nil }
	peerCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { peer.c.RunSign(peerCtx, info.ID, peer.key, keyID, peerKP, yes, nil) })
	defer func() { stop(); wg.Wait() }()

	proxy.requests("", "")
	proxy.setLie(lie(info.ID))
	asked := false
	_, verr := victim.c.RunSign(ctx, info.ID, victim.key, victimKeyID, kp, func(context.Context, client.SignRequest) (bool, error) {
		asked = true
		return true, nil
	}, nil)
	proxy.setLie(nil)
	if verr == nil {
		t.Fatal("the victim signed")
	}
	var rounds []string
	for _, r := range proxy.requests(http.MethodPost, "/v1/ceremonies/"+info.ID+"/rounds/") {
		rounds = append(rounds, r.path[strings.LastIndexByte(r.path, '/')+1:])
	}
	now, err := peer.c.Ceremony(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Round > 2 || now.Round == 2 && slices.Contains(now.Submitted, victim.fp) {
		t.Errorf("the server holds the victim's signature share: round %d, submitted %v", now.Round, now.Submitted)
	}
	if _, err := peer.c.CancelCeremony(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	return asked, rounds, verr
}

// ceremonyAnswers matches the answers that carry ceremony id's state: its
// GET (and long-poll) and its submissions.
func ceremonyAnswers(id string) func(string) bool {
	base := "/v1/ceremonies/" + id
	return func(p string) bool {
		return p == base || strings.HasPrefix(p, base+"/rounds/") && !strings.HasSuffix(p, "/inbox")
	}
}

// TestSignRefusesLyingServer: a signer checks what it signs against its own
// key share and the message it approved. A proxy that alters the message in
// the signing package, or names a key the share is not of, gets no
// signature share; a share of another identity is refused before approval.
func TestSignRefusesLyingServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	keyID, kps := dkg2(t, victim, peer)
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	message := []byte("pay 5 EUR to Bob")

	alter := func(id string) func(string, []byte) []byte {
		return rewriteJSON(t, ceremonyAnswers(id), func(_ string, info *chusme.CeremonyInfo) {
			if len(info.SigningPackage) == 0 {
				return
			}
			var pkg frost.SigningPackage
			if err := pkg.UnmarshalBinary(info.SigningPackage); err != nil {
				t.Errorf("proxy: %v", err)
				return
			}
			coms := map[frost.Identifier]*frost.SigningCommitments{}
			for _, id := range pkg.Identifiers() {
				coms[id], _ = pkg.Commitments(id)
			}
			forged, err := frost.NewSigningPackage(coms, []byte("pay 5000 EUR to Mallory"))
			if err != nil {
				t.Errorf("proxy: %v", err)
				return
			}
			info.SigningPackage, _ = forged.MarshalBinary()
		})
	}
	t.Run("altered_message_refused", func(t *testing.T) {
		asked, rounds, err := signAttack(t, proxy, v, peer, keyID, keyID, kps[0], kps[1], message, alter)
		if !errors.Is(err, client.ErrInconsistent) || !strings.Contains(err.Error(), "message") {
			t.Fatalf("RunSign = %v, want ErrInconsistent about the message", err)
		}
		if !asked || !slices.Equal(rounds, []string{"1"}) {
			t.Fatalf("asked %v, submitted rounds %v; want approval and the commitment only", asked, rounds)
		}
	})

	other := chusme.GroupKeyID(testkit.NewKey(t).Public().(ed25519.PublicKey))
	foreign := func(id string) func(string, []byte) []byte {
		return rewriteJSON(t, ceremonyAnswers(id), func(_ string, info *chusme.CeremonyInfo) { info.KeyID = other })
	}
	t.Run("foreign_key_refused", func(t *testing.T) {
		for _, asKey := range []string{keyID, other} {
			asked, rounds, err := signAttack(t, proxy, v, peer, keyID, asKey, kps[0], kps[1], message, foreign)
			if err == nil || !strings.Contains(err.Error(), other) || asked || len(rounds) != 0 {
				t.Fatalf("RunSign = %v (asked %v, submitted %v), want a refusal naming %s before approval", err, asked, rounds, other)
			}
		}
	})
	t.Run("share_of_another_identity_refused", func(t *testing.T) {
		asked, rounds, err := signAttack(t, proxy, v, peer, keyID, keyID, kps[1], kps[1], message, func(string) func(string, []byte) []byte { return nil })
		if err == nil || !strings.Contains(err.Error(), "is not "+v.fp+"'s") || asked || len(rounds) != 0 {
			t.Fatalf("RunSign = %v (asked %v, submitted %v), want a refusal naming the victim before approval", err, asked, rounds)
		}
	})
	t.Run("honest_proxy_signs", func(t *testing.T) {
		info, err := peer.c.StartSign(ctx, peer.key, keyID, message, nil)
		if err != nil {
			t.Fatal(err)
		}
		yes := func(context.Context, client.SignRequest) (bool, error) { return true, nil }
		var wg sync.WaitGroup
		var peerErr error
		wg.Go(func() { _, peerErr = peer.c.RunSign(ctx, info.ID, peer.key, keyID, kps[1], yes, nil) })
		sig, err := v.c.RunSign(ctx, info.ID, v.key, keyID, kps[0], yes, nil)
		wg.Wait()
		if err != nil || peerErr != nil || !ed25519.Verify(kps[0].VerifyingKey().Ed25519(), message, sig) {
			t.Fatalf("RunSign: victim %v, peer %v", err, peerErr)
		}
	})
}

// TestPeerKeyCache: back-to-back ceremonies among the same identities fetch
// each chain once; after a peer rotates, the package signed with its new
// key fails under the cached one, and the driver fetches that chain once
// more and goes on.
func TestPeerKeyCache(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	chains := func() []string {
		var fps []string
		for _, r := range proxy.requests(http.MethodGet, "/chain") {
			fps = append(fps, strings.Split(r.path, "/")[3])
		}
		slices.Sort(fps)
		return fps
	}
	both := []string{victim.fp, peer.fp}
	slices.Sort(both)
	proxy.requests("", "")
	for i, want := range [][]string{both, nil} {
		dkg2(t, peer, v)
		if got := chains(); !slices.Equal(got, want) {
			t.Fatalf("DKG %d fetched the chains of %v, want %v", i, got, want)
		}
	}
	peer.rotate(t)
	dkg2(t, peer, v)
	if got := chains(); !slices.Equal(got, []string{peer.fp}) {
		t.Fatalf("after the peer's rotation, DKG fetched the chains of %v, want the peer's only", got)
	}
}

// A client that has just rotated its identity's key refuses to run a
// ceremony with the replaced key: Rotate verified (and so remembered) the
// chain's old head, and must forget it, or the driver's own-key check would
// take the old key for the head and send packages the server refuses.
func TestOwnKeyAfterRotationRefused(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	a, b := register(t, s, true), register(t, s, false)
	oldKey, newKey := a.key, testkit.NewKey(t)
	if _, err := a.c.Rotate(ctx, a.fp, oldKey, newKey); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Login(ctx, newKey, client.LoginFingerprint(a.fp)); err != nil {
		t.Fatal(err)
	}
	info, err := a.c.StartDKG(ctx, newKey, 2, []string{a.fp, b.fp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.c.RunDKG(ctx, info.ID, oldKey, nil)
	wantPeerKeyError(t, err, a.fp, "not the identity's current key")
	if now, err := a.c.Ceremony(ctx, info.ID); err != nil || len(now.Submitted) != 0 {
		t.Fatalf("Ceremony = %+v, %v; want no submission", now, err)
	}
}
