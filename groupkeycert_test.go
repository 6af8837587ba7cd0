package chusme_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// certified builds a group key of two identities with a certificate both
// signed, as VerifyGroupKeyCertificate expects it.
func certified(t *testing.T) chusme.GroupKeyInfo {
	t.Helper()
	ks := []ed25519.PrivateKey{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))}
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32)).Public().(ed25519.PublicKey)
	k := chusme.GroupKeyInfo{
		KeyID: chusme.GroupKeyID(pub), PublicKey: chusme.Bytes(pub), Threshold: 2,
		VerifyingShares: map[string]chusme.Bytes{}, CeremonyID: "c1",
	}
	shares := map[string][]byte{}
	var heads []chusme.ParticipantHead
	for i, sk := range ks {
		fp := chusme.Fingerprint(sk.Public().(ed25519.PublicKey))
		k.Participants = append(k.Participants, fp)
		k.VerifyingShares[fp] = bytes.Repeat([]byte{byte(10 + i)}, 32)
		shares[fp] = k.VerifyingShares[fp]
		heads = append(heads, chusme.ParticipantHead{Fingerprint: fp, ChainHead: chusme.ChainHead{Seq: uint64(i), Hash: bytes.Repeat([]byte{byte(20 + i)}, 32)}})
	}
	cert := &chusme.GroupKeyCertificate{
		Issuer: "https://id.example", CeremonyID: "c1", Transcript: bytes.Repeat([]byte{7}, 32), Threshold: 2,
		VerifyingSharesHash: chusme.VerifyingSharesHash(k.Participants, shares),
	}
	msg := chusme.GroupKeyConfirmMessage(cert.Issuer, "c1", pub, cert.VerifyingSharesHash, cert.Transcript, 2, heads)
	for i, sk := range ks {
		cert.Confirmations = append(cert.Confirmations, chusme.GroupKeyConfirmation{
			Fingerprint: heads[i].Fingerprint, HeadSeq: heads[i].Seq, HeadHash: heads[i].Hash,
			PublicKey: chusme.Bytes(sk.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(sk, msg),
		})
	}
	k.Certificate = cert
	return k
}

// VerifyGroupKeyCertificate accepts a certificate both participants signed
// and refuses it with any part changed, saying what failed.
func TestVerifyGroupKeyCertificate(t *testing.T) {
	if err := chusme.VerifyGroupKeyCertificate(certified(t), keys.Verify); err != nil {
		t.Fatalf("the honest certificate: %v", err)
	}
	for name, c := range map[string]struct {
		spoil func(*chusme.GroupKeyInfo)
		want  string
	}{
		"no certificate":      {func(k *chusme.GroupKeyInfo) { k.Certificate = nil }, "none"},
		"another key id":      {func(k *chusme.GroupKeyInfo) { k.KeyID = chusme.GroupKeyID([]byte("x")) }, "key id"},
		"another public key":  {func(k *chusme.GroupKeyInfo) { k.PublicKey[0] ^= 1 }, "key id"},
		"another threshold":   {func(k *chusme.GroupKeyInfo) { k.Threshold = 1 }, "threshold"},
		"another ceremony":    {func(k *chusme.GroupKeyInfo) { k.CeremonyID = "c2" }, "ceremony"},
		"another share":       {func(k *chusme.GroupKeyInfo) { k.VerifyingShares[k.Participants[1]][0] ^= 1 }, "verifying-shares hash"},
		"a share missing":     {func(k *chusme.GroupKeyInfo) { delete(k.VerifyingShares, k.Participants[1]) }, "verifying-shares hash"},
		"a participant twice": {func(k *chusme.GroupKeyInfo) { k.Participants[1] = k.Participants[0] }, "twice"},
		"a confirmation gone": {func(k *chusme.GroupKeyInfo) { k.Certificate.Confirmations = k.Certificate.Confirmations[1:] }, "1 confirmations for 2"},
		"swapped": {func(k *chusme.GroupKeyInfo) {
			c := k.Certificate.Confirmations
			c[0], c[1] = c[1], c[0]
		}, "not participant"},
		"another issuer":     {func(k *chusme.GroupKeyInfo) { k.Certificate.Issuer = "https://evil.example" }, "does not verify"},
		"another transcript": {func(k *chusme.GroupKeyInfo) { k.Certificate.Transcript[0] ^= 1 }, "does not verify"},
		"another head":       {func(k *chusme.GroupKeyInfo) { k.Certificate.Confirmations[0].HeadSeq++ }, "does not verify"},
		"a short head hash": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[0].HeadHash = k.Certificate.Confirmations[0].HeadHash[:31]
		}, "not participant"},
		"a signature changed": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[1].Signature[63] ^= 1
		}, "signature of " + certified(t).Participants[1]},
		"another key signed": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[0].PublicKey = k.Certificate.Confirmations[1].PublicKey
		}, "signature of " + certified(t).Participants[0]},
	} {
		t.Run(name, func(t *testing.T) {
			k := certified(t)
			c.spoil(&k)
			err := chusme.VerifyGroupKeyCertificate(k, keys.Verify)
			if chusme.ErrorCode(err) != chusme.CodeInvalidPackage || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("VerifyGroupKeyCertificate = %v, want invalid_package saying %q", err, c.want)
			}
		})
	}
}

// The largest confirmation, of a 64-participant DKG, fits in a payload.
func TestLargestConfirmationFits(t *testing.T) {
	n := chusme.MaxCeremonyParticipants
	c := chusme.DKGConfirmation{Signature: make([]byte, 64), Transcript: make([]byte, 32),
		PublicKeyPackage: make([]byte, 2+2+32+2+n*64)} // version, t, group key, n, n × (identifier, share)
	for i := range n {
		fp := chusme.Fingerprint([]byte{byte(i)})
		c.Heads = append(c.Heads, chusme.ParticipantHead{Fingerprint: fp, ChainHead: chusme.ChainHead{Seq: uint64(i), Hash: make([]byte, 32)}})
	}
	p := chusme.DKGConfirmPayload(c)
	if len(p) > chusme.MaxCeremonyPayload {
		t.Fatalf("a %d-participant confirmation has %d bytes, over MaxCeremonyPayload (%d)", n, len(p), chusme.MaxCeremonyPayload)
	}
	got, ok := chusme.ParseDKGConfirmPayload(p)
	if !ok || len(got.Heads) != n || got.Heads[n-1].Fingerprint != c.Heads[n-1].Fingerprint || got.Heads[n-1].Seq != uint64(n-1) {
		t.Fatalf("ParseDKGConfirmPayload of a %d-participant confirmation: %v", n, ok)
	}
}
