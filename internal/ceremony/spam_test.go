package ceremony_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/testkit"
)

// TestOpenCeremoniesBounded: a creator with --ceremony-open-max open
// ceremonies is refused another, over HTTP (409) and over the WebSocket,
// with too_many_open_ceremonies and nothing stored; another creator is not
// affected, and a cancelled ceremony frees its place.
func TestOpenCeremoniesBounded(t *testing.T) {
	p := newParty(t, 3, "--ceremony-open-max", "2")
	spammer, victim, other := p.members[0], p.members[1], p.members[2]
	fps := []string{spammer.Fingerprint, victim.Fingerprint}
	var first chusme.CeremonyInfo
	for i := range 2 {
		info, err := spammer.Client.StartDKG(t.Context(), spammer.Key, 2, fps)
		if err != nil {
			t.Fatalf("DKG %d: %v", i, err)
		}
		if i == 0 {
			first = info
		}
	}
	req, err := spammer.Client.SignCeremonyRequest(t.Context(), spammer.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2, Participants: fps})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Do(t, http.MethodPost, p.srv.URL+"/v1/ceremonies", spammer.Access(t), req).
		Expect(t, http.StatusConflict, chusme.CodeTooManyOpenCeremonies)
	ceremonyAPI(t, spammer)
	_, err = spammer.Client.StartDKG(t.Context(), spammer.Key, 2, fps)
	if chusme.ErrorCode(err) != chusme.CodeTooManyOpenCeremonies {
		t.Fatalf("third open DKG over the WebSocket: %v, want %s", err, chusme.CodeTooManyOpenCeremonies)
	}
	if list, err := victim.Client.Ceremonies(t.Context(), chusme.CeremonyOpen); err != nil || len(list) != 2 {
		t.Fatalf("the victim sees %d open ceremonies (%v), want the 2 stored", len(list), err)
	}
	if _, err := other.Client.StartDKG(t.Context(), other.Key, 2, []string{other.Fingerprint, victim.Fingerprint}); err != nil {
		t.Fatalf("another creator refused: %v", err)
	}
	if _, err := spammer.Client.CancelCeremony(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := spammer.Client.StartDKG(t.Context(), spammer.Key, 2, fps); err != nil {
		t.Fatalf("after a cancellation: %v", err)
	}
}

// TestSpamDoesNotHideInvitations: 105 ceremonies by a spammer after one
// real invitation; the invited identity finds the invitation on the second
// page over HTTP and over the WebSocket (lists and catch-up), and keeps
// only it with its contacts; a bad cursor is refused and changes nothing.
func TestSpamDoesNotHideInvitations(t *testing.T) {
	p := newParty(t, 3, "--ceremony-open-max", "200")
	friend, victim, spammer := p.members[0], p.members[1], p.members[2]
	real, err := friend.Client.StartDKG(t.Context(), friend.Key, 2, []string{friend.Fingerprint, victim.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 105 {
		if _, err := spammer.Client.StartDKG(t.Context(), spammer.Key, 2, []string{spammer.Fingerprint, victim.Fingerprint}); err != nil {
			t.Fatalf("spam %d: %v", i, err)
		}
	}
	has := func(list []chusme.CeremonyInfo) bool {
		return slices.ContainsFunc(list, func(c chusme.CeremonyInfo) bool { return c.ID == real.ID })
	}
	check := func(how string, c *client.Client) {
		t.Helper()
		page, err := c.CeremonyPage(t.Context(), chusme.CeremonyListQuery{Status: chusme.CeremonyOpen})
		if err != nil || len(page.Ceremonies) != chusme.MaxCeremonyListLimit || page.NextCursor == "" || has(page.Ceremonies) {
			t.Fatalf("%s: first page of %d, next %q, %v: want %d spam ceremonies and a cursor",
				how, len(page.Ceremonies), page.NextCursor, err, chusme.MaxCeremonyListLimit)
		}
		next, err := c.CeremonyPage(t.Context(), chusme.CeremonyListQuery{Status: chusme.CeremonyOpen, Cursor: page.NextCursor, Limit: 3})
		if err != nil || len(next.Ceremonies) != 3 || next.NextCursor == "" {
			t.Fatalf("%s: second page of %d, next %q, %v: want 3 and a cursor", how, len(next.Ceremonies), next.NextCursor, err)
		}
		all, err := c.Ceremonies(t.Context(), "")
		if err != nil || len(all) != 106 || !has(all) || all[len(all)-1].ID != real.ID {
			t.Fatalf("%s: all pages: %d ceremonies, %v; want 106 ending with the invitation", how, len(all), err)
		}
		for _, bad := range []string{"%%%", page.NextCursor + "A", page.NextCursor[:len(page.NextCursor)-1], "AAAA"} {
			if _, err := c.CeremonyPage(t.Context(), chusme.CeremonyListQuery{Cursor: bad}); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
				t.Fatalf("%s: cursor %q: %v, want %s", how, bad, err, chusme.CodeInvalidRequest)
			}
		}
		if _, err := c.CeremonyPage(t.Context(), chusme.CeremonyListQuery{Limit: chusme.MaxCeremonyListLimit + 1}); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
			t.Fatalf("%s: limit 101: %v, want %s", how, err, chusme.CodeInvalidRequest)
		}
		if again, err := c.Ceremonies(t.Context(), ""); err != nil || len(again) != 106 {
			t.Fatalf("%s: after the refusals: %d ceremonies, %v", how, len(again), err)
		}
	}
	check("HTTP", victim.Client)

	// The raw answer names the cursor next_cursor; a bad one is a problem.
	var raw map[string]json.RawMessage
	testkit.Do(t, http.MethodGet, p.srv.URL+"/v1/ceremonies?limit=1", victim.Access(t), nil).Want(t, http.StatusOK, &raw)
	if len(raw["next_cursor"]) < 3 {
		t.Fatalf("GET ?limit=1 answered next_cursor %s", raw["next_cursor"])
	}
	for _, q := range []string{"cursor=%2F%2F", "limit=0", "limit=x", "limit=101"} {
		testkit.Do(t, http.MethodGet, p.srv.URL+"/v1/ceremonies?"+q, victim.Access(t), nil).
			Expect(t, http.StatusBadRequest, chusme.CodeInvalidRequest)
	}

	rt := ceremonyAPI(t, victim)
	check("WebSocket", victim.Client)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	synced, err := rt.Sync(ctx, "", 0)
	if err != nil || len(synced) != 106 || !has(synced) {
		t.Fatalf("catch-up: %d ceremonies, %v; want 106 with the invitation", len(synced), err)
	}

	book := client.NewContactBook(filepath.Join(t.TempDir(), client.ContactsFileName))
	if _, err := book.Add("friend", friend.Fingerprint); err != nil {
		t.Fatal(err)
	}
	mine, err := book.FromContacts(synced)
	if err != nil || len(mine) != 1 || mine[0].ID != real.ID {
		t.Fatalf("from contacts: %d ceremonies, %v; want only the invitation", len(mine), err)
	}
}

// ceremonyAPI connects m's realtime WebSocket with the ceremony API on it
// (every ceremony call of m's client then goes over it) and waits until it
// is up.
func ceremonyAPI(t *testing.T, m *member) *client.Realtime {
	t.Helper()
	up := make(chan struct{}, 1)
	rt := m.Client.Realtime(t.Context(), client.RealtimeOptions{CeremonyAPI: true, OnState: func(connected bool, _ error) {
		if connected {
			select {
			case up <- struct{}{}:
			default:
			}
		}
	}})
	t.Cleanup(rt.Close)
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("no WebSocket")
	}
	return rt
}
