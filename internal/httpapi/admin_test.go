package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// The administrator pages through the identities by fingerprint, two at a
// time over three pages; bad parameters and a non-administrator are
// refused.
func TestAdminIdentitiesPages(t *testing.T) {
	a := &api{t: t, srv: servertest.Start(t)}
	adminKey := a.setupAdmin()
	adminTok := a.login(adminKey).AccessToken
	want := []string{testkit.Fingerprint(adminKey)}
	var user ed25519.PrivateKey
	for range 4 {
		user = a.register(adminTok)
		want = append(want, testkit.Fingerprint(user))
	}
	slices.Sort(want)

	var got []string
	cursor, pages := "", 0
	for {
		var page chusme.AdminIdentityPage
		a.ok(200, "GET", "/v1/admin/identities?limit=2&cursor="+cursor, adminTok, nil, &page)
		pages++
		for _, id := range page.Identities {
			if id.ChainLength != 1 || id.RecoveryKeys != 0 || id.Devices != 1 || id.Status != chusme.StatusActive || id.CreatedAt.IsZero() ||
				chusme.Fingerprint(id.PublicKey) != id.Fingerprint {
				t.Fatalf("listed identity %+v", id)
			}
			got = append(got, id.Fingerprint)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages listed %v, want 3 pages of %v", pages, got, want)
	}

	userTok := a.login(user).AccessToken
	fp := testkit.Fingerprint(user)
	for _, path := range []string{"/v1/admin/identities", "/v1/admin/identities/" + fp} {
		a.do("GET", path, userTok, nil).Expect(t, 403, chusme.CodeForbidden)
	}
	a.do("POST", "/v1/admin/identities/"+fp+"/unban", userTok, nil).Expect(t, 403, chusme.CodeForbidden)
	a.do("GET", "/v1/admin/identities", "", nil).Expect(t, 401, chusme.CodeUnauthorized)
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=nope", "cursor=" + strings.ToUpper(fp), "status=deleted"} {
		a.do("GET", "/v1/admin/identities?"+q, adminTok, nil).Expect(t, 400, chusme.CodeInvalidRequest)
	}
	var full chusme.AdminIdentityPage
	a.ok(200, "GET", "/v1/admin/identities?limit=100", adminTok, nil, &full)
	if len(full.Identities) != 5 || full.NextCursor != "" {
		t.Fatalf("a page of 100 holds %d identities, next cursor %q", len(full.Identities), full.NextCursor)
	}
}

// An identity's detail lists its live sessions, without a token or a hash
// of one; a ban shows and ends them; unban, idempotent, restores login.
func TestAdminIdentityAndUnban(t *testing.T) {
	a := &api{t: t, srv: servertest.Start(t)}
	adminTok, user := a.adminAndUser()
	fp := testkit.Fingerprint(user)
	s1, s2 := a.login(user), a.login(user)
	a.ok(204, "POST", "/v1/auth/logout", s2.AccessToken, nil, nil)

	r := a.do("GET", "/v1/admin/identities/"+fp, adminTok, nil)
	var d chusme.AdminIdentityDetail
	r.Want(t, 200, &d)
	if d.Fingerprint != fp || d.Status != chusme.StatusActive || d.ChainLength != 1 || len(d.Chain.Entries) != 1 ||
		d.Chain.Fingerprint != fp || len(d.Sessions) != 1 || d.Sessions[0].ID != s1.SessionID || d.Sessions[0].ExpiresAt.IsZero() {
		t.Fatalf("identity detail %+v", d)
	}
	for _, secret := range []string{s1.AccessToken, s1.RefreshToken, s2.RefreshToken} {
		sum := sha256.Sum256([]byte(secret))
		for _, leak := range []string{secret, hex.EncodeToString(sum[:])} {
			if bytes.Contains(r.Body, []byte(leak)) {
				t.Fatal("the identity detail holds a token or its hash")
			}
		}
	}
	a.do("GET", "/v1/admin/identities/"+strings.Repeat("0", 64), adminTok, nil).Expect(t, 404, chusme.CodeNotFound)

	a.ok(200, "POST", "/v1/admin/identities/"+fp+"/ban", adminTok, nil, nil)
	a.ok(200, "GET", "/v1/admin/identities/"+fp, adminTok, nil, &d)
	if d.Status != chusme.StatusBanned || d.BannedAt == nil || len(d.Sessions) != 0 {
		t.Fatalf("banned identity detail %+v", d)
	}
	var banned chusme.AdminIdentityPage
	a.ok(200, "GET", "/v1/admin/identities?status=banned", adminTok, nil, &banned)
	if len(banned.Identities) != 1 || banned.Identities[0].Fingerprint != fp {
		t.Fatalf("banned identities: %+v", banned)
	}

	for range 2 {
		var ident chusme.IdentityInfo
		a.ok(200, "POST", "/v1/admin/identities/"+fp+"/unban", adminTok, nil, &ident)
		if ident.Status != chusme.StatusActive {
			t.Fatalf("unbanned identity %+v", ident)
		}
	}
	a.do("GET", "/v1/me", s1.AccessToken, nil).Expect(t, 403, chusme.CodeBanned) // the session the ban ended stays ended
	var me chusme.Me
	a.ok(200, "GET", "/v1/me", a.login(user).AccessToken, nil, &me)
	a.do("POST", "/v1/admin/identities/"+strings.Repeat("0", 64)+"/unban", adminTok, nil).Expect(t, 404, chusme.CodeNotFound)
	a.do("POST", "/v1/admin/identities/xyz/unban", adminTok, nil).Expect(t, 404, chusme.CodeNotFound)
}
