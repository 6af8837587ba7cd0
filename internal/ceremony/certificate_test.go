package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// A DKG's group key carries its certificate: GET /v1/keys/{id} returns the
// n confirmations, each signed by its participant's identity key at its
// current chain head, and the offline check accepts it; the ceremony's
// result holds the group public key.
func TestDKGStoresCertificate(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(t, ms, 2)
	k, err := ms[2].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	cert := k.Certificate
	if cert == nil || cert.Issuer != p.srv.URL || cert.CeremonyID != res[0].Ceremony.ID || len(cert.Confirmations) != 3 {
		t.Fatalf("certificate %+v", cert)
	}
	for i, cf := range cert.Confirmations {
		if cf.Fingerprint != k.Participants[i] || cf.HeadSeq != 0 || len(cf.Signature) != ed25519.SignatureSize {
			t.Errorf("confirmation %d: %+v", i, cf)
		}
	}
	if err := chusme.VerifyGroupKeyCertificate(k, verifyEd25519); err != nil {
		t.Fatal(err)
	}
	c, err := ms[0].Client.Ceremony(t.Context(), res[0].Ceremony.ID)
	if err != nil || c.Result == nil || !bytes.Equal(c.Result.PublicKey, k.PublicKey) {
		t.Fatalf("the DKG's result %+v (%v), want public key %x", c.Result, err, k.PublicKey)
	}
	sig, _ := servertest.Sign(t, ms[0], ms, res, []int{0, 2}, []byte("certified"))
	list, err := ms[0].Client.Ceremonies(t.Context(), chusme.CeremonyCompleted)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(c chusme.CeremonyInfo) bool { return c.Kind == chusme.KindSign })
	if i < 0 || !bytes.Equal(list[i].Result.Signature, sig) || !bytes.Equal(list[i].Result.PublicKey, k.PublicKey) {
		t.Fatalf("the signing ceremony's result %+v, want public key %x", list, k.PublicKey)
	}
}

func verifyEd25519(pub, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
		return chusme.Errorf(chusme.CodeInvalidSignature, "bad signature")
	}
	return nil
}

// A confirmation that is malformed, badly signed, signed by another key,
// without a share signature that verifies under the sender's verifying
// share, or names a head that is not its identity's current one is refused, over
// HTTP (problem+json invalid_package naming the sender) and over the
// WebSocket (Error invalid_package), and changes nothing: the ceremony stays
// in round 3 and completes when the sender then sends its honest one. A
// proxy in front of the real server tries every spoilt variant of ms[0]'s
// confirmation (package re-signed with ms[0]'s key), once another
// participant's confirmation is in, before relaying it.
func TestBadConfirmationRefusedNamingSender(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	variants := map[string]func(c *chusme.DKGConfirmation) []byte{
		"malformed": func(c *chusme.DKGConfirmation) []byte { return chusme.DKGConfirmPayload(*c)[:99] },
		"no_heads":  func(c *chusme.DKGConfirmation) []byte { c.Heads = nil; return chusme.DKGConfirmPayload(*c) },
		"unsigned": func(c *chusme.DKGConfirmation) []byte {
			c.Signature = make([]byte, 64)
			return chusme.DKGConfirmPayload(*c)
		},
		"bad_signature":   func(c *chusme.DKGConfirmation) []byte { c.Signature[5] ^= 1; return chusme.DKGConfirmPayload(*c) },
		"stale_head":      func(c *chusme.DKGConfirmation) []byte { c.Heads[1].Seq = 1; return chusme.DKGConfirmPayload(*c) },
		"other_head_hash": func(c *chusme.DKGConfirmation) []byte { c.Heads[2].Hash[0] ^= 1; return chusme.DKGConfirmPayload(*c) },
		"heads_reordered": func(c *chusme.DKGConfirmation) []byte {
			c.Heads[0], c.Heads[1] = c.Heads[1], c.Heads[0]
			return chusme.DKGConfirmPayload(*c)
		},
		"another_signer": func(c *chusme.DKGConfirmation) []byte {
			c.Signature = ed25519.Sign(ms[1].Key, []byte("x"))
			return chusme.DKGConfirmPayload(*c)
		},
		"other_transcript": func(c *chusme.DKGConfirmation) []byte { c.Transcript[0] ^= 1; return chusme.DKGConfirmPayload(*c) },
		"bad_share_signature": func(c *chusme.DKGConfirmation) []byte {
			c.ShareSignature[40] ^= 1
			return chusme.DKGConfirmPayload(*c)
		},
		"no_share_signature": func(c *chusme.DKGConfirmation) []byte {
			c.ShareSignature = make([]byte, 64)
			return chusme.DKGConfirmPayload(*c)
		},
		"share_signed_by_identity": func(c *chusme.DKGConfirmation) []byte { // a valid signature, by the wrong key
			c.ShareSignature = c.Signature
			return chusme.DKGConfirmPayload(*c)
		},
	}
	wsURL := "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/v1/ws?token="
	var mu sync.Mutex
	tried := map[string]string{} // variant → what went wrong, "" if refused as it should be
	target, _ := url.Parse(p.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/rounds/3") {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		js := body
		if servertest.IsProtobuf(r.Header) {
			js, _ = servertest.SubmissionToJSON(body)
		}
		var req chusme.SubmitRequest
		if err := json.Unmarshal(js, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := strings.Split(r.URL.Path, "/")[3]
		// Once another participant's confirmation is in, the variants that
		// keep its agreed part meet the server's cached check (signature
		// only) and the others the whole one.
		info, err := ms[1].Client.Ceremony(t.Context(), id)
		for err == nil && !slices.ContainsFunc(info.Submitted, func(fp string) bool { return fp != ms[0].Fingerprint }) {
			info, err = ms[1].Client.WaitCeremony(t.Context(), id, info.Version)
		}
		if err != nil {
			t.Errorf("waiting for another confirmation: %v", err)
		}
		for name, spoil := range variants {
			honest, ok := chusme.ParseDKGConfirmPayload(bytes.Clone(req.Payload))
			if !ok {
				t.Errorf("the driver's confirmation does not parse")
				break
			}
			bad := signed(ms[0], id, 3, spoil(&honest))
			rep := testkit.Do(t, http.MethodPost, p.srv.URL+r.URL.Path, ms[0].Access(t), bad)
			st, answer := rep.Status, rep.Body
			var prob chusme.Problem
			_ = json.Unmarshal(answer, &prob)
			what := ""
			if st != http.StatusBadRequest || prob.Code != chusme.CodeInvalidPackage || !strings.Contains(prob.Detail, ms[0].Fingerprint) {
				what = "HTTP: " + string(answer)
			} else if code := wsSubmit(t, wsURL+ms[0].Access(t), id, bad); code != chusme.CodeInvalidPackage {
				what = "WebSocket: " + code
			}
			c, err := ms[1].Client.Ceremony(t.Context(), id)
			if err != nil || c.Status != chusme.CeremonyOpen || c.Round != 3 || slices.Contains(c.Submitted, ms[0].Fingerprint) {
				what += " and the ceremony changed: " + c.Status
			}
			mu.Lock()
			tried[name] = what
			mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	ms[0] = servertest.NewMember(t, front.URL, ms[0].Key, client.WithIssuer(p.srv.URL))
	ms[0].Login(t)
	res := servertest.DKG(t, ms, 2)
	if _, err := ms[1].Client.GroupKey(t.Context(), res[0].KeyID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for name := range variants {
		what, ok := tried[name]
		if !ok {
			t.Errorf("%s: not tried", name)
		} else if what != "" {
			t.Errorf("%s: %s", name, what)
		}
	}
}

// wsSubmit submits req over a new WebSocket and returns the code of the
// Error answering it ("" if the answer is not an Error).
func wsSubmit(t *testing.T, url, id string, req chusme.SubmitRequest) string {
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer ws.Close()
	b, _ := proto.Marshal(&chusmev1.Envelope{RequestId: 7, Payload: &chusmev1.Envelope_SubmitRequest{SubmitRequest: chusmev1.NewSubmitRequest(id, 3, req)}})
	if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return "write: " + err.Error()
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return "read: " + err.Error()
		}
		var env chusmev1.Envelope
		if err := proto.Unmarshal(data, &env); err != nil {
			return "decode: " + err.Error()
		}
		if env.GetRequestId() == 7 {
			return env.GetError().GetCode()
		}
	}
}
