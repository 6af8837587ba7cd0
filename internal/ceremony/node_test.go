package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// nodeScript returns the node binary and the path of a test/node script.
// Without node or `npm ci` in test/node the test is skipped, unless
// CHUSME_REQUIRE_NODE=1 (as .ci/run sets), where it fails.
func nodeScript(t *testing.T, name string) (node, script string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@noble", "curves"))
	}
	if err != nil {
		if os.Getenv("CHUSME_REQUIRE_NODE") == "1" {
			t.Fatalf("node or test/node/node_modules missing (run npm ci in test/node): %v", err)
		}
		t.Skipf("node or test/node/node_modules missing (run npm ci in test/node): %v", err)
	}
	return node, filepath.Join(dir, name)
}

// runNode runs a node command with stdin and returns its standard output
// and error, and an error if it did not exit 0.
func runNode(t *testing.T, stdin []byte, node string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), node, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	return out, errBuf.Bytes(), err
}

// The Node.js pieces of the WebSocket-only participant (HPKE, the frost
// encodings over @noble/curves) reproduce the RFC 9180, RFC 9591 and
// frost-core vectors (test/node/frost_offline.mjs).
func TestNodeFROSTOffline(t *testing.T) {
	node, script := nodeScript(t, "frost_offline.mjs")
	out, stderr, err := runNode(t, nil, node, "--test", script)
	if err != nil || !bytes.Contains(out, []byte("\n# fail 0\n")) {
		t.Fatalf("node --test: %v\n%s%s", err, out, stderr)
	}
}

// nodeInput is what test/node/frost_ws.mjs reads on stdin.
type nodeInput struct {
	WSURL        string            `json:"ws_url"`
	Message      string            `json:"message"`
	Participants []nodeParticipant `json:"participants"`
}

// nodeParticipant is one participant of nodeInput: keys hex, as frost_ws.mjs
// documents.
type nodeParticipant struct {
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	Seed        string `json:"seed"`
	AccessToken string `json:"access_token"`
}

// Two identities, logged in over HTTP, run a 2-of-2 DKG and then sign a
// message with the new key from an independent Node.js participant
// (test/node/frost_ws.mjs) speaking only the WebSocket protocol: the server
// answers no /v1/ceremonies HTTP request meanwhile, stores the group key
// Node computed, and the signature verifies with crypto/ed25519 under it.
func TestNodeFROSTOverWebSocket(t *testing.T) {
	node, script := nodeScript(t, "frost_ws.mjs")
	p := newParty(t, 2)
	in := nodeInputFor(t, p, "pay 5 EUR to Bob, signed from Node.js")
	before := p.srv.Metrics(t)
	out, stderr, err := runFrostWS(t, node, script, in)
	if err != nil {
		t.Fatalf("node: %v\n%s%s", err, out, stderr)
	}
	after := p.srv.Metrics(t)

	var res struct {
		OK             bool   `json:"ok"`
		KeyID          string `json:"key_id"`
		GroupPublicKey string `json:"group_public_key"`
		PublicKeyPkg   string `json:"public_key_package"`
		Signature      string `json:"signature"`
		DKGCeremony    string `json:"dkg_ceremony"`
		SignCeremony   string `json:"sign_ceremony"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK {
		t.Fatalf("node printed %q (%v)", out, err)
	}
	t.Logf("node: %s", out)

	// What crossed the wire: ceremony requests on the WebSocket only.
	httpCeremonies := func(labels string) bool { return strings.Contains(labels, " /v1/ceremonies") }
	if n := after.Sum("chusme_http_requests_total", httpCeremonies) - before.Sum("chusme_http_requests_total", httpCeremonies); n != 0 {
		t.Errorf("%v /v1/ceremonies HTTP requests during the run, want 0", n)
	}
	for kind, want := range map[string]float64{"ceremony_create": 2, "ceremony_submit": 3*2 + 2*2} {
		label := func(k string) bool { return strings.Contains(k, `kind="`+kind+`"`) }
		if n := after.Sum("chusme_ws_messages_total", label) - before.Sum("chusme_ws_messages_total", label); n != want {
			t.Errorf("%v %s WebSocket requests, want %v", n, kind, want)
		}
	}

	// The server stored the key Node computed, and the signature is plain
	// Ed25519 under it.
	ctx := t.Context()
	gk, err := p.members[1].Client.GroupKey(ctx, res.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(gk.PublicKey) != res.GroupPublicKey || hex.EncodeToString(gk.PublicKeyPackage) != res.PublicKeyPkg || gk.Threshold != 2 ||
		!slices.Equal(slices.Sorted(slices.Values(gk.Participants)), slices.Sorted(slices.Values(servertest.Fingerprints(p.members)))) {
		t.Fatalf("stored group key %+v, node computed %s", gk, res.GroupPublicKey)
	}
	sig, err := hex.DecodeString(res.Signature)
	if err != nil || !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), []byte(in.Message), sig) {
		t.Fatalf("signature %s does not verify under the group key (%v)", res.Signature, err)
	}
	dkg, err := p.members[0].Client.Ceremony(ctx, res.DKGCeremony)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := p.members[0].Client.Ceremony(ctx, res.SignCeremony)
	if err != nil {
		t.Fatal(err)
	}
	if dkg.Status != chusme.CeremonyCompleted || dkg.Result == nil || dkg.Result.KeyID != res.KeyID {
		t.Errorf("DKG ceremony %+v", dkg)
	}
	if sign.Status != chusme.CeremonyCompleted || sign.Result == nil || !bytes.Equal(sign.Result.Signature, sig) || string(sign.Message) != in.Message {
		t.Errorf("signing ceremony %+v", sign)
	}
}

// runFrostWS runs frost_ws.mjs with in on its stdin.
func runFrostWS(t *testing.T, node, script string, in nodeInput) (stdout, stderr []byte, err error) {
	t.Helper()
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return runNode(t, stdin, node, script)
}

// nodeInputFor is the input of frost_ws.mjs for the party's two members.
func nodeInputFor(t *testing.T, p *party, message string) nodeInput {
	in := nodeInput{WSURL: "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/v1/ws", Message: message}
	for _, m := range p.members {
		in.Participants = append(in.Participants, nodeParticipant{
			Fingerprint: m.Fingerprint,
			PublicKey:   hex.EncodeToString(m.Key.Public().(ed25519.PublicKey)),
			Seed:        hex.EncodeToString(m.Key.Seed()),
			AccessToken: m.Access(t),
		})
	}
	return in
}

// The Node.js participant stops with a clear message, exit status 1 and no
// ceremony started when the server refuses its credential or when an
// identity key does not hash to its fingerprint.
func TestNodeFROSTRefusesBadInput(t *testing.T) {
	node, script := nodeScript(t, "frost_ws.mjs")
	p := newParty(t, 2)
	for _, tc := range []struct {
		name, want string
		spoil      func(*nodeInput)
	}{
		{"bad token", "closed: 4002", func(in *nodeInput) { in.Participants[1].AccessToken += "x" }},
		{"foreign key", "does not hash to its fingerprint", func(in *nodeInput) { in.Participants[1].PublicKey = in.Participants[0].PublicKey }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := nodeInputFor(t, p, "never signed")
			tc.spoil(&in)
			out, stderr, err := runFrostWS(t, node, script, in)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || len(out) != 0 ||
				!bytes.HasPrefix(stderr, []byte("frost_ws: ")) || !bytes.Contains(stderr, []byte(tc.want)) {
				t.Fatalf("node: %v, stdout %q, stderr %q; want exit 1 and %q", err, out, stderr, tc.want)
			}
			list, err := p.members[0].Client.Ceremonies(t.Context(), "")
			if err != nil || len(list) != 0 {
				t.Fatalf("ceremonies after a refused run: %+v, %v", list, err)
			}
		})
	}
}

// A server that alters what it relays is caught by the Node.js participant
// as the Go client catches it: a DKG round-2 share changed on its way (its
// sender's signature fails), a signing package whose message is not the
// one approved, a message that is not the requested one or a requester that
// did not sign the request ends the run with exit 1 before the ceremony
// completes. The
// server is the real one; a proxy in front of its WebSocket does the
// altering (and, altering nothing, lets the run succeed).
func TestNodeFROSTCatchesATamperingServer(t *testing.T) {
	node, script := nodeScript(t, "frost_ws.mjs")
	for _, tc := range []struct {
		name, want    string
		tamper        func(*chusmev1.Envelope)
		wantCompleted int
	}{
		{"nothing altered", "", func(*chusmev1.Envelope) {}, 2}, // the proxy itself is faithful
		{"DKG share altered", "fails its signature", func(env *chusmev1.Envelope) {
			if in := env.GetCeremonyInbox(); in.GetRound() == 2 {
				for _, pkg := range in.GetPackages() {
					pkg.Payload[len(pkg.Payload)-1] ^= 1
				}
			}
		}, 0},
		{"signing message altered", "not the approved one", func(env *chusmev1.Envelope) {
			for _, ev := range ceremonyEvents(env) {
				if sp := ev.GetSigningPackage(); len(sp) > 0 {
					sp[len(sp)-1] ^= 1
				}
			}
		}, 1},
		// The request checks (participant.mjs checkRequest), before
		// anything is committed.
		{"signing request's message altered", "the request's message hash is not the SHA-256", func(env *chusmev1.Envelope) {
			for _, ev := range ceremonyEvents(env) {
				if ev.GetKind() == chusme.KindSign && len(ev.GetMessage()) > 0 {
					ev.Message[0] ^= 1
				}
			}
		}, 1},
		{"requester made up", "the requester signature of", func(env *chusmev1.Envelope) {
			for _, ev := range ceremonyEvents(env) {
				for _, fp := range ev.GetParticipants() {
					if fp != ev.GetCreator() { // the other participant, whose key did not sign
						ev.Creator = fp
						break
					}
				}
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newParty(t, 2)
			in := nodeInputFor(t, p, "pay 5 EUR to Bob")
			in.WSURL = tamperingProxy(t, p.srv.URL, tc.tamper)
			out, stderr, err := runFrostWS(t, node, script, in)
			if tc.want == "" && err != nil {
				t.Fatalf("node through a faithful proxy: %v\n%s%s", err, out, stderr)
			}
			if tc.want != "" && (err == nil || len(out) != 0 || !bytes.Contains(stderr, []byte(tc.want))) {
				t.Fatalf("node: %v, stdout %q, stderr %q; want a failure saying %q", err, out, stderr, tc.want)
			}
			t.Logf("node: %s%s", out, stderr)
			list, err := p.members[0].Client.Ceremonies(t.Context(), chusme.CeremonyCompleted)
			if err != nil || len(list) != tc.wantCompleted {
				t.Fatalf("completed ceremonies: %+v, %v; want %d", list, err, tc.wantCompleted)
			}
		})
	}
}

// tamperingProxy serves a WebSocket in front of the server's /v1/ws that
// relays every frame both ways, passing each envelope the server sends
// through tamper first. It returns the proxy's ws:// URL.
func tamperingProxy(t *testing.T, serverURL string, tamper func(*chusmev1.Envelope)) string {
	upgrader := websocket.Upgrader{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		back, _, err := websocket.DefaultDialer.DialContext(r.Context(), "ws"+strings.TrimPrefix(serverURL, "http")+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer back.Close()
		front, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer front.Close()
		go func() { // client to server, unchanged
			defer back.Close()
			for {
				typ, b, err := front.ReadMessage()
				if err != nil || back.WriteMessage(typ, b) != nil {
					return
				}
			}
		}()
		for { // server to client, through tamper
			typ, b, err := back.ReadMessage()
			if err != nil {
				return
			}
			var env chusmev1.Envelope
			if typ == websocket.BinaryMessage && proto.Unmarshal(b, &env) == nil {
				tamper(&env)
				if b, err = proto.Marshal(&env); err != nil {
					return
				}
			}
			if front.WriteMessage(typ, b) != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/v1/ws"
}

// A Node.js check written from docs/protocol.md alone
// (test/node/cert.mjs) accepts the certificate of a group key the Go
// drivers made, as GET /v1/keys/{key_id} returns it, refuses each copy
// with one byte changed, and refuses the certificate the Go test spoils.
func TestNodeChecksGroupKeyCertificate(t *testing.T) {
	node, script := nodeScript(t, "cert.mjs")
	p := newParty(t, 3)
	res := servertest.DKG(t, p.members, 2)
	r := testkit.Do(t, http.MethodGet, p.srv.URL+"/v1/keys/"+res[0].KeyID, p.members[1].Access(t), nil)
	r.Want(t, http.StatusOK, nil)
	body := r.Body
	input := func(key []byte) []byte {
		b, err := json.Marshal(map[string]any{"issuer": p.srv.URL, "key": json.RawMessage(key)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out, stderr, err := runNode(t, input(body), node, script)
	var got struct {
		OK      bool   `json:"ok"`
		KeyID   string `json:"key_id"`
		Refused int    `json:"refused"`
		MadeBy  []struct {
			Fingerprint string `json:"fingerprint"`
			Genesis     bool   `json:"genesis"`
		} `json:"made_by"`
	}
	if err != nil || json.Unmarshal(out, &got) != nil || !got.OK {
		t.Fatalf("node cert.mjs: %v\n%s%s", err, out, stderr)
	}
	// 2 certificate members + the public key + 3 shares + 3 × 4 in the confirmations.
	if got.KeyID != res[0].KeyID || len(got.MadeBy) != 3 || got.Refused != 18 {
		t.Fatalf("node cert.mjs: %s", out)
	}
	for i, m := range got.MadeBy {
		if m.Fingerprint != res[0].Ceremony.Participants[i] || !m.Genesis {
			t.Errorf("made by %d: %+v", i, m)
		}
	}
	var k chusme.GroupKeyInfo
	if err := json.Unmarshal(body, &k); err != nil {
		t.Fatal(err)
	}
	k.Certificate.Confirmations[2].Signature[10] ^= 1
	spoilt, _ := json.Marshal(k)
	out, stderr, err = runNode(t, input(spoilt), node, script)
	if err == nil || len(out) != 0 || !bytes.Contains(stderr, []byte("cert: the signature of "+k.Participants[2]+" does not verify")) {
		t.Fatalf("node cert.mjs on a spoilt certificate: %v, stdout %q, stderr %q", err, out, stderr)
	}
}

// ceremonyEvents are the ceremony states env carries (nil entries where it
// carries none, which the getters read as empty).
func ceremonyEvents(env *chusmev1.Envelope) []*chusmev1.CeremonyEvent {
	out := append(env.GetCeremonySyncResponse().GetCeremonies(), env.GetCeremonyEvent(), env.GetCeremonyResponse().GetCeremony())
	return append(out, env.GetCeremonyList().GetCeremonies()...)
}
