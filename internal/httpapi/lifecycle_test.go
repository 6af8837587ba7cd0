package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
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
	"github.com/chusme/chusme/keys"
)

// loginAs runs challenge → token for identity fp with key k and an optional
// TOTP code, returning the raw reply of the token request.
func (a *api) loginAs(fp string, k ed25519.PrivateKey, code, recovery string) reply {
	a.t.Helper()
	var c chusme.ChallengeResponse
	a.ok(200, "POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: fp}, &c)
	return a.do("POST", "/v1/auth/token", "", chusme.TokenRequest{
		ChallengeID: c.ChallengeID,
		Signature:   ed25519.Sign(k, chusme.LoginMessage(a.srv.URL, c.ChallengeID, c.Nonce)),
		TOTPCode:    code, RecoveryCode: recovery,
	})
}

// raw sends a request with a raw body and extra headers.
func (a *api) raw(method, path, token string, body []byte, hdr map[string]string) reply {
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, data}
}

func TestTOTPOverHTTP(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	tok := a.login(admin).AccessToken
	fp := fingerprint(admin)

	a.do("POST", "/v1/me/totp", "", nil).expect(t, 401, chusme.CodeUnauthorized)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: "123456", Signature: make([]byte, 64)}).expect(t, 409, chusme.CodeTOTPNotEnabled)
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
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: "000000", Signature: sig}).expect(t, 401, chusme.CodeTOTPInvalid)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now}).expect(t, 400, chusme.CodeInvalidRequest)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now, Signature: ed25519.Sign(newKey(t), chusme.TOTPConfirmMessage(srv.URL, fp, secret))}).expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: now, Signature: ed25519.Sign(admin, chusme.TOTPConfirmMessage("https://other.test", fp, secret))}).expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", "/v1/me/totp/confirm", tok, `{"code":"1","extra":1}`).expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/me/totp/confirm", tok, `{"code":"1","recovery_code":"x"}`).expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{}).expect(t, 400, chusme.CodeInvalidRequest)
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
	a.do("POST", "/v1/me/totp", tok, nil).expect(t, 409, chusme.CodeTOTPEnabled)

	a.loginAs(fp, admin, "", "").expect(t, 401, chusme.CodeTOTPRequired)
	a.loginAs(fp, admin, "999999", "").expect(t, 401, chusme.CodeTOTPInvalid)
	// The confirming code (or any code of a step not after it) is spent;
	// the next step's code works, once.
	next := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod))
	if r := a.loginAs(fp, admin, next, ""); r.status != 200 {
		t.Fatalf("login with the next step's code: %d %s", r.status, r.body)
	}
	a.loginAs(fp, admin, next, "").expect(t, 401, chusme.CodeTOTPInvalid)
	// A recovery code works once.
	if r := a.loginAs(fp, admin, "", conf.RecoveryCodes[3]); r.status != 200 {
		t.Fatalf("login with a recovery code: %d %s", r.status, r.body)
	}
	a.loginAs(fp, admin, "", conf.RecoveryCodes[3]).expect(t, 401, chusme.CodeTOTPInvalid)

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
	a.do("DELETE", "/v1/me/totp", tok, nil).expect(t, 400, chusme.CodeInvalidRequest)
	a.do("DELETE", "/v1/me/totp", tok, chusme.TOTPCodeRequest{Code: "000000"}).expect(t, 401, chusme.CodeTOTPInvalid)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused disable changed the database")
	}
	a.ok(204, "DELETE", "/v1/me/totp", tok, chusme.TOTPCodeRequest{RecoveryCode: conf.RecoveryCodes[0]}, nil)
	if r := a.loginAs(fp, admin, "", ""); r.status != 200 {
		t.Fatalf("login after disabling: %d %s", r.status, r.body)
	}
}

func TestBlobOverHTTP(t *testing.T) {
	srv := servertest.Start(t, "--rate-blob", "10/m:10")
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	adminTok := a.login(admin).AccessToken
	user := a.register(adminTok)
	userTok := a.login(user).AccessToken
	path := "/v1/identities/" + fingerprint(user) + "/blob"
	octet := map[string]string{"Content-Type": "application/octet-stream"}
	with := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/octet-stream", k: v}
	}

	a.do("GET", path, "", nil).expect(t, 404, chusme.CodeNotFound) // 1
	before := snapshot(t, srv.DataDir)
	a.raw("PUT", path, userTok, []byte("v1"), octet).expect(t, 428, chusme.CodePreconditionRequired)
	a.raw("PUT", path, "", []byte("v1"), with("If-None-Match", "*")).expect(t, 401, chusme.CodeUnauthorized)
	a.raw("PUT", path, adminTok, []byte("v1"), with("If-None-Match", "*")).expect(t, 403, chusme.CodeForbidden)
	a.raw("PUT", path, userTok, []byte("v1"), with("If-Match", `"abc"`)).expect(t, 412, chusme.CodePreconditionFailed)
	a.raw("PUT", path, userTok, bytes.Repeat([]byte{1}, chusme.MaxBlobSize+1), with("If-None-Match", "*")).expect(t, 413, chusme.CodeBodyTooLarge)
	a.raw("PUT", path, userTok, []byte("v1"), map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}).expect(t, 400, chusme.CodeInvalidRequest)
	a.raw("PUT", path, userTok, nil, with("If-None-Match", "*")).expect(t, 400, chusme.CodeInvalidRequest)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused blob write changed the database")
	}

	full := bytes.Repeat([]byte{7}, chusme.MaxBlobSize)
	r := a.raw("PUT", path, userTok, full, with("If-None-Match", "*"))
	if r.status != 201 || r.header.Get("ETag") == "" {
		t.Fatalf("first write: %d %s", r.status, r.body)
	}
	etag := r.header.Get("ETag")
	a.raw("PUT", path, userTok, []byte("again"), with("If-None-Match", "*")).expect(t, 412, chusme.CodePreconditionFailed)

	// Two writers holding the same ETag: exactly one wins.
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	for i := range replies {
		wg.Go(func() {
			replies[i] = a.raw("PUT", path, userTok, []byte{byte('a' + i)}, with("If-Match", etag))
		})
	}
	wg.Wait()
	wins := 0
	var winner []byte
	for i, r := range replies {
		switch r.status {
		case 200:
			wins++
			winner = []byte{byte('a' + i)}
		case 412:
			r.expect(t, 412, chusme.CodePreconditionFailed)
		default:
			t.Fatalf("writer %d: %d %s", i, r.status, r.body)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want 1", wins)
	}

	// Public read with its ETag; requests 2 to 10 of this minute.
	g := a.do("GET", path, "", nil) // 2
	if g.status != 200 || !bytes.Equal(g.body, winner) || g.header.Get("Content-Type") != "application/octet-stream" ||
		g.header.Get("ETag") != `"`+strings.Trim(g.header.Get("ETag"), `"`)+`"` {
		t.Fatalf("GET blob: %d %q %v", g.status, g.body, g.header)
	}
	if nm := a.raw("GET", path, "", nil, map[string]string{"If-None-Match": g.header.Get("ETag")}); nm.status != 304 { // 3
		t.Fatalf("conditional GET: %d", nm.status)
	}
	for range 7 { // 4 … 10
		if r := a.do("GET", path, "", nil); r.status != 200 {
			t.Fatalf("GET within the limit: %d %s", r.status, r.body)
		}
	}
	r11 := a.do("GET", path, "", nil)
	r11.expect(t, 429, chusme.CodeRateLimited)
	if r11.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Writes are not behind the read limit.
	if r := a.raw("PUT", path, userTok, []byte("z"), with("If-Match", g.header.Get("ETag"))); r.status != 200 {
		t.Fatalf("write after the read limit: %d %s", r.status, r.body)
	}
}

// rotation signs a rotation of fp from old to next on top of head.
func rotation(issuer, fp string, head chusme.ChainEntry, old, next ed25519.PrivateKey) chusme.RotationRequest {
	r := chusme.RotationRequest{Seq: head.Seq + 1, Prev: head.Hash, OldKey: pub(old), NewKey: pub(next), Time: time.Now().Unix()}
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
	admin := a.setupAdmin()
	adminTok := a.login(admin).AccessToken
	k0 := a.register(adminTok)
	fp := fingerprint(k0)
	k1, k2 := newKey(t), newKey(t)
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
	a.do("POST", base, "", onlyOld).expect(t, 401, chusme.CodeInvalidSignature)
	wrongSeq := rotation(srv.URL, fp, chusme.ChainEntry{Seq: 1, Hash: es[0].Hash}, k0, k1)
	a.do("POST", base, "", wrongSeq).expect(t, 409, chusme.CodeChainConflict)
	wrongPrev := rotation(srv.URL, fp, chusme.ChainEntry{Seq: 0, Hash: bytes.Repeat([]byte{1}, 32)}, k0, k1)
	a.do("POST", base, "", wrongPrev).expect(t, 409, chusme.CodeChainConflict)
	a.do("POST", base, "", `{"seq":1}`).expect(t, 400, chusme.CodeInvalidPublicKey)
	a.do("POST", base, "", `{"seq":1,"bogus":true}`).expect(t, 400, chusme.CodeInvalidJSON)
	a.do("POST", "/v1/identities/"+strings.Repeat("0", 64)+"/rotations", "", rotation(srv.URL, strings.Repeat("0", 64), es[0], k0, k1)).expect(t, 404, chusme.CodeNotFound)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused rotation changed the database")
	}

	// The rotation takes effect at once.
	var e1 chusme.ChainEntry
	a.ok(201, "POST", base, "", rotation(srv.URL, fp, es[0], k0, k1), &e1)
	a.do("GET", "/v1/me", s0.AccessToken, nil).expect(t, 401, chusme.CodeSessionRevoked)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: s0.RefreshToken}).expect(t, 401, chusme.CodeSessionRevoked)
	a.loginAs(fp, k0, "", "").expect(t, 401, chusme.CodeInvalidSignature)
	var s1 chusme.TokenResponse
	if r := a.loginAs(fp, k1, "", ""); r.status != 200 {
		t.Fatalf("login with the new key: %d %s", r.status, r.body)
	} else if err := json.Unmarshal(r.body, &s1); err != nil {
		t.Fatal(err)
	}
	var info chusme.IdentityInfo
	a.ok(200, "GET", "/v1/identities/"+fp, "", nil, &info)
	if !bytes.Equal(info.PublicKey, pub(k1)) || info.Fingerprint != fp {
		t.Fatalf("identity after rotation %+v", info)
	}
	// Replaying it, or rotating again while it is cancellable, is refused.
	a.do("POST", base, "", rotation(srv.URL, fp, es[0], k0, k1)).expect(t, 409, chusme.CodeChainConflict)
	a.do("POST", base, "", rotation(srv.URL, fp, e1, k1, k2)).expect(t, 409, chusme.CodeRotationPending)

	// Cancel: signed by the old key only.
	cancel := func(signer ed25519.PrivateKey) chusme.CancelRequest {
		c := chusme.CancelRequest{Seq: e1.Seq + 1, Prev: e1.Hash, Time: time.Now().Unix()}
		c.Signature = ed25519.Sign(signer, chusme.CancelMessage(srv.URL, fp, c.Seq, e1.Seq, c.Prev, e1.NewKey, e1.OldKey, c.Time))
		return c
	}
	before = snapshot(t, srv.DataDir)
	a.do("POST", base+"/1/cancel", "", cancel(k1)).expect(t, 401, chusme.CodeInvalidSignature)
	a.do("POST", base+"/7/cancel", "", cancel(k0)).expect(t, 404, chusme.CodeNotFound)
	a.do("POST", base+"/x/cancel", "", cancel(k0)).expect(t, 404, chusme.CodeNotFound)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a refused cancellation changed the database")
	}
	var e2 chusme.ChainEntry
	a.ok(201, "POST", base+"/1/cancel", "", cancel(k0), &e2)
	if e2.Kind != chusme.EntryCancel || !bytes.Equal(e2.NewKey, pub(k0)) {
		t.Fatalf("cancel entry %+v", e2)
	}
	a.do("GET", "/v1/me", s1.AccessToken, nil).expect(t, 401, chusme.CodeSessionRevoked)
	a.loginAs(fp, k1, "", "").expect(t, 401, chusme.CodeInvalidSignature)
	if r := a.loginAs(fp, k0, "", ""); r.status != 200 {
		t.Fatalf("login with the restored key: %d %s", r.status, r.body)
	}
	a.do("POST", base+"/1/cancel", "", cancel(k0)).expect(t, 409, chusme.CodeChainConflict)

	// The chain verifies offline to the restored key and has 3 entries.
	es = a.chain(fp)
	cur, err := chusme.VerifyChain(srv.URL, fp, es, keys.CheckPublicKey, keys.Verify)
	if err != nil || !bytes.Equal(cur, pub(k0)) || len(es) != 3 {
		t.Fatalf("VerifyChain = %x, %v (%d entries)", cur, err, len(es))
	}
	if !strings.Contains(srv.Logs(), "key rotation cancelled") {
		t.Fatal("cancellation not logged")
	}
}
