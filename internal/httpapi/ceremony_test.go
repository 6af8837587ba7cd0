package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// POST /v1/ceremonies takes only a request signed by its creator
// (CeremonyRequestMessage over the ceremony it makes): unsigned, malformed,
// badly signed, not matching the ceremony, past or too far deadlines and
// reused nonces get their documented problem and store nothing; a signed
// request creates the ceremony, which carries it to its members.
func TestCreateCeremonyRequests(t *testing.T) {
	srv := servertest.Start(t)
	a := &api{t: t, srv: srv}
	admin := a.setupAdmin()
	adminTok := a.login(admin).AccessToken
	user := a.register(adminTok)
	a.login(user)
	parts := []string{testkit.Fingerprint(admin), testkit.Fingerprint(user)}
	slices.Sort(parts)

	// body is a DKG request of admin's, signed by key over signed (the
	// fields as the signature covers them) with deadline and nonce.
	body := func(key ed25519.PrivateKey, participants, signed []string, deadline time.Time, nonce []byte) chusme.CreateCeremonyRequest {
		d := deadline.Unix()
		msg := chusme.CeremonyRequestMessage(srv.URL, chusme.KindDKG, 2, signed, "", nil, 0, false, d, nonce, 0, nil)
		return chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2, Participants: participants,
			Deadline: d, Nonce: nonce, Signature: ed25519.Sign(key, msg)}
	}
	nonce := bytes.Repeat([]byte{1}, 16)
	soon := time.Now().Add(time.Hour)
	good := body(admin, parts, parts, soon, nonce)
	unsigned := good
	unsigned.Signature = nil
	flipped := body(admin, parts, parts, soon, nonce)
	flipped.Signature[0] ^= 1
	reversed := []string{parts[1], parts[0]}

	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unsigned", unsigned, 400, chusme.CodeInvalidRequest},
		{"no nonce", body(admin, parts, parts, soon, nil), 400, chusme.CodeInvalidRequest},
		{"short nonce", body(admin, parts, parts, soon, nonce[:8]), 400, chusme.CodeInvalidRequest},
		{"long nonce", body(admin, parts, parts, soon, bytes.Repeat([]byte{1}, 33)), 400, chusme.CodeInvalidRequest},
		{"malformed nonce", with(t, good, "nonce", "+/AAAAAAAAAAAAAAAAAAAA"), 400, chusme.CodeInvalidJSON},
		{"malformed deadline", with(t, good, "deadline", "soon"), 400, chusme.CodeInvalidJSON},
		{"malformed signature", with(t, good, "signature", 7), 400, chusme.CodeInvalidJSON},
		{"deadline past", body(admin, parts, parts, time.Now().Add(-time.Second), nonce), 400, chusme.CodeInvalidRequest},
		{"deadline too far", body(admin, parts, parts, time.Now().Add(chusme.MaxCeremonyRequestAhead+time.Minute), nonce), 400, chusme.CodeInvalidRequest},
		{"badly signed", flipped, 401, chusme.CodeInvalidSignature},
		{"signed by another key", body(user, parts, parts, soon, nonce), 401, chusme.CodeInvalidSignature},
		{"participants signed unsorted", body(admin, parts, reversed, soon, nonce), 401, chusme.CodeInvalidSignature},
		{"fewer participants signed", body(admin, parts, parts[:1], soon, nonce), 401, chusme.CodeInvalidSignature},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			a.t = t
			before := snapshot(t, srv.DataDir)
			a.do("POST", "/v1/ceremonies", adminTok, c.body).Expect(t, c.status, c.code)
			if snapshot(t, srv.DataDir) != before {
				t.Fatal("a refused request changed the store")
			}
		})
	}

	a.t = t
	var info chusme.CeremonyInfo
	a.ok(201, "POST", "/v1/ceremonies", adminTok, good, &info)
	r := info.Request
	if r == nil || r.Kind != chusme.KindDKG || r.Threshold != 2 || !slices.Equal(r.Participants, parts) || r.KeyID != "" ||
		len(r.MessageSHA256) != 0 || r.Deadline != good.Deadline || !bytes.Equal(r.Nonce, nonce) || !bytes.Equal(r.Signature, good.Signature) {
		t.Fatalf("the created ceremony's request = %+v, want the one signed", r)
	}
	if !ed25519.Verify(testkit.Public(admin), r.Message(srv.URL), r.Signature) {
		t.Fatal("the request handed out does not verify under its creator's key")
	}

	// A request is used once: the same again, or its nonce in another one,
	// is a conflict and creates nothing.
	before := snapshot(t, srv.DataDir)
	a.do("POST", "/v1/ceremonies", adminTok, good).Expect(t, 409, chusme.CodeConflict)
	a.do("POST", "/v1/ceremonies", adminTok, body(admin, parts, parts, soon.Add(time.Minute), nonce)).Expect(t, 409, chusme.CodeConflict)
	if snapshot(t, srv.DataDir) != before {
		t.Fatal("a replayed request changed the store")
	}
	var list chusme.CeremonyList
	a.ok(200, "GET", "/v1/ceremonies", adminTok, nil, &list)
	if len(list.Ceremonies) != 1 || list.Ceremonies[0].ID != info.ID {
		t.Fatalf("ceremonies after the refused requests: %+v, want only %s", list.Ceremonies, info.ID)
	}
}

// with is the JSON of v with field set to value.
func with(t *testing.T, v any, field string, value any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	m[field] = value
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}
