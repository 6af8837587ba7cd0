package chusme_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// shareKey is a hand-built holder's signing share as the Ed25519 key of
// seed: a share signature is an Ed25519 signature under the verifying share.
func shareKey(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }

// shareSigned gives confirmation cf of statement its holder's share
// signature with share key sk.
func shareSigned(cf chusme.GroupKeyConfirmation, sk ed25519.PrivateKey, statement []byte) chusme.GroupKeyConfirmation {
	cf.ShareSignature = ed25519.Sign(sk, chusme.SharePossessionMessage(statement, cf.Fingerprint))
	return cf
}

// certified builds a group key of two identities with a certificate both
// signed, with their identity keys and their shares, as
// VerifyGroupKeyCertificate expects it.
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
		k.VerifyingShares[fp] = chusme.Bytes(shareKey(bytes.Repeat([]byte{byte(10 + i)}, 32)).Public().(ed25519.PublicKey))
		shares[fp] = k.VerifyingShares[fp]
		heads = append(heads, chusme.ParticipantHead{Fingerprint: fp, ChainHead: chusme.ChainHead{Seq: uint64(i), Hash: bytes.Repeat([]byte{byte(20 + i)}, 32)}})
	}
	cert := &chusme.GroupKeyCertificate{
		Issuer: "https://id.example", CeremonyID: "c1", Transcript: bytes.Repeat([]byte{7}, 32), Threshold: 2,
		VerifyingSharesHash: chusme.VerifyingSharesHash(k.Participants, shares),
	}
	msg := chusme.GroupKeyConfirmMessage(cert.Issuer, "c1", pub, cert.VerifyingSharesHash, cert.Transcript, 2, heads)
	for i, sk := range ks {
		cert.Confirmations = append(cert.Confirmations, shareSigned(chusme.GroupKeyConfirmation{
			Fingerprint: heads[i].Fingerprint, HeadSeq: heads[i].Seq, HeadHash: heads[i].Hash,
			PublicKey: chusme.Bytes(sk.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(sk, msg),
		}, shareKey(bytes.Repeat([]byte{byte(10 + i)}, 32)), msg))
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
		"a share signature changed": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[1].ShareSignature[63] ^= 1
		}, "share signature of " + certified(t).Participants[1]},
		"no share signature": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[0].ShareSignature = nil
		}, "share signature of " + certified(t).Participants[0]},
		"another share signed": {func(k *chusme.GroupKeyInfo) {
			k.Certificate.Confirmations[0].ShareSignature = k.Certificate.Confirmations[1].ShareSignature
		}, "share signature of " + certified(t).Participants[0]},
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
	c := chusme.DKGConfirmation{Signature: make([]byte, 64), ShareSignature: make([]byte, 64), Transcript: make([]byte, 32),
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

// lineKey is an identity of a hand-built lineage: its key and fingerprint.
type lineKey struct {
	sk ed25519.PrivateKey
	fp string
}

// lineKeys makes identities from seeds.
func lineKeys(seeds ...byte) []lineKey {
	var out []lineKey
	for _, s := range seeds {
		sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{s}, 32))
		out = append(out, lineKey{sk, chusme.Fingerprint(sk.Public().(ed25519.PublicKey))})
	}
	return out
}

// lineGroupKey is the public key of every hand-built generation.
var lineGroupKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{99}, 32)).Public().(ed25519.PublicKey)

// generation builds generation g of lineGroupKey, made by a ceremony of
// kind for holders with threshold t, every holder confirming at head g and
// every endorser of prev (nil for generation 1) endorsing at head g.
func generation(t *testing.T, prev *chusme.GroupKeyInfo, g, threshold int, kind string, holders, endorsers []lineKey) chusme.GroupKeyInfo {
	t.Helper()
	cid := "c" + string(rune('0'+g))
	k := chusme.GroupKeyInfo{KeyID: chusme.GroupKeyID(lineGroupKey), PublicKey: chusme.Bytes(lineGroupKey), Generation: g,
		Threshold: threshold, VerifyingShares: map[string]chusme.Bytes{}, CeremonyID: cid}
	shares := map[string][]byte{}
	var heads []chusme.ParticipantHead
	for i, h := range holders {
		k.Participants = append(k.Participants, h.fp)
		k.VerifyingShares[h.fp] = chusme.Bytes(shareKey(bytes.Repeat([]byte{byte(g), byte(i)}, 16)).Public().(ed25519.PublicKey))
		shares[h.fp] = k.VerifyingShares[h.fp]
		heads = append(heads, chusme.ParticipantHead{Fingerprint: h.fp, ChainHead: chusme.ChainHead{Seq: uint64(g), Hash: bytes.Repeat([]byte{byte(g)}, 32)}})
	}
	cert := &chusme.GroupKeyCertificate{Issuer: "https://id.example", CeremonyID: cid, Transcript: bytes.Repeat([]byte{byte(g)}, 32),
		Threshold: threshold, VerifyingSharesHash: chusme.VerifyingSharesHash(k.Participants, shares), Kind: kind}
	msg := chusme.GroupKeyConfirmMessage(cert.Issuer, cid, lineGroupKey, cert.VerifyingSharesHash, cert.Transcript, threshold, heads)
	for i, h := range holders {
		cert.Confirmations = append(cert.Confirmations, shareSigned(chusme.GroupKeyConfirmation{Fingerprint: h.fp, HeadSeq: heads[i].Seq,
			HeadHash: heads[i].Hash, PublicKey: chusme.Bytes(h.sk.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(h.sk, msg)},
			shareKey(bytes.Repeat([]byte{byte(g), byte(i)}, 16)), msg))
	}
	for _, e := range endorsers {
		m := chusme.GroupKeyEndorseMessage(cert.Issuer, cid, kind, e.fp, lineGroupKey, prev.Generation, prev.Certificate.VerifyingSharesHash,
			cert.Transcript, threshold, k.Participants)
		cert.Endorsements = append(cert.Endorsements, chusme.GroupKeyConfirmation{Fingerprint: e.fp, HeadSeq: uint64(g), HeadHash: bytes.Repeat([]byte{byte(g)}, 32),
			PublicKey: chusme.Bytes(e.sk.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(e.sk, m)})
	}
	k.Certificate = cert
	return k
}

// lineage builds a 2-of-3 DKG's key (A, B, C), refreshed without C, then
// reshared by A and B to 3-of-5 (B, D, E, F, G).
func lineage(t *testing.T) ([]chusme.GroupKeyInfo, []lineKey) {
	ks := lineKeys(1, 2, 3, 4, 5, 6, 7)
	a, b, c, d, e, f, g := ks[0], ks[1], ks[2], ks[3], ks[4], ks[5], ks[6]
	g1 := generation(t, nil, 1, 2, chusme.KindDKG, []lineKey{a, b, c}, nil)
	g2 := generation(t, &g1, 2, 2, chusme.KindRefresh, []lineKey{a, b}, []lineKey{a, b})
	g3 := generation(t, &g2, 3, 3, chusme.KindReshare, []lineKey{b, d, e, f, g}, []lineKey{a, b})
	return []chusme.GroupKeyInfo{g1, g2, g3}, ks
}

// VerifyGroupKeyLineage accepts a DKG's key refreshed and reshared by its
// holders, from generation 1 or from any later one taken as trusted, and
// refuses every lineage a server could make up or splice, saying why.
func TestVerifyGroupKeyLineage(t *testing.T) {
	gens, ks := lineage(t)
	for from := range gens {
		if err := chusme.VerifyGroupKeyLineage(gens[from:], keys.Verify); err != nil {
			t.Fatalf("the honest lineage from generation %d: %v", from+1, err)
		}
	}
	x, y, z := lineKeys(41)[0], lineKeys(42)[0], lineKeys(43)[0]
	a, b, c := ks[0], ks[1], ks[2]
	for name, tc := range map[string]struct {
		line func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo
		want string
	}{
		"a forged reshare to the server's identities, unendorsed": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindReshare, []lineKey{x, y, z}, nil)}
		}, "0 holders of it endorsed it, fewer than its threshold of 2"},
		"a forged reshare endorsed by its new holders": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindReshare, []lineKey{x, y, z}, []lineKey{x, y})}
		}, "endorser " + x.fp + " holds no share of generation 1"},
		"a reshare one dealer endorsed": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindReshare, []lineKey{a, x, y}, []lineKey{a})}
		}, "1 holders of it endorsed it, fewer than its threshold of 2"},
		"a dealer endorsing twice": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindReshare, []lineKey{a, x, y}, []lineKey{a, a})}
		}, "endorsed twice"},
		"a refresh with a newcomer": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindRefresh, []lineKey{a, b, x}, []lineKey{a, b, x})}
		}, "refresh participant " + x.fp + " holds no share"},
		"a refresh a participant did not endorse": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 2, chusme.KindRefresh, []lineKey{a, b, c}, []lineKey{a, b})}
		}, "2 endorsements for 3 refresh participants"},
		"a refresh changing the threshold": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], generation(t, &gens[0], 2, 3, chusme.KindRefresh, []lineKey{a, b, c}, []lineKey{a, b, c})}
		}, "changed the threshold"},
		"a generation skipped": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			return []chusme.GroupKeyInfo{gens[0], gens[2]}
		}, "it is generation 3"},
		"the holders' endorsements replayed onto the server's": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			forged := generation(t, &gens[0], 2, 2, chusme.KindReshare, []lineKey{x, y, z}, nil)
			forged.Certificate.Endorsements = gens[1].Certificate.Endorsements
			return []chusme.GroupKeyInfo{gens[0], forged}
		}, "the endorsement of " + a.fp + " does not verify"},
		"the kind changed": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[2].Certificate.Kind = chusme.KindRefresh
			return gens
		}, "a refresh changed the threshold"},
		"a DKG's certificate as a later generation": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[1].Certificate.Kind = chusme.KindDKG
			return gens
		}, "not of a refresh or reshare"},
		"generation 1 not a DKG's": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[0].Certificate.Kind = chusme.KindReshare
			return gens
		}, "not of a DKG"},
		"an endorsement at an older head": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[2].Certificate.Endorsements[0].HeadSeq = 1
			return gens
		}, "before the head 2 it confirmed generation 2 at"},
		"an endorsement's signature changed": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[2].Certificate.Endorsements[1].Signature[0] ^= 1
			return gens
		}, "the endorsement of " + b.fp + " does not verify"},
		"another issuer": {func(gens []chusme.GroupKeyInfo) []chusme.GroupKeyInfo {
			gens[1].Certificate.Issuer = "https://evil.example"
			return gens
		}, "does not verify"},
	} {
		t.Run(name, func(t *testing.T) {
			gens, _ := lineage(t)
			err := chusme.VerifyGroupKeyLineage(tc.line(gens), keys.Verify)
			if chusme.ErrorCode(err) != chusme.CodeInvalidPackage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("VerifyGroupKeyLineage = %v, want invalid_package saying %q", err, tc.want)
			}
		})
	}
}
