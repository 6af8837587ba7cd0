package httpapi_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// TestWalkthrough follows an identity's life over real HTTP: bootstrap →
// admin → invite → register → challenge → token → authenticated call →
// refresh → replay of the old refresh token (family revoked) → logout, and
// a ban that stops refresh and access tokens at once.
func TestWalkthrough(t *testing.T) {
	srv := servertest.Start(t, "--refresh-grace", "0")
	a := &api{t: t, srv: srv}

	var info chusme.ServerInfo
	a.ok(200, "GET", "/v1/server", "", nil, &info)
	if !info.SetupPending || info.Issuer != srv.URL || info.Registration != "invite" {
		t.Fatalf("server info before setup: %+v", info)
	}
	setupToken := srv.SetupToken(t)
	admin := a.setupAdmin()
	a.ok(200, "GET", "/v1/server", "", nil, &info)
	if info.SetupPending {
		t.Fatal("setup still pending after redemption")
	}
	if _, err := os.Stat(filepath.Join(srv.DataDir, "setup-token")); !os.IsNotExist(err) {
		t.Fatalf("setup token file still there after redemption: %v", err)
	}
	// The setup token is single use.
	other := testkit.NewKey(t)
	a.do("POST", "/v1/setup", "", testkit.SetupRequest(srv.URL, other, setupToken)).Expect(t, 403, chusme.CodeSetupInvalid)

	adminTok := a.login(admin)
	var me chusme.Me
	a.ok(200, "GET", "/v1/me", adminTok.AccessToken, nil, &me)
	if me.Fingerprint != testkit.Fingerprint(admin) || me.Role != chusme.RoleAdmin || me.SessionID != adminTok.SessionID {
		t.Fatalf("admin me: %+v", me)
	}

	// Without an invite, registration is closed.
	user := testkit.NewKey(t)
	a.do("POST", "/v1/identities", "", testkit.RegisterRequest(srv.URL, user, "")).Expect(t, 403, chusme.CodeRegistrationClosed)

	// An invite registers once.
	var inv chusme.InviteResponse
	a.ok(201, "POST", "/v1/admin/invites", adminTok.AccessToken, chusme.InviteRequest{TTLSeconds: 3600}, &inv)
	reg := testkit.RegisterRequest(srv.URL, user, inv.Invite)
	var ident chusme.IdentityInfo
	a.ok(201, "POST", "/v1/identities", "", reg, &ident)
	if ident.Fingerprint != testkit.Fingerprint(user) || ident.Role != chusme.RoleUser || ident.Status != chusme.StatusActive {
		t.Fatalf("registered identity: %+v", ident)
	}
	user2 := testkit.NewKey(t)
	a.do("POST", "/v1/identities", "", testkit.RegisterRequest(srv.URL, user2, inv.Invite)).Expect(t, 403, chusme.CodeInviteInvalid)
	// A plain user can't issue invites.
	userTok := a.login(user)
	a.do("POST", "/v1/admin/invites", userTok.AccessToken, nil).Expect(t, 403, chusme.CodeForbidden)

	// Refresh rotates; replaying the old token revokes the whole family.
	var next chusme.TokenResponse
	a.ok(200, "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: userTok.RefreshToken}, &next)
	if next.RefreshToken == userTok.RefreshToken || next.SessionID != userTok.SessionID {
		t.Fatal("refresh did not rotate within the session")
	}
	a.ok(200, "GET", "/v1/me", next.AccessToken, nil, &me)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: userTok.RefreshToken}).Expect(t, 401, chusme.CodeRefreshReused)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: next.RefreshToken}).Expect(t, 401, chusme.CodeSessionRevoked)
	a.do("GET", "/v1/me", next.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	a.do("GET", "/v1/me", userTok.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)

	// Logout ends a fresh session at once.
	userTok = a.login(user)
	a.ok(204, "POST", "/v1/auth/logout", userTok.AccessToken, nil, nil)
	a.do("GET", "/v1/me", userTok.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: userTok.RefreshToken}).Expect(t, 401, chusme.CodeSessionRevoked)

	// A ban ends every session of the identity and stops new logins.
	s1, s2 := a.login(user), a.login(user)
	a.ok(200, "POST", "/v1/admin/identities/"+testkit.Fingerprint(user)+"/ban", adminTok.AccessToken, nil, &ident)
	if ident.Status != chusme.StatusBanned {
		t.Fatalf("banned identity status %q", ident.Status)
	}
	for _, s := range []chusme.TokenResponse{s1, s2} {
		a.do("GET", "/v1/me", s.AccessToken, nil).Expect(t, 403, chusme.CodeBanned)
		a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: s.RefreshToken}).Expect(t, 403, chusme.CodeBanned)
	}
	a.do("POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: testkit.Fingerprint(user)}).Expect(t, 403, chusme.CodeBanned)
	a.ok(200, "GET", "/v1/me", adminTok.AccessToken, nil, &me) // the admin's session is untouched
	a.do("POST", "/v1/admin/identities/"+testkit.Fingerprint(admin)+"/ban", adminTok.AccessToken, nil).Expect(t, 400, chusme.CodeInvalidRequest)

	// Public identity view.
	a.ok(200, "GET", "/v1/identities/"+testkit.Fingerprint(user), "", nil, &ident)
	if ident.Status != chusme.StatusBanned || string(ident.PublicKey) != string(testkit.Public(user)) {
		t.Fatalf("public identity: %+v", ident)
	}

	// Metrics saw the logins and the reuse; the logs hold no credential
	// (the setup token is logged once, on purpose, at bootstrap).
	metrics := string(a.do("GET", "/metrics", "", nil).Body)
	for _, want := range []string{`chusme_logins_total{outcome="ok"}`, "chusme_refresh_reuse_detections_total 1", `chusme_http_requests_total{method="POST",route="POST /v1/auth/token",status="200"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	logs := srv.Logs()
	for _, secret := range []string{adminTok.AccessToken, adminTok.RefreshToken, next.RefreshToken, s1.RefreshToken, inv.Invite} {
		if strings.Contains(logs, secret) {
			t.Fatal("a credential appears in the server log")
		}
	}
	// The setup token: once in a log record, once in the plain line for
	// the operator ("chusme setup --token …"), nowhere else.
	if n := strings.Count(logs, setupToken); n != 2 || !strings.Contains(logs, "chusme setup --token "+setupToken+"\n") {
		t.Fatalf("setup token appears %d times on the server's stderr, want in one record and one plain line", n)
	}
	if !strings.Contains(logs, `"msg":"refresh token reuse: session revoked"`) {
		t.Error("reuse detection not logged")
	}
}

// TestConcurrentRefresh presents one refresh token 50 times at once. The
// grace rule promises exactly two exchanges (the first, and one
// re-presentation of the immediately previous token); the third presentation
// is reuse and revokes the session, and the rest find it revoked.
func TestConcurrentRefresh(t *testing.T) {
	for _, tc := range []struct {
		grace string
		ok    int
	}{{"10s", 2}, {"0", 1}} {
		t.Run("grace_"+tc.grace, func(t *testing.T) {
			srv := servertest.Start(t, "--refresh-grace", tc.grace)
			a := &api{t: t, srv: srv}
			tok := a.login(a.setupAdmin())
			const n = 50
			codes := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r := a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: tok.RefreshToken})
					if r.Status == 200 {
						codes[i] = "ok"
						return
					}
					var p chusme.Problem
					json.Unmarshal(r.Body, &p)
					codes[i] = p.Code
				})
			}
			wg.Wait()
			count := map[string]int{}
			for _, c := range codes {
				count[c]++
			}
			want := map[string]int{"ok": tc.ok, chusme.CodeRefreshReused: 1, chusme.CodeSessionRevoked: n - tc.ok - 1}
			for k, v := range want {
				if count[k] != v {
					t.Fatalf("outcomes %v, want %v", count, want)
				}
			}
			a.do("GET", "/v1/me", tok.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
		})
	}
}

// TestRefreshGraceOnce: the immediately previous token comes back once
// within the grace period, and gets the same refresh token again; the second
// time is reuse.
func TestRefreshGraceOnce(t *testing.T) {
	srv := servertest.Start(t, "--refresh-grace", "1h")
	a := &api{t: t, srv: srv}
	t0 := a.login(a.setupAdmin())
	var t1, t2 chusme.TokenResponse
	a.ok(200, "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t0.RefreshToken}, &t1)
	a.ok(200, "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t0.RefreshToken}, &t2) // lost response
	if t2.RefreshToken != t1.RefreshToken {
		t.Fatal("grace exchange returned another token")
	}
	var t3 chusme.TokenResponse
	a.ok(200, "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t2.RefreshToken}, &t3)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t0.RefreshToken}).Expect(t, 401, chusme.CodeRefreshReused)
	a.do("POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t3.RefreshToken}).Expect(t, 401, chusme.CodeSessionRevoked)
}

// TestBadInput sends malformed, oversized and forged requests to every
// endpoint that takes input, and checks each gets its documented problem and
// leaves the store unchanged.
func TestBadInput(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	adminTok := a.login(admin)
	user := testkit.NewKey(t)
	var inv chusme.InviteResponse
	a.ok(201, "POST", "/v1/admin/invites", adminTok.AccessToken, nil, &inv)
	validReg := func(k ed25519.PrivateKey) chusme.RegisterRequest {
		return testkit.RegisterRequest(srv.URL, k, inv.Invite)
	}
	used := a.challenge(admin)
	a.ok(200, "POST", "/v1/auth/token", "", testkit.TokenRequest(srv.URL, admin, used.ChallengeID, used.Nonce), nil)

	// A small-order key: the identity point's encoding is 01 00…00; a
	// mixed-order key: a valid key plus a torsion point; a non-canonical
	// one: y = p (encodes 0 non-canonically).
	smallOrder := append([]byte{1}, make([]byte, 31)...)
	nonCanonical, _ := hex.DecodeString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	mixedOrder, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa") // torsion point of order 8
	anySig := make([]byte, 64)
	big := `{"public_key":"` + strings.Repeat("A", 70<<10) + `"}`
	// Bodies that would succeed but for a key written twice or in another
	// case (Go's decoder takes the last duplicate and folds case).
	fresh := a.challenge(admin)
	login, _ := json.Marshal(testkit.TokenRequest(srv.URL, admin, fresh.ChallengeID, fresh.Nonce))
	adminFP := testkit.Fingerprint(admin)
	round := "/v1/ceremonies/" + strings.Repeat("a", 32) + "/rounds/1"

	endpoints := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"malformed json", "POST", "/v1/identities", "", `{"public_key":`, 400, chusme.CodeInvalidJSON},
		{"unknown field", "POST", "/v1/identities", "", `{"public_key":"","signature":"","x":1}`, 400, chusme.CodeInvalidJSON},
		{"wrong type", "POST", "/v1/auth/challenge", "", `{"fingerprint":7}`, 400, chusme.CodeInvalidJSON},
		{"trailing data", "POST", "/v1/auth/challenge", "", `{"fingerprint":"a"} {}`, 400, chusme.CodeInvalidJSON},
		{"duplicate key", "POST", "/v1/auth/challenge", "", `{"fingerprint":"` + adminFP + `","fingerprint":"` + adminFP + `"}`, 400, chusme.CodeInvalidJSON},
		{"key in another case", "POST", "/v1/auth/challenge", "", `{"Fingerprint":"` + adminFP + `"}`, 400, chusme.CodeInvalidJSON},
		{"login with a duplicate key", "POST", "/v1/auth/token", "", `{"challenge_id":"x",` + string(login[1:]), 400, chusme.CodeInvalidJSON},
		{"login with a key in another case", "POST", "/v1/auth/token", "", strings.Replace(string(login), `"signature"`, `"SIGNATURE"`, 1), 400, chusme.CodeInvalidJSON},
		{"refresh with a duplicate key", "POST", "/v1/auth/refresh", "", `{"refresh_token":"x","refresh_token":"` + adminTok.RefreshToken + `"}`, 400, chusme.CodeInvalidJSON},
		{"duplicate nested key", "POST", round, adminTok.AccessToken, `{"packages":[{"recipient":"a","recipient":"b"}]}`, 400, chusme.CodeInvalidJSON},
		{"nested key in another case", "POST", round, adminTok.AccessToken, `{"packages":[{"Recipient":"a"}]}`, 400, chusme.CodeInvalidJSON},
		{"padded base64", "POST", "/v1/identities", "", `{"public_key":"AA==","signature":""}`, 400, chusme.CodeInvalidJSON},
		{"oversized body", "POST", "/v1/identities", "", big, 413, chusme.CodeBodyTooLarge},
		{"oversized setup", "POST", "/v1/setup", "", big, 413, chusme.CodeBodyTooLarge},
		{"empty body", "POST", "/v1/auth/token", "", "", 400, chusme.CodeInvalidJSON},
		{"short key", "POST", "/v1/identities", "", chusme.RegisterRequest{PublicKey: testkit.Public(user)[:31], Signature: anySig, Invite: inv.Invite}, 400, chusme.CodeInvalidPublicKey},
		{"small-order key", "POST", "/v1/identities", "", chusme.RegisterRequest{PublicKey: smallOrder, Signature: anySig, Invite: inv.Invite}, 400, chusme.CodeInvalidPublicKey},
		{"mixed-order key", "POST", "/v1/identities", "", chusme.RegisterRequest{PublicKey: mixedOrder, Signature: anySig, Invite: inv.Invite}, 400, chusme.CodeInvalidPublicKey},
		{"non-canonical key", "POST", "/v1/identities", "", chusme.RegisterRequest{PublicKey: nonCanonical, Signature: anySig, Invite: inv.Invite}, 400, chusme.CodeInvalidPublicKey},
		{"wrong registration signature", "POST", "/v1/identities", "", func() chusme.RegisterRequest {
			r := validReg(user)
			r.Signature = ed25519.Sign(user, chusme.RegisterMessage("http://other.example", testkit.Public(user)))
			return r
		}(), 401, chusme.CodeInvalidSignature},
		{"unknown invite", "POST", "/v1/identities", "", func() chusme.RegisterRequest {
			r := validReg(user)
			r.Invite = "nope"
			return r
		}(), 403, chusme.CodeInviteInvalid},
		{"register existing key", "POST", "/v1/identities", "", validReg(admin), 409, chusme.CodeIdentityExists},
		{"used challenge", "POST", "/v1/auth/token", "", testkit.TokenRequest(srv.URL, admin, used.ChallengeID, used.Nonce), 401, chusme.CodeChallengeInvalid},
		{"unknown challenge", "POST", "/v1/auth/token", "", chusme.TokenRequest{ChallengeID: "nope", Signature: anySig}, 401, chusme.CodeChallengeInvalid},
		{"challenge for unknown identity", "POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: testkit.Fingerprint(user)}, 404, chusme.CodeNotFound},
		{"unknown refresh token", "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: strings.Repeat("A", 43)}, 401, chusme.CodeRefreshInvalid},
		{"malformed refresh token", "POST", "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: "x"}, 401, chusme.CodeRefreshInvalid},
		{"no token", "GET", "/v1/me", "", nil, 401, chusme.CodeUnauthorized},
		{"garbage token", "GET", "/v1/me", "garbage", nil, 401, chusme.CodeTokenInvalid},
		{"invite ttl too long", "POST", "/v1/admin/invites", adminTok.AccessToken, chusme.InviteRequest{TTLSeconds: 1 << 30}, 400, chusme.CodeInvalidRequest},
		// × 1e9 wraps to exactly 3600 s in a time.Duration.
		{"invite ttl that overflows", "POST", "/v1/admin/invites", adminTok.AccessToken, chusme.InviteRequest{TTLSeconds: 36028797018967568}, 400, chusme.CodeInvalidRequest},
		{"negative invite ttl", "POST", "/v1/admin/invites", adminTok.AccessToken, chusme.InviteRequest{TTLSeconds: -1 << 62}, 400, chusme.CodeInvalidRequest},
		{"ban unknown identity", "POST", "/v1/admin/identities/" + testkit.Fingerprint(user) + "/ban", adminTok.AccessToken, nil, 404, chusme.CodeNotFound},
		{"ban malformed fingerprint", "POST", "/v1/admin/identities/XYZ/ban", adminTok.AccessToken, nil, 404, chusme.CodeNotFound},
		{"unknown route", "GET", "/v1/nope", "", nil, 404, chusme.CodeNotFound},
		{"wrong method", "DELETE", "/v1/server", "", nil, 405, chusme.CodeMethodNotAllowed},
	}
	for _, e := range endpoints {
		t.Run(strings.ReplaceAll(e.name, " ", "_"), func(t *testing.T) {
			before := snapshot(t, srv.DataDir)
			a.t = t
			a.do(e.method, e.path, e.token, e.body).Expect(t, e.status, e.code)
			if after := snapshot(t, srv.DataDir); after != before {
				t.Fatal("a refused request changed the store")
			}
		})
	}

	// A wrong login signature consumes the challenge, and changes nothing else.
	t.Run("wrong_login_signature", func(t *testing.T) {
		a.t = t
		c := a.challenge(admin)
		before := snapshot(t, srv.DataDir)
		a.do("POST", "/v1/auth/token", "", chusme.TokenRequest{ChallengeID: c.ChallengeID, Signature: ed25519.Sign(admin, []byte("other"))}).Expect(t, 401, chusme.CodeInvalidSignature)
		a.do("POST", "/v1/auth/token", "", testkit.TokenRequest(srv.URL, admin, c.ChallengeID, c.Nonce)).Expect(t, 401, chusme.CodeChallengeInvalid)
		a.do("POST", "/v1/auth/token", "", chusme.TokenRequest{ChallengeID: "x"}).Expect(t, 401, chusme.CodeChallengeInvalid)
		if snapshot(t, srv.DataDir) == before {
			t.Fatal("the failed answer did not consume the challenge")
		}
	})
}

// TestForgedTokens presents access tokens that must all be refused: expired,
// forged, alg none, HS256, wrong audience, issuer, kid or typ.
func TestForgedTokens(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	good := a.login(admin)
	kid, seed := serverKey(t, srv.DataDir)
	priv := ed25519.NewKeyFromSeed(seed)
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": srv.URL, "aud": srv.URL, "sub": testkit.Fingerprint(admin), "sid": good.SessionID, "jti": "j1",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(key any, method jwt.SigningMethod, hdr map[string]any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = kid
		tok.Header["typ"] = "at+jwt"
		for k, v := range hdr {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The control: a token we sign like the server does is accepted.
	a.ok(200, "GET", "/v1/me", sign(priv, jwt.SigningMethodEdDSA, nil, claims(nil)), nil, nil)

	other := testkit.NewKey(t)
	noneTok := sign(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, nil, claims(nil))
	cases := map[string]struct {
		token, code string
	}{
		"expired": {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Hour).Unix()
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["nbf"] = c["iat"]
		})), chusme.CodeTokenExpired},
		"forged":         {sign(other, jwt.SigningMethodEdDSA, nil, claims(nil)), chusme.CodeTokenInvalid},
		"alg none":       {noneTok, chusme.CodeTokenInvalid},
		"HS256":          {sign([]byte(priv.Public().(ed25519.PublicKey)), jwt.SigningMethodHS256, nil, claims(nil)), chusme.CodeTokenInvalid},
		"wrong aud":      {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { c["aud"] = "http://other.example" })), chusme.CodeTokenInvalid},
		"wrong iss":      {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { c["iss"] = "http://other.example" })), chusme.CodeTokenInvalid},
		"wrong kid":      {sign(priv, jwt.SigningMethodEdDSA, map[string]any{"kid": "nope"}, claims(nil)), chusme.CodeTokenInvalid},
		"wrong typ":      {sign(priv, jwt.SigningMethodEdDSA, map[string]any{"typ": "JWT"}, claims(nil)), chusme.CodeTokenInvalid},
		"not yet valid":  {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), chusme.CodeTokenInvalid},
		"no sid":         {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { delete(c, "sid") })), chusme.CodeTokenInvalid},
		"no exp":         {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { delete(c, "exp") })), chusme.CodeTokenInvalid},
		"too long-lived": {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(24 * time.Hour).Unix() })), chusme.CodeTokenInvalid},
		"other session":  {sign(priv, jwt.SigningMethodEdDSA, nil, claims(func(c jwt.MapClaims) { c["sid"] = "nope" })), chusme.CodeSessionRevoked},
		"tampered":       {good.AccessToken[:len(good.AccessToken)-4] + "AAAA", chusme.CodeTokenInvalid},
	}
	for name, c := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			before := snapshot(t, srv.DataDir)
			a.t = t
			a.do("GET", "/v1/me", c.token, nil).Expect(t, 401, c.code)
			a.do("POST", "/v1/admin/invites", c.token, nil).Expect(t, 401, c.code)
			if snapshot(t, srv.DataDir) != before {
				t.Fatal("a refused token changed the store")
			}
		})
	}
}

// serverKey reads the server's signing key from its keyring file.
func serverKey(t *testing.T, dataDir string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "jwt-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Keys []struct{ Kid, Seed string }
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	k := f.Keys[len(f.Keys)-1]
	seed, err := base64.RawURLEncoding.DecodeString(k.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return k.Kid, seed
}

// TestRateLimits: the auth limit per client IP answers 429 with Retry-After;
// X-Forwarded-For counts only from a trusted proxy.
func TestRateLimits(t *testing.T) {
	t.Run("untrusted_forwarded_for_ignored", func(t *testing.T) {
		srv := servertest.Start(t, "--rate-auth", "3/m:3")
		a := &api{t: t, srv: srv}
		for range 3 {
			a.do("POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: strings.Repeat("0", 64)}).Expect(t, 404, chusme.CodeNotFound)
		}
		r := a.raw("POST", "/v1/auth/challenge", "", []byte(`{"fingerprint":"x"}`), map[string]string{"X-Forwarded-For": "203.0.113.9"})
		if r.Status != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("4th request: status %d, Retry-After %q; want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
		}
		if !strings.Contains(string(a.do("GET", "/metrics", "", nil).Body), `chusme_rate_limit_rejections_total{scope="auth"} 1`) {
			t.Error("rejection not counted")
		}
	})
	t.Run("trusted_proxy_forwarded_for_used", func(t *testing.T) {
		a := &api{t: t, srv: servertest.Start(t, "--rate-auth", "1/m:1", "--trusted-proxies", "127.0.0.0/8")}
		for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.1"} {
			r := a.raw("POST", "/v1/auth/challenge", "", []byte(`{"fingerprint":"x"}`), map[string]string{"X-Forwarded-For": ip})
			want := map[bool]int{true: 404, false: 429}[i < 2]
			if r.Status != want {
				t.Fatalf("request %d from %s: status %d, want %d", i, ip, r.Status, want)
			}
		}
	})
}

// TestHealthAndJWKS covers the operational endpoints.
func TestHealthAndJWKS(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	a.ok(200, "GET", "/healthz", "", nil, nil)
	a.ok(200, "GET", "/readyz", "", nil, nil)
	var jwks struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}
	a.ok(200, "GET", "/.well-known/jwks.json", "", nil, &jwks)
	kid, seed := serverKey(t, srv.DataDir)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid != kid || jwks.Keys[0].Kty != "OKP" || jwks.Keys[0].Crv != "Ed25519" || jwks.Keys[0].Alg != "EdDSA" ||
		jwks.Keys[0].X != base64.RawURLEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)) {
		t.Fatalf("jwks %+v", jwks)
	}
	var doc map[string]any
	a.ok(200, "GET", "/v1/openapi.json", "", nil, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi document: %v", doc["openapi"])
	}
	fi, err := os.Stat(filepath.Join(srv.DataDir, "jwt-keys.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{"data-key", "setup-token"} {
		if fi, err := os.Stat(filepath.Join(srv.DataDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode: %v %v", f, fi, err)
		}
	}
}
