package httpapi_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// Forged, replayed, out-of-order and malformed recovery statements are
// refused with their documented codes and change nothing in the store;
// the good ones take effect and revoke sessions.
func TestRecoveryOverHTTP(t *testing.T) {
	srv := servertest.Start(t, "--refresh-grace", "0")
	a := &api{t: t, srv: srv}
	_, k0 := a.adminAndUser()
	fp := testkit.Fingerprint(k0)
	r1, r2, k1 := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	base := "/v1/identities/" + fp
	now := time.Now().Unix()
	g := a.chain(fp)[0]
	dev := testkit.Public(k0)
	keysReq := func(signer ed25519.PrivateKey, list []ed25519.PrivateKey, added map[int]bool) chusme.RecoveryKeysRequest {
		return testkit.RecoveryKeysRequest(srv.URL, fp, g, dev, signer, list, added, now)
	}
	both := map[int]bool{0: true, 1: true}

	refuse := func(path string, body any, status int, code string) {
		t.Helper()
		before := snapshot(t, srv.DataDir)
		a.do("POST", base+path, "", body).Expect(t, status, code)
		if snapshot(t, srv.DataDir) != before {
			t.Fatalf("a refused %s changed the database", path)
		}
	}
	// Forged: a key's signature missing or wrong, another issuer's
	// statement, a stranger as signer.
	noProof := keysReq(k0, []ed25519.PrivateKey{r1, r2}, map[int]bool{0: true})
	refuse("/recovery-keys", noProof, 401, chusme.CodeInvalidSignature)
	badSigner := keysReq(k0, []ed25519.PrivateKey{r1, r2}, both)
	badSigner.Signature = ed25519.Sign(r1, []byte("something else"))
	refuse("/recovery-keys", badSigner, 401, chusme.CodeInvalidSignature)
	refuse("/recovery-keys", testkit.RecoveryKeysRequest("https://elsewhere.test", fp, g, dev, k0, []ed25519.PrivateKey{r1}, both, now), 401, chusme.CodeInvalidSignature)
	refuse("/recovery-keys", keysReq(k1, []ed25519.PrivateKey{r1}, both), 403, chusme.CodeNotRecoveryKey)
	refuse("/recoveries", testkit.RecoverRequest(srv.URL, fp, g, r1, dev, k1, now), 403, chusme.CodeNotRecoveryKey)
	// Out of order: a wrong seq or prev; a stale time.
	wrongSeq := keysReq(k0, []ed25519.PrivateKey{r1}, both)
	wrongSeq.Seq = 2
	refuse("/recovery-keys", wrongSeq, 409, chusme.CodeChainConflict)
	refuse("/recovery-keys", testkit.RecoveryKeysRequest(srv.URL, fp, chusme.ChainEntry{Hash: make([]byte, 32)}, dev, k0, []ed25519.PrivateKey{r1}, both, now), 409, chusme.CodeChainConflict)
	refuse("/recovery-keys", testkit.RecoveryKeysRequest(srv.URL, fp, g, dev, k0, []ed25519.PrivateKey{r1}, both, now-3600), 400, chusme.CodeInvalidRequest)
	// Malformed: unknown fields, bad keys, too many keys, lists that
	// don't match.
	refuse("/recovery-keys", `{"seq":1,"bogus":1}`, 400, chusme.CodeInvalidJSON)
	refuse("/recoveries", `{"seq":1}`, 400, chusme.CodeInvalidPublicKey)
	refuse("/recovery-keys", keysReq(k0, []ed25519.PrivateKey{r1, r2, k1, testkit.NewKey(t)}, map[int]bool{0: true, 1: true, 2: true, 3: true}), 400, chusme.CodeInvalidRequest)
	short := keysReq(k0, []ed25519.PrivateKey{r1, r2}, both)
	short.KeySignatures = short.KeySignatures[:1]
	refuse("/recovery-keys", short, 400, chusme.CodeInvalidRequest)
	refuse("/recovery-keys", keysReq(k0, []ed25519.PrivateKey{r1, k0}, both), 400, chusme.CodeInvalidRequest)
	badKey := keysReq(k0, []ed25519.PrivateKey{r1}, both)
	badKey.DeviceKey = []byte{1, 2, 3}
	refuse("/recovery-keys", badKey, 400, chusme.CodeInvalidPublicKey)

	// The good statement, then its replay.
	s0 := a.login(k0)
	good := keysReq(k0, []ed25519.PrivateKey{r1, r2}, both)
	var e1 chusme.ChainEntry
	a.ok(201, "POST", base+"/recovery-keys", "", good, &e1)
	if e1.Kind != chusme.EntryRecoveryKeys || len(e1.RecoveryKeys) != 2 {
		t.Fatalf("recovery-keys entry %+v", e1)
	}
	a.do("GET", "/v1/me", s0.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	refuse("/recovery-keys", good, 409, chusme.CodeChainConflict)

	// A device rotation, overridden by r2's recovery; a cancel of it by a
	// device key or by r2 is outranked, r1's is not.
	var e2, e3 chusme.ChainEntry
	a.ok(201, "POST", base+"/rotations", "", rotation(srv.URL, fp, e1, k0, k1), &e2)
	k2 := testkit.NewKey(t)
	rec := testkit.RecoverRequest(srv.URL, fp, e2, r2, testkit.Public(k1), k2, now)
	refuse("/recoveries", testkit.RecoverRequest(srv.URL, fp, e2, r2, dev, k2, now), 409, chusme.CodeChainConflict)
	forged := rec
	forged.NewSignature = forged.Signature
	refuse("/recoveries", forged, 401, chusme.CodeInvalidSignature)
	var s1 chusme.TokenResponse
	a.loginAs(fp, k1, "", "").Want(t, 200, &s1)
	a.ok(201, "POST", base+"/recoveries", "", rec, &e3)
	a.do("GET", "/v1/me", s1.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	refuse("/recoveries", rec, 409, chusme.CodeChainConflict)
	cancel := chusme.CancelRequest{Seq: e3.Seq + 1, Prev: e3.Hash, Time: now}
	cancel.Signature = ed25519.Sign(k1, chusme.CancelMessage(srv.URL, fp, cancel.Seq, e3.Seq, cancel.Prev, e3.NewKey, e3.OldKey, now))
	refuse("/rotations/3/cancel", cancel, 409, chusme.CodeOutranked)
	refuse("/rotations/3/cancel", testkit.RecoveryCancel(srv.URL, fp, e3, r2, now), 409, chusme.CodeOutranked)
	refuse("/rotations/3/cancel", testkit.RecoveryCancel(srv.URL, fp, e3, k2, now), 403, chusme.CodeNotRecoveryKey)
	refuse("/rotations/2/cancel", testkit.RecoveryCancel(srv.URL, fp, e3, r1, now), 409, chusme.CodeChainConflict)
	good1 := testkit.RecoveryCancel(srv.URL, fp, e3, r1, now)
	a.ok(201, "POST", base+"/rotations/3/cancel", "", good1, nil)
	refuse("/rotations/3/cancel", good1, 409, chusme.CodeChainConflict)
	if r := a.loginAs(fp, k1, "", ""); r.Status != 200 {
		t.Fatalf("login with the restored key: %d %s", r.Status, r.Body)
	}
}
