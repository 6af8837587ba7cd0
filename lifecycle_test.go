package chusme_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

const testIssuer = "https://chusme.test"

// sampleChain returns a valid chain: genesis, rotation, cancellation.
func sampleChain(t testing.TB) (string, []chusme.ChainEntry) {
	seed := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	k0, k1 := seed(1), seed(2)
	p0, p1 := k0.Public().(ed25519.PublicKey), k1.Public().(ed25519.PublicKey)
	fp := chusme.Fingerprint(p0)
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: p0, CreatedAt: at})
	r := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryRotate, Prev: g.Hash, OldKey: chusme.Bytes(p0), NewKey: chusme.Bytes(p1), Time: at.Unix() + 60, AcceptedAt: at}
	msg := r.Statement(testIssuer, fp)
	r.Signature, r.NewKeySignature = ed25519.Sign(k0, msg), ed25519.Sign(k1, msg)
	r.Hash = chusme.EntryHash(testIssuer, fp, r)
	c := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryCancel, Prev: r.Hash, OldKey: r.NewKey, NewKey: r.OldKey, Cancels: 1, Time: at.Unix() + 120, AcceptedAt: at}
	c.Signature = ed25519.Sign(k0, c.Statement(testIssuer, fp))
	c.Hash = chusme.EntryHash(testIssuer, fp, c)
	return fp, []chusme.ChainEntry{g, r, c}
}

// sampleRecoveryChain returns a valid chain of the same identity with the
// recovery kinds: genesis, two recovery keys, a recovery rotation by the
// second, and its cancellation by the first. It also returns the keys:
// genesis, new, first and second recovery key.
func sampleRecoveryChain(t testing.TB) (string, []chusme.ChainEntry, []ed25519.PrivateKey) {
	seed := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	k0, k1, r1, r2 := seed(1), seed(2), seed(3), seed(4)
	pub := func(k ed25519.PrivateKey) chusme.Bytes { return chusme.Bytes(k.Public().(ed25519.PublicKey)) }
	fp := chusme.Fingerprint(pub(k0))
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: pub(k0), CreatedAt: at})
	seal := func(e *chusme.ChainEntry, signer, newKey ed25519.PrivateKey, added ...ed25519.PrivateKey) {
		msg := e.Statement(testIssuer, fp)
		e.Signature = ed25519.Sign(signer, msg)
		if newKey != nil {
			e.NewKeySignature = ed25519.Sign(newKey, msg)
		}
		for _, k := range added {
			e.KeySignatures = append(e.KeySignatures, ed25519.Sign(k, msg))
		}
		e.Hash = chusme.EntryHash(testIssuer, fp, *e)
	}
	e1 := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryRecoveryKeys, Prev: g.Hash, OldKey: pub(k0), NewKey: pub(k0), Signer: pub(k0),
		RecoveryKeys: []chusme.Bytes{pub(r1), pub(r2)}, Time: at.Unix() + 60}
	seal(&e1, k0, nil, r1, r2)
	e2 := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryRecover, Prev: e1.Hash, OldKey: pub(k0), NewKey: pub(k1), Signer: pub(r2), Time: at.Unix() + 120}
	seal(&e2, r2, k1)
	e3 := chusme.ChainEntry{Seq: 3, Kind: chusme.EntryCancel, Prev: e2.Hash, OldKey: pub(k1), NewKey: pub(k0), Cancels: 2, Signer: pub(r1), Time: at.Unix() + 180}
	seal(&e3, r1, nil)
	return fp, []chusme.ChainEntry{g, e1, e2, e3}, []ed25519.PrivateKey{k0, k1, r1, r2}
}

// VerifyChain applies the recovery rules offline: the sample verifies, and
// the same entries signed by keys the rules don't allow are refused.
func TestVerifyChainRecovery(t *testing.T) {
	fp, es, ks := sampleRecoveryChain(t)
	got, err := chusme.VerifyChainKeys(testIssuer, fp, es, keys.CheckPublicKey, keys.Verify)
	if err != nil || !bytes.Equal(got.Devices[0], es[0].NewKey) || len(got.Recovery) != 2 {
		t.Fatalf("VerifyChainKeys = %+v, %v", got, err)
	}
	resign := func(e chusme.ChainEntry, signer ed25519.PrivateKey) chusme.ChainEntry {
		e.Signature = ed25519.Sign(signer, e.Statement(testIssuer, fp))
		e.Hash = chusme.EntryHash(testIssuer, fp, e)
		return e
	}
	for name, chain := range map[string][]chusme.ChainEntry{
		"a device key cancels the recovery": func() []chusme.ChainEntry {
			c := es[3]
			c.Signer = nil
			return append(es[:3:3], resign(c, ks[0]))
		}(),
		"the second key cancels its own recovery": func() []chusme.ChainEntry {
			c := es[3]
			c.Signer = chusme.Bytes(ks[3].Public().(ed25519.PublicKey))
			return append(es[:3:3], resign(c, ks[3]))
		}(),
		"a proof of possession is missing": func() []chusme.ChainEntry {
			e := es[1]
			e.KeySignatures = []chusme.Bytes{e.KeySignatures[0], nil}
			e.Hash = chusme.EntryHash(testIssuer, fp, e)
			return []chusme.ChainEntry{es[0], e}
		}(),
		"a recovery by a key not registered": func() []chusme.ChainEntry {
			e := es[2]
			e.Prev = es[0].Hash
			e.Seq = 1
			e.NewKeySignature = ed25519.Sign(ks[1], e.Statement(testIssuer, fp))
			return []chusme.ChainEntry{es[0], resign(e, ks[3])}
		}(),
	} {
		if _, err := chusme.VerifyChain(testIssuer, fp, chain, keys.CheckPublicKey, keys.Verify); chusme.ErrorCode(err) != chusme.CodeChainConflict {
			t.Errorf("%s: VerifyChain = %v, want %s", name, err, chusme.CodeChainConflict)
		}
	}
}

func TestVerifyChainSample(t *testing.T) {
	fp, es := sampleChain(t)
	cur, err := chusme.VerifyChain(testIssuer, fp, es, keys.CheckPublicKey, keys.Verify)
	if err != nil || !bytes.Equal(cur, es[0].NewKey) {
		t.Fatalf("VerifyChain = %x, %v", cur, err)
	}
	if cur, err := chusme.VerifyChain(testIssuer, fp, es[:2], keys.CheckPublicKey, keys.Verify); err != nil || !bytes.Equal(cur, es[1].NewKey) {
		t.Fatalf("VerifyChain of the prefix = %x, %v", cur, err)
	}
	// A cancellation too late (on the signed times) is refused.
	late := es[2]
	late.Time = es[1].Time + int64((chusme.RotationCancelWindow+2*chusme.MaxStatementSkew)/time.Second) + 1
	if _, err := chusme.VerifyChain(testIssuer, fp, []chusme.ChainEntry{es[0], es[1], late}, keys.CheckPublicKey, keys.Verify); err == nil {
		t.Fatal("a late cancellation verified")
	}
}

func TestChainHead(t *testing.T) {
	fp, es := sampleChain(t)
	h := chusme.ChainResponse{Fingerprint: fp, Entries: es}.Head()
	if h.Seq != 2 || !bytes.Equal(h.Hash, es[2].Hash) {
		t.Fatalf("Head = %+v, want seq 2 and the cancellation's hash", h)
	}
	if got := (chusme.ChainResponse{}).Head(); got.Seq != 0 || got.Hash != nil {
		t.Fatalf("Head of no chain = %+v", got)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back chusme.ChainHead
	if err := json.Unmarshal(b, &back); err != nil || back.Seq != h.Seq || !bytes.Equal(back.Hash, h.Hash) || !bytes.Contains(b, []byte(`"seq":2,"hash":"`)) {
		t.Fatalf("JSON %s round trip = %+v, %v", b, back, err)
	}
	if s := h.String(); s != fmt.Sprintf("seq 2 hash %x…", es[2].Hash[:8]) {
		t.Fatalf("String = %q", s)
	}
}

// FuzzVerifyChain feeds JSON chains to VerifyChain: it never panics, and a
// chain it accepts verifies again to the same key after a JSON round trip.
func FuzzVerifyChain(f *testing.F) {
	fp, es := sampleChain(f)
	good, _ := json.Marshal(es)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"seq":1`), []byte(`"seq":2`), 1))
	f.Add([]byte(`[{"seq":0,"kind":"genesis","new_key":"","time":0,"hash":"","accepted_at":"2026-01-01T00:00:00Z"}]`))
	rfp, res, _ := sampleRecoveryChain(f)
	if rfp != fp {
		f.Fatal("the sample chains are of different identities")
	}
	rec, _ := json.Marshal(res)
	f.Add(rec)
	f.Add(bytes.Replace(rec, []byte(`"kind":"recover"`), []byte(`"kind":"rotate"`), 1))
	dc := newDeviceChain(f)
	if dc.fp != fp {
		f.Fatal("the device chain is of another identity")
	}
	dc.must(dc.add(seedKey(1), seedKey(2)))
	dc.must(dc.remove(seedKey(2), pubOf(seedKey(1))))
	dev, _ := json.Marshal(dc.entries)
	f.Add(dev)
	f.Add(bytes.Replace(dev, []byte(`"kind":"device_remove"`), []byte(`"kind":"device_add"`), 1))
	f.Add(bytes.Replace(dev, []byte(`"join_time":`), []byte(`"join_time":1`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []chusme.ChainEntry
		if json.Unmarshal(data, &in) != nil {
			return
		}
		cur, err := chusme.VerifyChain(testIssuer, fp, in, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			if chusme.ErrorCode(err) != chusme.CodeChainConflict {
				t.Fatalf("error code %q", chusme.ErrorCode(err))
			}
			return
		}
		again, _ := json.Marshal(in)
		var back []chusme.ChainEntry
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatal(err)
		}
		cur2, err := chusme.VerifyChain(testIssuer, fp, back, keys.CheckPublicKey, keys.Verify)
		if err != nil || !bytes.Equal(cur, cur2) {
			t.Fatalf("round trip changed the verdict: %v", err)
		}
	})
}

// ParseRecoveryStatement reads back what each builder wrote, and refuses
// every other text: a rotation, a cut or lengthened statement, a wrong
// count of recovery keys.
func TestParseRecoveryStatement(t *testing.T) {
	b := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	keys := []chusme.Bytes{b(1, 32), b(2, 32)}
	cases := []struct {
		msg  []byte
		want chusme.ChainEntry
	}{
		{chusme.RecoverMessage("iss", "fp", 7, b(3, 32), b(4, 32), b(5, 32), b(6, 32), 1700000000),
			chusme.ChainEntry{Kind: chusme.EntryRecover, Seq: 7, Prev: b(3, 32), Signer: b(4, 32), OldKey: b(5, 32), NewKey: b(6, 32), Time: 1700000000}},
		{chusme.RecoveryKeysMessage("iss", "fp", 2, b(3, 32), b(4, 32), b(5, 32), keys, -5),
			chusme.ChainEntry{Kind: chusme.EntryRecoveryKeys, Seq: 2, Prev: b(3, 32), Signer: b(4, 32), NewKey: b(5, 32), RecoveryKeys: keys, Time: -5}},
		{chusme.RecoveryKeysMessage("iss", "fp", 2, b(3, 32), b(4, 32), b(5, 32), nil, 9),
			chusme.ChainEntry{Kind: chusme.EntryRecoveryKeys, Seq: 2, Prev: b(3, 32), Signer: b(4, 32), NewKey: b(5, 32), Time: 9}},
		{chusme.DeviceRemoveMessage("iss", "fp", 5, b(3, 32), b(4, 32), b(5, 32), 12),
			chusme.ChainEntry{Kind: chusme.EntryDeviceRemove, Seq: 5, Prev: b(3, 32), Signer: b(4, 32), OldKey: b(5, 32), Time: 12}},
		{chusme.RecoveryCancelMessage("iss", "fp", 4, 3, b(3, 32), b(4, 32), b(5, 32), b(6, 32), 11),
			chusme.ChainEntry{Kind: chusme.EntryCancel, Seq: 4, Cancels: 3, Prev: b(3, 32), Signer: b(4, 32), OldKey: b(5, 32), NewKey: b(6, 32), Time: 11}},
	}
	for _, c := range cases {
		iss, fp, e, err := chusme.ParseRecoveryStatement(c.msg)
		if err != nil || iss != "iss" || fp != "fp" || !reflect.DeepEqual(e, c.want) {
			t.Errorf("ParseRecoveryStatement(%s) = %q %q %+v, %v; want %+v", c.want.Kind, iss, fp, e, err, c.want)
		}
		for _, bad := range [][]byte{c.msg[:len(c.msg)-1], append(bytes.Clone(c.msg), 0), c.msg[:len(c.msg)-12]} {
			if _, _, _, err := chusme.ParseRecoveryStatement(bad); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
				t.Errorf("%s changed: err = %v", c.want.Kind, err)
			}
		}
	}
	miscounted := chusme.RecoveryKeysMessage("iss", "fp", 3, b(3, 32), b(4, 32), b(5, 32), keys, 9)
	miscounted[bytes.Index(miscounted, []byte{0, 0, 0, 0, 0, 0, 0, 2})+7] = 1
	for _, bad := range [][]byte{nil, []byte("chusme"), miscounted,
		chusme.RotationMessage("iss", "fp", 1, b(3, 32), b(5, 32), b(6, 32), 1)} {
		if _, _, _, err := chusme.ParseRecoveryStatement(bad); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
			t.Errorf("ParseRecoveryStatement(%q) err = %v", bad, err)
		}
	}
}
