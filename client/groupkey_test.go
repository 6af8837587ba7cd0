package client_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

// TestGroupKeyRefusesLyingServer: a proxy in front of the real server
// rewrites GET /v1/keys/{id}; GroupKey accepts the honest answer and refuses
// every rewritten one with ErrWrongGroupKey, naming the key.
func TestGroupKeyRefusesLyingServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3) // an administrator, then the key's two participants
	user, userKey := ms[1].Client, ms[1].Key
	res := servertest.DKG(t, ms[1:], 2)
	keyID := res[0].KeyID
	honest, err := user.GroupKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}

	// The proxy rewrites every group key it relays.
	proxy := newLyingProxy(t, s.URL)
	viaProxy := newClient(t, proxy.URL, client.WithIssuer(s.URL))
	if _, err := viaProxy.Login(ctx, userKey); err != nil {
		t.Fatal(err)
	}

	t.Run("honest_answer_passes", func(t *testing.T) {
		got, err := viaProxy.GroupKey(ctx, keyID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.PublicKey, honest.PublicKey) || !bytes.Equal(got.PublicKeyPackage, honest.PublicKeyPackage) || got.Threshold != 2 {
			t.Fatalf("GroupKey through the proxy = %+v, want %+v", got, honest)
		}
	})
	otherPub := testkit.NewKey(t).Public().(ed25519.PublicKey)
	for name, f := range map[string]func(*chusme.GroupKeyInfo){
		"another_public_key": func(k *chusme.GroupKeyInfo) { k.PublicKey = chusme.Bytes(otherPub) },
		"another_key_entirely": func(k *chusme.GroupKeyInfo) {
			k.PublicKey, k.KeyID = chusme.Bytes(otherPub), chusme.GroupKeyID(otherPub)
		},
		"swapped_verifying_shares": func(k *chusme.GroupKeyInfo) {
			a, b := k.Participants[0], k.Participants[1]
			k.VerifyingShares[a], k.VerifyingShares[b] = k.VerifyingShares[b], k.VerifyingShares[a]
		},
		"another_verifying_share": func(k *chusme.GroupKeyInfo) { k.VerifyingShares[k.Participants[1]] = chusme.Bytes(otherPub) },
		"a_participant_twice":     func(k *chusme.GroupKeyInfo) { k.Participants[1] = k.Participants[0] },
		"another_threshold":       func(k *chusme.GroupKeyInfo) { k.Threshold = 1 },
		"truncated_package":       func(k *chusme.GroupKeyInfo) { k.PublicKeyPackage = k.PublicKeyPackage[:len(k.PublicKeyPackage)-1] },
	} {
		t.Run(name+"_refused", func(t *testing.T) {
			proxy.setLie(rewriteJSON(t, func(p string) bool { return strings.HasPrefix(p, "/v1/keys/") }, func(_ string, k *chusme.GroupKeyInfo) { f(k) }))
			defer proxy.setLie(nil)
			got, err := viaProxy.GroupKey(ctx, keyID)
			if !errors.Is(err, client.ErrWrongGroupKey) || !strings.Contains(err.Error(), keyID) {
				t.Fatalf("GroupKey = %v, want ErrWrongGroupKey naming %s", err, keyID)
			}
			if got.KeyID != "" || got.PublicKey != nil {
				t.Fatalf("GroupKey returned the refused key %+v", got)
			}
		})
	}

	// Lies about the certificate: ErrBadCertificate, naming the key and,
	// where one is to blame, the identity.
	forged := ed25519.Sign(testkit.NewKey(t), []byte("forged"))
	second := func(k *chusme.GroupKeyInfo) *chusme.GroupKeyConfirmation { return &k.Certificate.Confirmations[1] }
	for name, c := range map[string]struct {
		lie   func(*chusme.GroupKeyInfo)
		names string
	}{
		"no_certificate":        {func(k *chusme.GroupKeyInfo) { k.Certificate = nil }, ""},
		"a_signature_changed":   {func(k *chusme.GroupKeyInfo) { second(k).Signature[0] ^= 1 }, honest.Participants[1]},
		"a_signature_forged":    {func(k *chusme.GroupKeyInfo) { second(k).Signature = forged }, honest.Participants[1]},
		"a_confirmation_gone":   {func(k *chusme.GroupKeyInfo) { k.Certificate.Confirmations = k.Certificate.Confirmations[:1] }, ""},
		"another_transcript":    {func(k *chusme.GroupKeyInfo) { k.Certificate.Transcript[0] ^= 1 }, ""},
		"another_issuer":        {func(k *chusme.GroupKeyInfo) { k.Certificate.Issuer = "https://evil.example" }, ""},
		"another_ceremony":      {func(k *chusme.GroupKeyInfo) { k.Certificate.CeremonyID = "x" }, ""},
		"another_shares_hash":   {func(k *chusme.GroupKeyInfo) { k.Certificate.VerifyingSharesHash[0] ^= 1 }, ""},
		"a_head_not_in_chain":   {func(k *chusme.GroupKeyInfo) { second(k).HeadSeq = 5 }, ""},
		"confirmations_swapped": {func(k *chusme.GroupKeyInfo) { c := k.Certificate.Confirmations; c[0], c[1] = c[1], c[0] }, ""},
	} {
		t.Run(name+"_refused", func(t *testing.T) {
			proxy.setLie(rewriteJSON(t, func(p string) bool { return strings.HasPrefix(p, "/v1/keys/") }, func(_ string, k *chusme.GroupKeyInfo) { c.lie(k) }))
			defer proxy.setLie(nil)
			got, err := viaProxy.GroupKey(ctx, keyID)
			if !errors.Is(err, client.ErrBadCertificate) || !strings.Contains(err.Error(), keyID) || !strings.Contains(err.Error(), c.names) {
				t.Fatalf("GroupKey = %v, want ErrBadCertificate naming %s and %q", err, keyID, c.names)
			}
			if got.KeyID != "" || got.Certificate != nil {
				t.Fatalf("GroupKey returned the refused key %+v", got)
			}
		})
	}
}

// A participant that rotated its key before the DKG confirms at its
// rotated head (seq 1), with the new key; the certificate still verifies
// once that rotation is cancelled (the chain holds the head it confirmed,
// and that head's key), and another client checks every key against the
// chain it verifies and pins itself.
func TestCertificateAtRotatedHead(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3) // an administrator, then the key's two participants
	admin, user, userKey, other := ms[0].Client, ms[1].Client, ms[1].Key, ms[2]
	userFP := testkit.Fingerprint(userKey)
	newKey := testkit.NewKey(t)
	if _, err := user.Rotate(ctx, userFP, userKey, newKey); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Login(ctx, newKey, client.LoginFingerprint(userFP)); err != nil {
		t.Fatal(err)
	}
	me := &servertest.Member{Key: newKey, Fingerprint: userFP, Client: user}
	res := servertest.DKG(t, []*servertest.Member{me, other}, 2)
	if _, err := user.CancelRotation(ctx, userFP, userKey); err != nil {
		t.Fatal(err)
	}
	k, err := admin.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatalf("GroupKey after the rotation was cancelled: %v", err)
	}
	i := slices.Index(k.Participants, userFP)
	cf := k.Certificate.Confirmations[i]
	if cf.HeadSeq != 1 || !bytes.Equal(cf.PublicKey, newKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("the rotated participant's confirmation %+v, want head 1 and the new key", cf)
	}
}

// A certificate's confirmation or endorsement may name any device key
// current at its head, and no other: a lying server that rewrites one to
// name (and be signed by) a device key its identity added after that head,
// or one it removed before it, is refused with ErrBadCertificate naming
// the identity, though the rewritten generations verify offline.
func TestCertificateRefusesDeviceNotAtHead(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3) // an administrator, then the key's two participants
	removed := onDevice(t, s, ms[2])
	if _, err := ms[2].Client.RemoveDevice(ctx, ms[2].Fingerprint, client.LocalKey(ms[2].Key), removed.Key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	res := servertest.DKG(t, ms[1:], 2)
	servertest.KeyChange(t, ms[1:], res, 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh})
	added := onDevice(t, s, ms[1])
	keyID := res[0].KeyID
	gen1, err := ms[0].Client.GroupKeyGeneration(ctx, keyID, 1)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newLyingProxy(t, s.URL)
	for name, c := range map[string]struct {
		fp       string
		key      ed25519.PrivateKey
		endorser bool // the lie is in generation 2's endorsement, not its confirmation
	}{
		"a_confirmation_by_a_device_added_after_the_head":    {ms[1].Fingerprint, added.Key, false},
		"a_confirmation_by_a_device_removed_before_the_head": {ms[2].Fingerprint, removed.Key, false},
		"an_endorsement_by_a_device_added_after_the_head":    {ms[1].Fingerprint, added.Key, true},
		"an_endorsement_by_a_device_removed_before_the_head": {ms[2].Fingerprint, removed.Key, true},
		"the_honest_answer": {},
	} {
		t.Run(name, func(t *testing.T) {
			var lied chusme.GroupKeyInfo
			proxy.setLie(rewriteJSON(t, func(p string) bool { return strings.HasPrefix(p, "/v1/keys/") }, func(_ string, k *chusme.GroupKeyInfo) {
				if k.Generation != 2 || c.key == nil {
					return
				}
				cert, pub := k.Certificate, chusme.Bytes(c.key.Public().(ed25519.PublicKey))
				if c.endorser {
					e := &cert.Endorsements[slices.IndexFunc(cert.Endorsements, func(e chusme.GroupKeyConfirmation) bool { return e.Fingerprint == c.fp })]
					e.PublicKey, e.Signature = pub, ed25519.Sign(c.key, chusme.GroupKeyEndorseMessage(cert.Issuer, cert.CeremonyID, cert.Kind, c.fp, k.PublicKey, 1,
						gen1.Certificate.VerifyingSharesHash, cert.Transcript, cert.Threshold, k.Participants))
				} else {
					heads := make([]chusme.ParticipantHead, len(cert.Confirmations))
					for i, cf := range cert.Confirmations {
						heads[i] = chusme.ParticipantHead{Fingerprint: cf.Fingerprint, ChainHead: chusme.ChainHead{Seq: cf.HeadSeq, Hash: cf.HeadHash}}
					}
					cf := &cert.Confirmations[slices.Index(k.Participants, c.fp)]
					cf.PublicKey, cf.Signature = pub, ed25519.Sign(c.key, chusme.GroupKeyConfirmMessage(cert.Issuer, k.CeremonyID, k.PublicKey,
						cert.VerifyingSharesHash, cert.Transcript, k.Threshold, heads))
				}
				lied = *k
			}))
			defer proxy.setLie(nil)
			viaProxy := newClient(t, proxy.URL, client.WithIssuer(s.URL))
			if _, err := viaProxy.Login(ctx, ms[0].Key); err != nil {
				t.Fatal(err)
			}
			_, err := viaProxy.GroupKey(ctx, keyID)
			if c.key == nil {
				if err != nil {
					t.Fatalf("GroupKey of the honest answer: %v", err)
				}
				return
			}
			if err := chusme.VerifyGroupKeyLineage([]chusme.GroupKeyInfo{gen1, lied}, keys.Verify); err != nil {
				t.Fatalf("the rewritten generation does not verify offline: %v", err)
			}
			if !errors.Is(err, client.ErrBadCertificate) || !strings.Contains(err.Error(), keyID) || !strings.Contains(err.Error(), c.fp) {
				t.Fatalf("GroupKey = %v, want ErrBadCertificate naming %s and %s", err, keyID, c.fp)
			}
		})
	}
}
