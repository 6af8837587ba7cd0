package client_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/keys"
)

// randomScalar is a uniform random scalar.
func randomScalar(t *testing.T) *edwards25519.Scalar {
	seed := make([]byte, 64)
	rand.Read(seed)
	s, err := edwards25519.NewScalar().SetUniformBytes(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// identifierScalar is the FROST identifier of fingerprint fp, as a scalar.
func identifierScalar(t *testing.T, fp string) (frost.Identifier, *edwards25519.Scalar) {
	id, err := frost.DeriveIdentifier([]byte(fp))
	if err != nil {
		t.Fatal(err)
	}
	x, err := edwards25519.NewScalar().SetCanonicalBytes(id.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return id, x
}

// groupSecret interpolates the secret of a 2-of-n key at 0 from the
// key packages of two holders (what no server holds: the lineage tests
// give it to the forger, to show the lineage check holds even then).
func groupSecret(t *testing.T, a, b *client.DKGResult) *edwards25519.Scalar {
	s := [2]*edwards25519.Scalar{}
	x := [2]*edwards25519.Scalar{}
	for i, r := range []*client.DKGResult{a, b} {
		var err error
		if s[i], err = edwards25519.NewScalar().SetCanonicalBytes(r.KeyPackage.SigningShare().Bytes()); err != nil {
			t.Fatal(err)
		}
		if x[i], err = edwards25519.NewScalar().SetCanonicalBytes(r.KeyPackage.Identifier().Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	// f(0) = (x1·s0 − x0·s1) / (x1 − x0)
	num := edwards25519.NewScalar().Subtract(edwards25519.NewScalar().Multiply(x[1], s[0]), edwards25519.NewScalar().Multiply(x[0], s[1]))
	den := edwards25519.NewScalar().Subtract(x[1], x[0])
	return edwards25519.NewScalar().Multiply(num, edwards25519.NewScalar().Invert(den))
}

// forgeGeneration makes up, as a compromised server can, generation g of
// key k (generation 1), made by a ceremony of kind, held 2-of-n by the
// identities owned: verifying shares on a line through k's public key K
// (Y_i = K + x_i·A), a public key package of them, and a certificate the
// owned identities all confirm at their current heads, each with a share
// signature. Without k's group secret (secret nil) the server knows the
// scalar of the first owned identity's share only (it picks it and
// interpolates A in the exponent), so it signs the other shares with
// random keys and the certificate does not verify; given the secret it
// knows every share and the certificate verifies. Each of endorsers (of
// owned) signs an endorsement too.
func forgeGeneration(t *testing.T, admin *client.Client, k chusme.GroupKeyInfo, g int, kind string, owned, endorsers []*servertest.Member,
	secret *edwards25519.Scalar) chusme.GroupKeyInfo {
	t.Helper()
	groupKey, err := new(edwards25519.Point).SetBytes(k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := frost.NewVerifyingKey(k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var a *edwards25519.Scalar    // the line's slope, if known: s_i = secret + x_i·a
	var slope *edwards25519.Point // A
	known := map[string]*frost.KeyPackage{}
	if secret != nil {
		a = randomScalar(t)
		slope = new(edwards25519.Point).ScalarBaseMult(a)
	} else {
		id, x := identifierScalar(t, owned[0].Fingerprint)
		s := randomScalar(t)
		y := new(edwards25519.Point).ScalarBaseMult(s)
		slope = new(edwards25519.Point).ScalarMult(edwards25519.NewScalar().Invert(x), new(edwards25519.Point).Subtract(y, groupKey))
		known[owned[0].Fingerprint] = keyPackage(t, id, s, vk)
	}
	f := chusme.GroupKeyInfo{KeyID: k.KeyID, PublicKey: k.PublicKey, Generation: g, Threshold: 2,
		Participants: servertest.Fingerprints(owned), VerifyingShares: map[string]chusme.Bytes{}, CeremonyID: rand.Text()[:16], CreatedAt: k.CreatedAt}
	shares := map[frost.Identifier]frost.VerifyingShare{}
	raw := map[string][]byte{}
	var heads []chusme.ParticipantHead
	for _, m := range owned {
		id, x := identifierScalar(t, m.Fingerprint)
		y := new(edwards25519.Point).Add(groupKey, new(edwards25519.Point).ScalarMult(x, slope))
		if secret != nil {
			known[m.Fingerprint] = keyPackage(t, id, edwards25519.NewScalar().MultiplyAdd(x, a, secret), vk)
		}
		if shares[id], err = frost.NewVerifyingShare(y.Bytes()); err != nil {
			t.Fatal(err)
		}
		f.VerifyingShares[m.Fingerprint], raw[m.Fingerprint] = y.Bytes(), y.Bytes()
		ch, err := admin.Chain(t.Context(), m.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, chusme.ParticipantHead{Fingerprint: m.Fingerprint, ChainHead: ch.Head()})
	}
	pkp, err := frost.NewPublicKeyPackage(vk, shares, 2)
	if err != nil {
		t.Fatal(err)
	}
	if f.PublicKeyPackage, err = pkp.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	cert := &chusme.GroupKeyCertificate{Issuer: k.Certificate.Issuer, CeremonyID: f.CeremonyID, Transcript: []byte(rand.Text() + rand.Text())[:32],
		Threshold: 2, VerifyingSharesHash: chusme.VerifyingSharesHash(f.Participants, raw), Kind: kind}
	msg := chusme.GroupKeyConfirmMessage(cert.Issuer, f.CeremonyID, f.PublicKey, cert.VerifyingSharesHash, cert.Transcript, 2, heads)
	for i, m := range owned {
		pub := chusme.Bytes(m.Key.Public().(ed25519.PublicKey))
		possession := chusme.SharePossessionMessage(msg, m.Fingerprint)
		_, stranger, _ := ed25519.GenerateKey(nil)
		shareSig := ed25519.Sign(stranger, possession) // the best it can do for a share it does not know
		if kp := known[m.Fingerprint]; kp != nil {
			if shareSig, err = kp.SignWithShare(nil, possession); err != nil {
				t.Fatal(err)
			}
		}
		cert.Confirmations = append(cert.Confirmations, chusme.GroupKeyConfirmation{Fingerprint: m.Fingerprint, HeadSeq: heads[i].Seq,
			HeadHash: heads[i].Hash, PublicKey: pub, Signature: ed25519.Sign(m.Key, msg), ShareSignature: shareSig})
		for _, e := range endorsers {
			if e == m {
				em := chusme.GroupKeyEndorseMessage(cert.Issuer, f.CeremonyID, cert.Kind, m.Fingerprint, f.PublicKey, g-1,
					k.Certificate.VerifyingSharesHash, cert.Transcript, 2, f.Participants)
				cert.Endorsements = append(cert.Endorsements, chusme.GroupKeyConfirmation{Fingerprint: m.Fingerprint, HeadSeq: heads[i].Seq,
					HeadHash: heads[i].Hash, PublicKey: pub, Signature: ed25519.Sign(m.Key, em)})
			}
		}
	}
	f.Certificate = cert
	err = chusme.VerifyGroupKeyCertificate(f, keys.Verify)
	if secret != nil && err != nil {
		t.Fatalf("the forged generation's certificate does not verify on its own: %v", err)
	}
	if secret == nil && (err == nil || !strings.Contains(err.Error(), "the share signature of "+owned[1].Fingerprint)) {
		t.Fatalf("the forged generation's certificate without the group secret: %v, want its second holder's share signature refused", err)
	}
	return f
}

// keyPackage is a 2-of-n key package of group key vk with share s.
func keyPackage(t *testing.T, id frost.Identifier, s *edwards25519.Scalar, vk frost.VerifyingKey) *frost.KeyPackage {
	share, err := frost.NewSigningShare(s.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := frost.NewKeyPackage(id, share, vk, 2)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// A server that makes up a generation 2 of a real 2-of-3 key, held by
// three identities it owns (their own valid confirmations, verifying
// shares that interpolate to the real key, and — as if it had learned the
// group secret — valid share signatures), is refused by a client that
// knew generation 1 and by one that never saw the key, whether the forged
// generation carries no endorsement or endorsements by its own holders; a
// made-up generation 1 is refused by a client that pinned the real one;
// no refusal moves the pin, and the honest answer passes again. Without
// the group secret (without_the_group_secret), a made-up generation 1 is
// refused even by a client that never saw the key.
func TestGroupKeyRefusesForgedGeneration(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 7) // an administrator, the key's three holders, the server's three identities
	holders, owned := ms[1:4], ms[4:7]
	res := servertest.DKG(t, holders, 2)
	keyID := res[0].KeyID
	secret := groupSecret(t, res[0], res[1])
	proxy := newLyingProxy(t, s.URL)
	login := func(c *client.Client) *client.Client {
		if _, err := c.Login(ctx, holders[0].Key); err != nil {
			t.Fatal(err)
		}
		return c
	}
	knew := login(newClient(t, proxy.URL, client.WithIssuer(s.URL)))
	first, err := knew.GroupKey(ctx, keyID)
	if err != nil || first.Generation != 1 {
		t.Fatalf("GroupKey before the lie: generation %d, %v", first.Generation, err)
	}
	for name, c := range map[string]struct {
		endorsers []*servertest.Member
		want      string
	}{
		"unendorsed":                  {nil, "0 holders of it endorsed it, fewer than its threshold of 2"},
		"endorsed_by_its_own_holders": {owned[:2], "endorser " + owned[0].Fingerprint + " holds no share of generation 1"},
	} {
		t.Run(name, func(t *testing.T) {
			forged := forgeGeneration(t, ms[0].Client, first, 2, chusme.KindReshare, owned, c.endorsers, secret)
			proxy.setLie(rewriteJSON(t, func(p string) bool { return p == "/v1/keys/"+keyID || p == "/v1/keys/"+keyID+"/generations/2" },
				func(_ string, k *chusme.GroupKeyInfo) { *k = forged }))
			defer proxy.setLie(nil)
			for who, cl := range map[string]*client.Client{"knew_generation_1": knew, "fresh": login(newClient(t, proxy.URL, client.WithIssuer(s.URL)))} {
				got, err := cl.GroupKey(ctx, keyID)
				if !errors.Is(err, client.ErrBadCertificate) || !strings.Contains(err.Error(), "generation 2 does not descend from generation 1") ||
					!strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s: GroupKey of the forged generation = %v, want ErrBadCertificate saying %q", who, err, c.want)
				}
				if got.KeyID != "" {
					t.Fatalf("%s: GroupKey returned the forged generation", who)
				}
			}
		})
	}
	// Another "generation 1" (a DKG by the server's identities) is all a
	// client that never saw the key has to go by; one that pinned the real
	// generation 1 refuses it.
	fork := forgeGeneration(t, ms[0].Client, first, 1, chusme.KindDKG, owned, nil, secret)
	proxy.setLie(rewriteJSON(t, func(p string) bool { return p == "/v1/keys/"+keyID }, func(_ string, k *chusme.GroupKeyInfo) { *k = fork }))
	if _, err := knew.GroupKey(ctx, keyID); !errors.Is(err, client.ErrBadCertificate) ||
		!strings.Contains(err.Error(), "the server's generation 1 is not the one this client verified and pinned") {
		t.Fatalf("GroupKey of another generation 1 = %v, want ErrBadCertificate", err)
	}
	proxy.setLie(nil)
	if k, err := knew.GroupKey(ctx, keyID); err != nil || k.Generation != 1 {
		t.Fatalf("GroupKey once the server tells the truth again: generation %d, %v", k.Generation, err)
	}
	// Without the group secret, the server can make the share signature of
	// the one share whose scalar it picked, not the others': a client that
	// never saw the key (no pin: trust on first use) refuses a made-up
	// generation 1, and a made-up generation 2, for the second holder's
	// share signature, and then accepts the real key.
	t.Run("without_the_group_secret", func(t *testing.T) {
		want := "the share signature of " + owned[1].Fingerprint + " does not verify under its verifying share"
		for g, kind := range map[int]string{1: chusme.KindDKG, 2: chusme.KindReshare} {
			forged := forgeGeneration(t, ms[0].Client, first, g, kind, owned, nil, nil)
			proxy.setLie(rewriteJSON(t, func(p string) bool {
				return p == "/v1/keys/"+keyID || p == fmt.Sprintf("/v1/keys/%s/generations/%d", keyID, g)
			}, func(_ string, k *chusme.GroupKeyInfo) { *k = forged }))
			got, err := login(newClient(t, proxy.URL, client.WithIssuer(s.URL))).GroupKey(ctx, keyID)
			if !errors.Is(err, client.ErrBadCertificate) || !strings.Contains(err.Error(), want) || got.KeyID != "" {
				t.Fatalf("a fresh client's GroupKey of a forged generation %d = %q, %v; want ErrBadCertificate saying %q", g, got.KeyID, err, want)
			}
		}
		proxy.setLie(nil)
		k, err := login(newClient(t, proxy.URL, client.WithIssuer(s.URL))).GroupKey(ctx, keyID)
		if err != nil || k.Generation != 1 || len(k.Certificate.Confirmations[0].ShareSignature) != 64 {
			t.Fatalf("a fresh client's GroupKey of the real key: %+v, %v", k, err)
		}
	})
}

// A real refresh and a real reshare (2-of-3 to 3-of-5) are accepted by
// clients that knew generation 1, each fetching only the generations it
// has not verified: one that still holds generation 1 fetches generation
// 2 alone, one that only has generation 1's pin (another process sharing
// the pin store) fetches 1, checked against the pin, and 2; a fresh
// client fetches 1 and 2; and the pin moves to generation 3. A reshare
// certificate cut to fewer endorsements than generation 2's threshold is
// refused.
func TestGroupKeyLineageIncremental(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 6) // an administrator, the key's three holders, two members who join
	res := servertest.DKG(t, ms[1:4], 2)
	keyID := res[0].KeyID
	proxy := newLyingProxy(t, s.URL)
	pins := &client.MemoryPinStore{}
	login := func(opts ...client.Option) *client.Client {
		c := newClient(t, proxy.URL, append(opts, client.WithIssuer(s.URL))...)
		if _, err := c.Login(ctx, ms[1].Key); err != nil {
			t.Fatal(err)
		}
		return c
	}
	fetches := func(c *client.Client, wantGeneration int, want ...string) {
		t.Helper()
		proxy.requests("GET", "") // forget what came before
		k, err := c.GroupKey(ctx, keyID)
		if err != nil || k.Generation != wantGeneration {
			t.Fatalf("GroupKey: generation %d, %v; want %d", k.Generation, err, wantGeneration)
		}
		var got []string
		for _, r := range proxy.requests("GET", "/generations/") {
			got = append(got, r.path[strings.LastIndex(r.path, "/")+1:])
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("GroupKey fetched generations %q, want %q", got, want)
		}
	}
	watcher, sharer := login(), login(client.WithPinStore(pins))
	fetches(watcher, 1)
	fetches(sharer, 1)

	refreshed := servertest.KeyChange(t, ms[1:4], res, 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh})
	servertest.KeyChange(t, ms[1:6], refreshed, 2, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, Threshold: 3,
		NewParticipants: servertest.Fingerprints(ms[1:6])})

	fetches(watcher, 3, "2")
	fetches(watcher, 3)
	fetches(login(client.WithPinStore(pins)), 3, "1", "2")
	fetches(login(), 3, "1", "2")
	pin, ok, err := pins.Load(ctx, s.URL, "group-key/"+keyID)
	if err != nil || !ok || pin.Seq != 3 {
		t.Fatalf("the key's pin: %+v, %v, %v; want generation 3", pin, ok, err)
	}

	proxy.setLie(rewriteJSON(t, func(p string) bool { return p == "/v1/keys/"+keyID }, func(_ string, k *chusme.GroupKeyInfo) {
		k.Certificate.Endorsements = k.Certificate.Endorsements[:1]
	}))
	defer proxy.setLie(nil)
	if _, err := login().GroupKey(ctx, keyID); !errors.Is(err, client.ErrBadCertificate) ||
		!strings.Contains(err.Error(), "generation 3 does not descend from generation 2: 1 holders of it endorsed it, fewer than its threshold of 2") {
		t.Fatalf("GroupKey of a reshare with one endorsement = %v, want ErrBadCertificate", err)
	}
}
