package wsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/tokens"
	"github.com/chusme/chusme/internal/wsapi"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// user is a registered, logged-in identity.
type user = servertest.Member

// world is a running server with an administrator and n more users.
func world(t *testing.T, n int, args ...string) (*servertest.Server, []*user) {
	t.Helper()
	srv := servertest.Start(t, append([]string{"--registration", "open"}, args...)...)
	return srv, srv.Members(t, n+1)
}

func wsURL(srv *servertest.Server, query string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?" + query
}

func ticket(t *testing.T, srv *servertest.Server, access string) string {
	t.Helper()
	r := testkit.Do(t, "POST", srv.URL+"/v1/ws/tickets", access, nil)
	var tr chusme.WSTicketResponse
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &tr) != nil || tr.Ticket == "" {
		t.Fatalf("POST /v1/ws/tickets: %d %s", r.Status, r.Body)
	}
	return tr.Ticket
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func send(t *testing.T, ws *websocket.Conn, env *chusmev1.Envelope) {
	t.Helper()
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatal(err)
	}
}

// next reads the next Envelope (within 10 s).
func next(t *testing.T, ws *websocket.Conn) *chusmev1.Envelope {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var env chusmev1.Envelope
	if mt != websocket.BinaryMessage || proto.Unmarshal(b, &env) != nil {
		t.Fatalf("not an Envelope: type %d, %x", mt, b)
	}
	return &env
}

// recv reads the next Envelope that is not a pushed event.
func recv(t *testing.T, ws *websocket.Conn) *chusmev1.Envelope {
	t.Helper()
	for {
		if env := next(t, ws); env.GetRequestId() != 0 || (env.GetCeremonyEvent() == nil && env.GetCeremonyChange() == nil) {
			return env
		}
	}
}

// closeCode reads until the connection ends and returns the close code.
func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

func serverInfo(t *testing.T, ws *websocket.Conn, id uint64) *chusmev1.ServerInfoResponse {
	t.Helper()
	send(t, ws, &chusmev1.Envelope{RequestId: id, Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}})
	env := recv(t, ws)
	if env.GetRequestId() != id || env.GetServerInfoResponse() == nil {
		t.Fatalf("answer to server info %d: %v", id, env)
	}
	return env.GetServerInfoResponse()
}

func TestTicketConnectsOnce(t *testing.T) {
	srv, us := world(t, 1)
	tk := ticket(t, srv, us[1].Access(t))
	ws := dial(t, wsURL(srv, "ticket="+tk))
	info := serverInfo(t, ws, 1)
	if info.GetFingerprint() != us[1].Fingerprint || info.GetName() != "chusme" || info.GetIssuer() != srv.URL {
		t.Errorf("server info = %v", info)
	}
	again := dial(t, wsURL(srv, "ticket="+tk))
	if code := closeCode(t, again); code != chusmev1.CloseTokenInvalid {
		t.Errorf("second use of a ticket: close %d, want %d", code, chusmev1.CloseTokenInvalid)
	}
	if strings.Contains(srv.Logs(), tk) {
		t.Error("the server logged a ticket")
	}
}

func TestTokenInQuery(t *testing.T) {
	srv, us := world(t, 1)
	access := us[1].Access(t)
	ws := dial(t, wsURL(srv, "token="+access))
	if fp := serverInfo(t, ws, 42).GetFingerprint(); fp != us[1].Fingerprint {
		t.Errorf("fingerprint %s, want %s", fp, us[1].Fingerprint)
	}
	if strings.Contains(srv.Logs(), access) {
		t.Error("the server logged an access token")
	}
}

func TestRefusedCredentialsCloseCodes(t *testing.T) {
	srv, us := world(t, 2)
	tk, _ := us[1].Tokens.Load(t.Context())
	kr, err := tokens.LoadFile(filepath.Join(srv.DataDir, "jwt-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	old := &tokens.Issuer{Keys: kr, Issuer: srv.URL, Audience: srv.URL, Now: func() time.Time { return time.Now().Add(-time.Hour) }}
	expired, _, err := old.Issue(us[1].Fingerprint, tk.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"expired_token_4001", "token=" + expired, chusmev1.CloseTokenExpired},
		{"invalid_token_4002", "token=not-a-jwt", chusmev1.CloseTokenInvalid},
		{"unknown_ticket_4002", "ticket=AAAAAAAAAAAAAAAAAAAAAAAAAA", chusmev1.CloseTokenInvalid},
		{"no_credential_4002", "", chusmev1.CloseTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := closeCode(t, dial(t, wsURL(srv, tc.query))); code != tc.want {
				t.Errorf("close %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("banned_4003_live_and_new", func(t *testing.T) {
		victim := us[2]
		access := victim.Access(t)
		live := dial(t, wsURL(srv, "ticket="+ticket(t, srv, access)))
		serverInfo(t, live, 1) // registered before the ban
		if _, err := us[0].Client.Ban(t.Context(), victim.Fingerprint); err != nil {
			t.Fatal(err)
		}
		if code := closeCode(t, live); code != chusmev1.CloseBanned {
			t.Errorf("live connection of a banned identity: close %d, want %d", code, chusmev1.CloseBanned)
		}
		if code := closeCode(t, dial(t, wsURL(srv, "token="+access))); code != chusmev1.CloseBanned {
			t.Errorf("new connection of a banned identity: close %d, want %d", code, chusmev1.CloseBanned)
		}
	})
}

func TestUnknownPayloadGetsErrorAndConnectionStays(t *testing.T) {
	srv, us := world(t, 1)
	ws := dial(t, wsURL(srv, "token="+us[1].Access(t)))

	// Field 99 is no payload this server knows (a newer client's request).
	unknown := []byte{0x08, 0x07}               // request_id = 7
	unknown = append(unknown, 0x98, 0x06, 0x01) // field 99, varint 1
	if err := ws.WriteMessage(websocket.BinaryMessage, unknown); err != nil {
		t.Fatal(err)
	}
	env := recv(t, ws)
	if env.GetRequestId() != 7 || env.GetError().GetCode() != "unknown_payload" {
		t.Errorf("answer to an unknown payload: %v", env)
	}
	// A payload only the server sends is unknown as a request too.
	send(t, ws, &chusmev1.Envelope{RequestId: 8, Payload: &chusmev1.Envelope_ServerInfoResponse{ServerInfoResponse: &chusmev1.ServerInfoResponse{}}})
	if env := recv(t, ws); env.GetRequestId() != 8 || env.GetError().GetCode() != "unknown_payload" {
		t.Errorf("answer to a server-only payload: %v", env)
	}
	// Garbage and text frames get invalid_message.
	ws.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xff, 0xff})
	if env := recv(t, ws); env.GetError().GetCode() != "invalid_message" {
		t.Errorf("answer to garbage: %v", env)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"hello":1}`))
	if env := recv(t, ws); env.GetError().GetCode() != "invalid_message" {
		t.Errorf("answer to a text frame: %v", env)
	}
	serverInfo(t, ws, 9) // still open
}

func TestOversizedMessageCloses1009(t *testing.T) {
	srv, us := world(t, 1)
	ws := dial(t, wsURL(srv, "token="+us[1].Access(t)))
	ws.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{0}, wsapi.MaxMessage+1))
	if code := closeCode(t, ws); code != websocket.CloseMessageTooBig {
		t.Errorf("close %d, want %d", code, websocket.CloseMessageTooBig)
	}
}

func TestOriginChecked(t *testing.T) {
	srv, us := world(t, 1, "--ws-origins", "https://app.example")
	access := us[1].Access(t)
	for _, tc := range []struct {
		origin string
		ok     bool
	}{{"https://app.example", true}, {"https://evil.example", false}, {"", true}} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, "token="+access), h)
		if tc.ok != (err == nil) {
			t.Errorf("origin %q: err %v, want ok=%v", tc.origin, err, tc.ok)
		}
		if err == nil {
			ws.Close()
		} else if resp != nil && resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: status %d, want 403", tc.origin, resp.StatusCode)
		}
	}
}

func TestShutdownCloses1001(t *testing.T) {
	srv, us := world(t, 1)
	ws := dial(t, wsURL(srv, "token="+us[1].Access(t)))
	serverInfo(t, ws, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- closeCode(t, ws) }()
	srv.Stop(t)
	select {
	case code := <-done:
		if code != chusmev1.CloseGoingAway {
			t.Errorf("close %d at shutdown, want %d", code, chusmev1.CloseGoingAway)
		}
	case <-ctx.Done():
		t.Fatal("no close frame at shutdown")
	}
}

func TestCeremonyEventsPushedAndSync(t *testing.T) {
	srv, us := world(t, 2)
	ws := dial(t, wsURL(srv, "ticket="+ticket(t, srv, us[1].Access(t))))
	serverInfo(t, ws, 1) // registered before the ceremony starts
	info, err := us[0].Client.StartDKG(t.Context(), us[0].Key, 2, []string{us[1].Fingerprint, us[2].Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var env chusmev1.Envelope
	if err := proto.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	ev := env.GetCeremonyEvent()
	if ev.GetCeremonyId() != info.ID || ev.GetVersion() != info.Version || ev.GetStatus() != chusme.CeremonyOpen ||
		ev.GetKind() != chusme.KindDKG || len(ev.GetParticipants()) != 2 || ev.GetRound() != 1 || ev.GetRounds() != 3 {
		t.Errorf("pushed event %v, want ceremony %s version %d", ev, info.ID, info.Version)
	}
	// A reconnecting client catches up: every open ceremony, or one after a version.
	send(t, ws, &chusmev1.Envelope{RequestId: 2, Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{}}})
	if got := recv(t, ws).GetCeremonySyncResponse().GetCeremonies(); len(got) != 1 || got[0].GetCeremonyId() != info.ID {
		t.Errorf("sync of open ceremonies: %v", got)
	}
	send(t, ws, &chusmev1.Envelope{RequestId: 3, Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: info.ID, AfterVersion: info.Version}}})
	if env := recv(t, ws); env.GetRequestId() != 3 || env.GetCeremonySyncResponse() == nil || len(env.GetCeremonySyncResponse().GetCeremonies()) != 0 {
		t.Errorf("sync after the current version: %v", env)
	}
	send(t, ws, &chusmev1.Envelope{RequestId: 4, Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: info.ID}}})
	if got := recv(t, ws).GetCeremonySyncResponse().GetCeremonies(); len(got) != 1 || got[0].GetVersion() != info.Version {
		t.Errorf("sync from version 0: %v", got)
	}
	// An outsider (the admin created it, so it's a member; use a fresh id) sees not_found.
	send(t, ws, &chusmev1.Envelope{RequestId: 5, Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: strings.Repeat("0", 32)}}})
	if env := recv(t, ws); env.GetError().GetCode() != chusme.CodeNotFound {
		t.Errorf("sync of an unknown ceremony: %v", env)
	}
}

// A connection opened with ?token= ends with 4001 when its access token
// expires (checked at every ping).
func TestTokenConnectionClosed4001AtExpiry(t *testing.T) {
	srv, us := world(t, 1, "--ws-ping-interval", "50ms")
	tk, _ := us[1].Tokens.Load(t.Context())
	kr, err := tokens.LoadFile(filepath.Join(srv.DataDir, "jwt-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Issued so that it expires within two seconds.
	soon := &tokens.Issuer{Keys: kr, Issuer: srv.URL, Audience: srv.URL, Now: func() time.Time { return time.Now().Add(-tokens.AccessTTL + 2*time.Second) }}
	access, _, err := soon.Issue(us[1].Fingerprint, tk.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	ws := dial(t, wsURL(srv, "token="+access))
	serverInfo(t, ws, 1)
	if code := closeCode(t, ws); code != chusmev1.CloseTokenExpired {
		t.Errorf("close %d at token expiry, want %d", code, chusmev1.CloseTokenExpired)
	}
}

// Submissions that leave a ceremony in its round are pushed as
// CeremonyChanges, each on the version pushed before it (the creation's
// whole state first), naming the new submitters; applied in turn they give
// the state the server stores. The round's last submission is pushed whole.
func TestSubmissionsPushedAsChanges(t *testing.T) {
	srv, us := world(t, 3)
	ws := connect(t, srv, us[1])
	parts := []string{us[1].Fingerprint, us[2].Fingerprint, us[3].Fingerprint}
	info, err := us[0].Client.StartDKG(t.Context(), us[0].Key, 2, parts)
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ws).GetCeremonyEvent(); ev.GetVersion() != info.Version || len(ev.GetMissing()) != 3 {
		t.Fatalf("the creation pushed %v, want the whole state at version %d", ev, info.Version)
	}
	for _, u := range us[2:] {
		if ans, err := u.Client.Submit(t.Context(), info.ID, 1, dkgRound1(t, u, info.ID, u.Fingerprint)); err != nil || ans.Ceremony != nil {
			t.Fatalf("submission answered %+v, %v; want the change only", ans, err)
		}
	}
	stored, err := us[1].Client.Ceremony(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	version, added := info.Version, []string{}
	for version < stored.Version {
		ch := next(t, ws).GetCeremonyChange()
		if ch == nil || ch.GetBaseVersion() != version || ch.GetRound() != 1 || ch.GetStatus() != chusme.CeremonyOpen {
			t.Fatalf("pushed %v, want a change on version %d", ch, version)
		}
		version, added = ch.GetVersion(), append(added, ch.GetSubmitted()...)
		if ch.GetNeeded() != int32(3-len(added)) {
			t.Errorf("change %v needs %d, want %d", ch, ch.GetNeeded(), 3-len(added))
		}
	}
	slices.Sort(added)
	if version != stored.Version || !reflect.DeepEqual(added, stored.Submitted) {
		t.Fatalf("changes to version %d adding %v; stored: version %d, submitted %v", version, added, stored.Version, stored.Submitted)
	}
	if ans, err := us[1].Client.Submit(t.Context(), info.ID, 1, dkgRound1(t, us[1], info.ID, us[1].Fingerprint)); err != nil ||
		ans.Ceremony == nil || ans.Ceremony.Round != 2 || ans.Round != 2 || ans.Version != version+1 {
		t.Fatalf("the round's last submission answered %+v, %v; want round 2's whole state", ans, err)
	}
	if ev := next(t, ws).GetCeremonyEvent(); ev.GetRound() != 2 || ev.GetVersion() != version+1 || len(ev.GetParticipants()) != 3 {
		t.Fatalf("the round's last submission pushed %v, want round 2's whole state", ev)
	}
}
