package ceremony_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/httpapi"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// sendProtobuf posts body to url as application/protobuf, asking for accept.
func sendProtobuf(t *testing.T, method, url, token, accept string, body []byte) testkit.Reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", httpapi.ProtobufType)
	}
	req.Header.Set("Accept", accept)
	return testkit.Send(t, req)
}

// TestProtobufSubmissionAndInbox: a round's submission and inbox in
// application/protobuf are the JSON ones: a submission is refused with the
// same codes, a malformed or unknown-field body or one naming another
// ceremony or round is refused and changes nothing, and an inbox is the
// same packages in either form.
func TestProtobufSubmissionAndInbox(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	url := roundURL(p, info.ID, 1)
	good := round1(t, ms[0], info.ID, 3, 2, ms[0].Fingerprint)
	body, err := proto.Marshal(chusmev1.NewSubmitRequest(info.ID, 1, good))
	if err != nil {
		t.Fatal(err)
	}
	withUnknown := protowire.AppendBytes(protowire.AppendTag(slices.Clone(body), 99, protowire.BytesType), []byte("x"))
	// An unknown field inside a package, in a round-2 shape.
	pkg, _ := proto.Marshal(&chusmev1.DirectPackage{Recipient: ms[1].Fingerprint, Payload: []byte("p"), Signature: []byte("s")})
	pkg = protowire.AppendVarint(protowire.AppendTag(pkg, 7, protowire.VarintType), 1)
	nestedUnknown := protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), pkg)
	otherID, _ := proto.Marshal(chusmev1.NewSubmitRequest(strings.Repeat("ab", 16), 1, good))
	otherRound, _ := proto.Marshal(chusmev1.NewSubmitRequest(info.ID, 2, good))
	bad := round1(t, ms[0], info.ID, 3, 2, ms[0].Fingerprint)
	bad.Signature[0] ^= 1
	badSig, _ := proto.Marshal(chusmev1.NewSubmitRequest("", 0, bad))
	token := ms[0].Access(t)
	for _, c := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"not protobuf", []byte("{\"payload\":\"\"}"), 400, chusme.CodeInvalidProtobuf},
		{"unknown field", withUnknown, 400, chusme.CodeInvalidProtobuf},
		{"unknown field in a package", nestedUnknown, 400, chusme.CodeInvalidProtobuf},
		{"another ceremony", otherID, 400, chusme.CodeInvalidRequest},
		{"another round", otherRound, 400, chusme.CodeInvalidRequest},
		{"bad signature", badSig, 400, chusme.CodeInvalidPackage},
		{"too large", bytes.Repeat([]byte{0}, httpapi.SubmitBodyLimit+1), 413, chusme.CodeBodyTooLarge},
	} {
		rep := sendProtobuf(t, http.MethodPost, url, token, httpapi.ProtobufType, c.body)
		rep.Expect(t, c.status, c.code)
		if ct := rep.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: a problem answered as %q", c.name, ct)
		}
	}
	now, err := ms[0].Client.Ceremony(t.Context(), info.ID)
	if err != nil || len(now.Submitted) != 0 {
		t.Fatalf("after the refusals: submitted %v, %v", now.Submitted, err)
	}

	// Accepted, answered in protobuf; the same again in JSON is the same answer.
	rep := sendProtobuf(t, http.MethodPost, url, token, httpapi.ProtobufType, body)
	if rep.Status != 200 || !servertest.IsProtobuf(rep.Header) {
		t.Fatalf("protobuf submission: %d %s %s", rep.Status, rep.Header.Get("Content-Type"), rep.Body)
	}
	var ch chusmev1.CeremonyChange
	if err := proto.Unmarshal(rep.Body, &ch); err != nil {
		t.Fatal(err)
	}
	var again chusme.CeremonyChange
	testkit.Do(t, http.MethodPost, url, token, good).Want(t, 200, &again)
	if got := ch.View(); got.Version != again.Version || !slices.Equal(got.Submitted, []string{ms[0].Fingerprint}) || got.Needed != again.Needed {
		t.Fatalf("protobuf answer %+v, JSON answer %+v", got, again)
	}
	// A protobuf body with a JSON answer.
	rep = sendProtobuf(t, http.MethodPost, url, token, "application/json", body)
	var asJSON chusme.CeremonyChange
	if rep.Status != 200 || json.Unmarshal(rep.Body, &asJSON) != nil || asJSON.Version != again.Version {
		t.Fatalf("protobuf body, JSON answer: %d %s", rep.Status, rep.Body)
	}

	for _, m := range ms[1:] {
		if _, err := m.Client.Submit(t.Context(), info.ID, 1, round1(t, m, info.ID, 3, 2, m.Fingerprint)); err != nil {
			t.Fatal(err)
		}
	}
	var js chusme.Inbox
	testkit.Do(t, http.MethodGet, url+"/inbox", token, nil).Want(t, 200, &js)
	for range 2 { // the second from the shared encoding
		rep = sendProtobuf(t, http.MethodGet, url+"/inbox", token, httpapi.ProtobufType+", application/json;q=0.5", nil)
		var in chusmev1.CeremonyInbox
		if rep.Status != 200 || !servertest.IsProtobuf(rep.Header) || proto.Unmarshal(rep.Body, &in) != nil {
			t.Fatalf("protobuf inbox: %d %s", rep.Status, rep.Header.Get("Content-Type"))
		}
		a, _ := json.Marshal(in.View())
		b, _ := json.Marshal(js)
		if !bytes.Equal(a, b) || len(js.Packages) != 3 || !js.Complete {
			t.Fatalf("protobuf inbox %s, JSON inbox %s", a, b)
		}
	}
	// Accept with q=0 for protobuf is JSON.
	rep = sendProtobuf(t, http.MethodGet, url+"/inbox", token, httpapi.ProtobufType+";q=0, application/json", nil)
	if rep.Status != 200 || rep.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("q=0: %d %s", rep.Status, rep.Header.Get("Content-Type"))
	}
}
