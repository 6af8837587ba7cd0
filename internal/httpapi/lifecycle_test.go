package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

// loginAs runs challenge → token for identity fp with key k and an optional
// TOTP code, returning the raw reply of the token request.
func (a *api) loginAs(fp string, k ed25519.PrivateKey, code, recovery string) testkit.Reply {
	a.t.Helper()
	var c chusme.ChallengeResponse
	a.ok(200, "POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: fp}, &c)
	req := testkit.TokenRequest(a.srv.URL, k, c.ChallengeID, c.Nonce)
	req.TOTPCode, req.RecoveryCode = code, recovery
	return a.do("POST", "/v1/auth/token", "", req)
}

// raw sends a request with a raw body and extra headers.
func (a *api) raw(method, path, token string, body []byte, hdr map[string]string) testkit.Reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return testkit.Send(a.t, req)
}

func TestTOTPOverHTTP(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	tok := a.login(admin).AccessToken
	fp := testkit.Fingerprint(admin)

	a.do("POST", "/v1/me/totp", "", nil).Expect(t, 401, chusme.CodeUnauthorized)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: "123456", Signature: make([]byte, 64)}).Expect(t, 409, chusme.CodeTOTPNotEnabled)
	var en chusme.TOTPEnrolment
	a.ok(201, "POST", "/v1/me/totp", tok, nil, &en)
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != en.Secret || !strings.Contains(u.Path, fp) || u.Query().Get("issuer") == "" {
		t.Fatalf("enrolment URI %q", en.URI)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(admin, chusme.TOTPConfirmMessage(srv.URL, fp, secret))
	// Bad confirmations change nothing: a wrong code, no or a wrong
	// signature (an access token alone can't turn TOTP on), bad JSON.
	before := snapshot(t, srv.DataDir)
	now := auth.TOTPCode(secret, time.Now())
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: "000000", Signature: sig}).Expect(t, 401, chusme.CodeTOTPInvalid)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now}).Expect(t, 400, chusme.CodeInvalidRequest)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now, Signature: ed25519.Sign(testkit.NewKey(t), chusme.TOTPConfirmMessage(srv.URL, fp, secret))}).Expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now, Signature: ed25519.Sign(admin, chusme.TOTPConfirmMessage("https://other.test", fp, secret))}).Expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", "/v1/me/totp/confirm", tok, `{"code":"1","extra":1}`).Expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/me/totp/confirm", tok, `{"code":"1","recovery_code":"x"}`).Expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{}).Expect(t, 400, chusme.CodeInvalidRequest)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused confirmation changed the database")
	}
	// Until confirmed, login needs no code.
	a.loginAs(fp, admin, "", "")
	var conf chusme.TOTPConfirmation
	a.ok(200, "POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: auth.TOTPCode(secret, time.Now()), Signature: sig}, &conf)
	if len(conf.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes", len(conf.RecoveryCodes))
	}
	a.do("POST", "/v1/me/totp", tok, nil).Expect(t, 409, chusme.CodeTOTPEnabled)

	a.loginAs(fp, admin, "", "").Expect(t, 401, chusme.CodeTOTPRequired)
	a.loginAs(fp, admin, "999999", "").Expect(t, 401, chusme.CodeTOTPInvalid)
	// The confirming code (or any code of a step not after it) is spent;
	// the next step's code works, once.
	next := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod))
	if r := a.loginAs(fp, admin, next, ""); r.Status != 200 {
		t.Fatalf("login with the next step's code: %d %s", r.Status, r.Body)
	}
	a.loginAs(fp, admin, next, "").Expect(t, 401, chusme.CodeTOTPInvalid)
	// A recovery code works once.
	if r := a.loginAs(fp, admin, "", conf.RecoveryCodes[3]); r.Status != 200 {
		t.Fatalf("login with a recovery code: %d %s", r.Status, r.Body)
	}
	a.loginAs(fp, admin, "", conf.RecoveryCodes[3]).Expect(t, 401, chusme.CodeTOTPInvalid)

	// The secret is nowhere in the database files.
	var files []byte
	for _, f := range []string{"chusme.db", "chusme.db-wal"} {
		b, err := os.ReadFile(filepath.Join(srv.DataDir, f))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	if bytes.Contains(files, secret) || bytes.Contains(files, []byte(en.Secret)) {
		t.Fatal("the TOTP secret is stored in clear")
	}
	if strings.Contains(srv.Logs(), en.Secret) || strings.Contains(srv.Logs(), conf.RecoveryCodes[0]) {
		t.Fatal("a TOTP secret or recovery code was logged")
	}

	// Disabling needs a code; a recovery code will do.
	before = snapshot(t, srv.DataDir)
	a.do("DELETE", "/v1/me/totp", tok, nil).Expect(t, 400, chusme.CodeInvalidRequest)
	a.do("DELETE", "/v1/me/totp", tok, chusme.TOTPCodeRequest{Code: "000000"}).Expect(t, 401, chusme.CodeTOTPInvalid)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused disable changed the database")
	}
	a.ok(204, "DELETE", "/v1/me/totp", tok, chusme.TOTPCodeRequest{RecoveryCode: conf.RecoveryCodes[0]}, nil)
	if r := a.loginAs(fp, admin, "", ""); r.Status != 200 {
		t.Fatalf("login after disabling: %d %s", r.Status, r.Body)
	}
}

func TestBlobOverHTTP(t *testing.T) {
	srv := servertest.Start(t, "--rate-blob", "10/m:10")
	a := &api{t: t, srv: srv}
	adminTok, user := a.adminAndUser()
	userTok := a.login(user).AccessToken
	path := "/v1/identities/" + testkit.Fingerprint(user) + "/blob"
	octet := map[string]string{"Content-Type": "application/octet-stream"}
	with := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/octet-stream", k: v}
	}

	a.do("GET", path, "", nil).Expect(t, 404, chusme.CodeNotFound) // 1
	before := snapshot(t, srv.DataDir)
	a.raw("PUT", path, userTok, []byte("v1"), octet).Expect(t, 428, chusme.CodePreconditionRequired)
	a.raw("PUT", path, "", []byte("v1"), with("If-None-Match", "*")).Expect(t, 401, chusme.CodeUnauthorized)
	a.raw("PUT", path, adminTok, []byte("v1"), with("If-None-Match", "*")).Expect(t, 403, chusme.CodeForbidden)
	a.raw("PUT", path, userTok, []byte("v1"), with("If-Match", `"abc"`)).Expect(t, 412, chusme.CodePreconditionFailed)
	a.raw("PUT", path, userTok, bytes.Repeat([]byte{1}, chusme.MaxBlobSize+1), with("If-None-Match", "*")).Expect(t, 413, chusme.CodeBodyTooLarge)
	a.raw("PUT", path, userTok, []byte("v1"), map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}).Expect(t, 400, chusme.CodeInvalidRequest)
	a.raw("PUT", path, userTok, nil, with("If-None-Match", "*")).Expect(t, 400, chusme.CodeInvalidRequest)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused blob write changed the database")
	}

	full := bytes.Repeat([]byte{7}, chusme.MaxBlobSize)
	r := a.raw("PUT", path, userTok, full, with("If-None-Match", "*"))
	if r.Status != 201 || r.Header.Get("ETag") == "" {
		t.Fatalf("first write: %d %s", r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	a.raw("PUT", path, userTok, []byte("again"), with("If-None-Match", "*")).Expect(t, 412, chusme.CodePreconditionFailed)

	// Two writers holding the same ETag: exactly one wins.
	var wg sync.WaitGroup
	replies := make([]testkit.Reply, 2)
	for i := range replies {
		wg.Go(func() {
			replies[i] = a.raw("PUT", path, userTok, []byte{byte('a' + i)}, with("If-Match", etag))
		})
	}
	wg.Wait()
	wins := 0
	var winner []byte
	for i, r := range replies {
		switch r.Status {
		case 200:
			wins++
			winner = []byte{byte('a' + i)}
		case 412:
			r.Expect(t, 412, chusme.CodePreconditionFailed)
		default:
			t.Fatalf("writer %d: %d %s", i, r.Status, r.Body)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want 1", wins)
	}

	// Public read with its ETag; requests 2 to 10 of this minute.
	g := a.do("GET", path, "", nil) // 2
	if g.Status != 200 || !bytes.Equal(g.Body, winner) || g.Header.Get("Content-Type") != "application/octet-stream" ||
		g.Header.Get("ETag") != `"`+strings.Trim(g.Header.Get("ETag"), `"`)+`"` {
		t.Fatalf("GET blob: %d %q %v", g.Status, g.Body, g.Header)
	}
	if nm := a.raw("GET", path, "", nil, map[string]string{"If-None-Match": g.Header.Get("ETag")}); nm.Status != 304 { // 3
		t.Fatalf("conditional GET: %d", nm.Status)
	}
	for range 7 { // 4 … 10
		if r := a.do("GET", path, "", nil); r.Status != 200 {
			t.Fatalf("GET within the limit: %d %s", r.Status, r.Body)
		}
	}
	r11 := a.do("GET", path, "", nil)
	r11.Expect(t, 429, chusme.CodeRateLimited)
	if r11.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Writes are not behind the read limit.
	if r := a.raw("PUT", path, userTok, []byte("z"), with("If-Match", g.Header.Get("ETag"))); r.Status != 200 {
		t.Fatalf("write after the read limit: %d %s", r.Status, r.Body)
	}
}

// rotation signs a rotation of fp from old to next on top of head.
func rotation(issuer, fp string, head chusme.ChainEntry, old, next ed25519.PrivateKey) chusme.RotationRequest {
	r := chusme.RotationRequest{Seq: head.Seq + 1, Prev: head.Hash, OldKey: testkit.Public(old), NewKey: testkit.Public(next), Time: time.Now().Unix()}
	msg := chusme.RotationMessage(issuer, fp, r.Seq, r.Prev, r.OldKey, r.NewKey, r.Time)
	r.OldSignature, r.NewSignature = ed25519.Sign(old, msg), ed25519.Sign(next, msg)
	return r
}

func (a *api) chain(fp string) []chusme.ChainEntry {
	a.t.Helper()
	var c chusme.ChainResponse
	a.ok(200, "GET", "/v1/identities/"+fp+"/chain", "", nil, &c)
	if c.Fingerprint != fp || c.Issuer != a.srv.URL {
		a.t.Fatalf("chain header %s %s", c.Fingerprint, c.Issuer)
	}
	return c.Entries
}

func TestRotationOverHTTP(t *testing.T) {
	srv := servertest.Start(t, "--refresh-grace", "0")
	a := &api{t: t, srv: srv}
	_, k0 := a.adminAndUser()
	fp := testkit.Fingerprint(k0)
	k1, k2 := testkit.NewKey(t), testkit.NewKey(t)
	s0 := a.login(k0)
	base := "/v1/identities/" + fp + "/rotations"

	es := a.chain(fp)
	if len(es) != 1 || es[0].Kind != chusme.EntryGenesis {
		t.Fatalf("new chain %+v", es)
	}
	// Refused statements change nothing.
	before := snapshot(t, srv.DataDir)
	onlyOld := rotation(srv.URL, fp, es[0], k0, k1)
	onlyOld.NewSignature = onlyOld.OldSignature
	a.do("POST", base, "", onlyOld).Expect(t, 401, chusme.CodeInvalidSignature)
	wrongSeq := rotation(srv.URL, fp, chusme.ChainEntry{Seq: 1, Hash: es[0].Hash}, k0, k1)
	a.do("POST", base, "", wrongSeq).Expect(t, 409, chusme.CodeChainConflict)
	wrongPrev := rotation(srv.URL, fp, chusme.ChainEntry{Seq: 0, Hash: bytes.Repeat([]byte{1}, 32)}, k0, k1)
	a.do("POST", base, "", wrongPrev).Expect(t, 409, chusme.CodeChainConflict)
	a.do("POST", base, "", `{"seq":1}`).Expect(t, 400, chusme.CodeInvalidPublicKey)
	a.do("POST", base, "", `{"seq":1,"bogus":true}`).Expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/identities/"+strings.Repeat("0", 64)+"/rotations", "", rotation(srv.URL, strings.Repeat("0", 64), es[0], k0, k1)).Expect(t, 404, chusme.CodeNotFound)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused rotation changed the database")
	}

	// The rotation takes effect at once.
	var e1 chusme.ChainEntry
	a.ok(201, "POST", base, "", rotation(srv.URL, fp, es[0], k0, k1), &e1)
	a.do("GET", "/v1/me", s0.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: s0.RefreshToken}).Expect(t, 401, chusme.CodeSessionRevoked)
	// The old key's login says it was replaced, when, and what to do.
	old := a.loginAs(fp, k0, "", "")
	old.Expect(t, 401, chusme.CodeKeyRotated)
	if d := old.Problem(t).Detail; !strings.Contains(d, e1.AcceptedAt.Add(chusme.RotationCancelWindow).UTC().Format(time.RFC3339)) ||
		!strings.Contains(d, "chusme rotate cancel") || !strings.Contains(d, "chusme recover") {
		t.Fatalf("key_rotated detail %q: want the window's end and both ways out", d)
	}
	a.loginAs(fp, testkit.NewKey(t), "", "").Expect(t, 401, chusme.CodeInvalidSignature)
	var s1 chusme.TokenResponse
	if r := a.loginAs(fp, k1, "", ""); r.Status != 200 {
		t.Fatalf("login with the new key: %d %s", r.Status, r.Body)
	} else if err := json.Unmarshal(r.Body, &s1); err != nil {
		t.Fatal(err)
	}
	var info chusme.IdentityInfo
	a.ok(200, "GET", "/v1/identities/"+fp, "", nil, &info)
	if !bytes.Equal(info.PublicKey, testkit.Public(k1)) || info.Fingerprint != fp {
		t.Fatalf("identity after rotation %+v", info)
	}
	// Replaying it, or rotating again while it is cancellable, is refused.
	a.do("POST", base, "", rotation(srv.URL, fp, es[0], k0, k1)).Expect(t, 409, chusme.CodeChainConflict)
	a.do("POST", base, "", rotation(srv.URL, fp, e1, k1, k2)).Expect(t, 409, chusme.CodeRotationPending)

	// Cancel: signed by the old key only.
	cancel := func(signer ed25519.PrivateKey) chusme.CancelRequest {
		c := chusme.CancelRequest{Seq: e1.Seq + 1, Prev: e1.Hash, Time: time.Now().Unix()}
		c.Signature = ed25519.Sign(signer, chusme.CancelMessage(srv.URL, fp, c.Seq, e1.Seq, c.Prev, e1.NewKey, e1.OldKey, c.Time))
		return c
	}
	before = snapshot(t, srv.DataDir)
	a.do("POST", base+"/1/cancel", "", cancel(k1)).Expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", base+"/7/cancel", "", cancel(k0)).Expect(t, 404, chusme.CodeNotFound)
	a.do("POST", base+"/x/cancel", "", cancel(k0)).Expect(t, 404, chusme.CodeNotFound)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused cancellation changed the database")
	}
	var e2 chusme.ChainEntry
	a.ok(201, "POST", base+"/1/cancel", "", cancel(k0), &e2)
	if e2.Kind != chusme.EntryCancel || !bytes.Equal(e2.NewKey, testkit.Public(k0)) {
		t.Fatalf("cancel entry %+v", e2)
	}
	a.do("GET", "/v1/me", s1.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	a.loginAs(fp, k1, "", "").Expect(t, 401, chusme.CodeKeyRotated)
	if r := a.loginAs(fp, k0, "", ""); r.Status != 200 {
		t.Fatalf("login with the restored key: %d %s", r.Status, r.Body)
	}
	a.do("POST", base+"/1/cancel", "", cancel(k0)).Expect(t, 409, chusme.CodeChainConflict)

	// The chain verifies offline to the restored key and has 3 entries.
	es = a.chain(fp)
	cur, err := chusme.VerifyChain(srv.URL, fp, es, keys.CheckPublicKey, keys.Verify)
	if err != nil || !bytes.Equal(cur, testkit.Public(k0)) || len(es) != 3 {
		t.Fatalf("VerifyChain = %x, %v (%d entries)", cur, err, len(es))
	}
	if !strings.Contains(srv.Logs(), "key rotation cancelled") {
		t.Fatal("cancellation not logged")
	}
}
