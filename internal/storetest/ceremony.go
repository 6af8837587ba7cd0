package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// The ceremony cases join the suite at package initialisation, so that
// storetest.go needs no edit to carry them.
func init() {
	tests = append(tests, []storeCase{
		{"CreateCeremony/round_trips_every_field", testCeremonyRoundTrip},
		{"CreateCeremony/duplicate_id_conflicts", testCeremonyDuplicate},
		{"CreateCeremony/reused_request_nonce_conflicts", testCeremonyRequestNonce},
		{"GetCeremony/unknown_not_found", testCeremonyUnknown},
		{"UpdateCeremony/writes_and_bumps_version", testCeremonyUpdate},
		{"UpdateCeremony/unchanged_writes_nothing", testCeremonyUnchanged},
		{"UpdateCeremony/error_rolls_back", testCeremonyRollback},
		{"UpdateCeremony/unknown_not_found", testCeremonyUpdateUnknown},
		{"UpdateCeremony/sees_current_round_submissions", testCeremonyStateSubmissions},
		{"ListInbox_and_ListSent", testCeremonyInboxAndSent},
		{"UpdateCeremony/point_to_point_packages_round_trip", testCeremonyPackages},
		{"UpdateCeremony/point_to_point_packages_one_slot", testCeremonyPackagesSlot},
		{"UpdateCeremony/duplicate_slot_conflicts", testCeremonySlotConflict},
		{"UpdateCeremony/reused_commitment_refused_and_rolled_back", testCeremonyCommitmentReused},
		{"UpdateCeremony/concurrent_updates_serialized", testCeremonyConcurrent},
		{"UpdateCeremony/group_key_round_trips", testGroupKey},
		{"GetGroupKey/unknown_not_found", testGroupKeyUnknown},
		{"UpdateCeremony/group_key_generations", testGroupKeyGenerations},
		{"ListCeremonies/by_member_and_status", testCeremonyList},
		{"ListCeremonies/pages_after_cursor", testCeremonyListPages},
		{"CountOpenCeremonies/by_creator", testCountOpenCeremonies},
		{"DueCeremonies/open_past_deadline_only", testCeremonyDue},
	}...)
}

var ceremonyT0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newCeremony(id string, at time.Time) chusme.Ceremony {
	return chusme.Ceremony{
		ID: id, Kind: chusme.KindSign, Creator: "creator-" + id, Status: chusme.CeremonyOpen, Round: 1,
		Threshold: 2, Participants: []string{"alice", "bob", "carol"}, KeyID: "key-1", Message: []byte("hello"),
		Submitted: []string{}, Deadline: at.Add(5 * time.Minute), Version: 1,
		CreatedAt: at, UpdatedAt: at, RoundStarted: at, Culprits: []string{},
	}
}

func mustCreateCeremony(t *testing.T, s chusme.Store, c chusme.Ceremony) {
	t.Helper()
	if err := s.CreateCeremony(ctx(t), c); err != nil {
		t.Fatalf("CreateCeremony: %v", err)
	}
}

func mustGetCeremony(t *testing.T, s chusme.Store, id string) chusme.Ceremony {
	t.Helper()
	c, err := s.GetCeremony(ctx(t), id)
	if err != nil {
		t.Fatalf("GetCeremony: %v", err)
	}
	return c
}

func wantCeremony(t *testing.T, got, want chusme.Ceremony) {
	t.Helper()
	norm := func(c chusme.Ceremony) string {
		for _, l := range []*[]string{&c.Participants, &c.Submitted, &c.Culprits} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		for _, b := range []*[]byte{&c.Message, &c.Transcript, &c.SigningPackage, &c.Signature, &c.RequestNonce, &c.RequestSignature} {
			if len(*b) == 0 {
				*b = nil
			}
		}
		return fmt.Sprintf("%+v", c)
	}
	if g, w := norm(got), norm(want); g != w {
		t.Fatalf("ceremony:\n got %s\nwant %s", g, w)
	}
}

func testCeremonyRoundTrip(t *testing.T, s chusme.Store) {
	c := newCeremony("c1", ceremonyT0)
	c.Transcript, c.SigningPackage, c.Signature = []byte{1}, []byte{2}, []byte{3}
	c.FailureReason, c.FailureMessage, c.Culprits = "deadline", "late", []string{"bob"}
	c.ResultKeyID, c.Submitted = "key-2", []string{"alice"}
	c.RequestDeadline, c.RequestNonce, c.RequestSignature = ceremonyT0.Add(time.Hour).Unix(), bytes.Repeat([]byte{4}, 16), bytes.Repeat([]byte{5}, 64)
	mustCreateCeremony(t, s, c)
	wantCeremony(t, mustGetCeremony(t, s, "c1"), c)
}

// testCeremonyRequestNonce: a creator's request nonce is used once (the
// second ceremony is not stored, nor listed for its members); another
// creator may use the same bytes, and ceremonies without a nonce never
// collide.
func testCeremonyRequestNonce(t *testing.T, s chusme.Store) {
	nonce := bytes.Repeat([]byte{7}, 16)
	withNonce := func(id, creator string, nonce []byte) chusme.Ceremony {
		c := newCeremony(id, ceremonyT0)
		c.Creator, c.RequestNonce, c.RequestSignature = creator, nonce, bytes.Repeat([]byte{1}, 64)
		return c
	}
	mustCreateCeremony(t, s, withNonce("c1", "alice", nonce))
	wantCode(t, "CreateCeremony with a reused nonce", s.CreateCeremony(ctx(t), withNonce("c2", "alice", nonce)), chusme.CodeConflict)
	_, err := s.GetCeremony(ctx(t), "c2")
	wantCode(t, "GetCeremony of the refused ceremony", err, chusme.CodeNotFound)
	list, err := s.ListCeremonies(ctx(t), chusme.CeremonyFilter{Member: "bob"})
	if err != nil || len(list) != 1 || list[0].ID != "c1" {
		t.Fatalf("bob's ceremonies = %v, %v; want only c1", list, err)
	}
	mustCreateCeremony(t, s, withNonce("c3", "bob", nonce))
	mustCreateCeremony(t, s, withNonce("c4", "alice", nil))
	mustCreateCeremony(t, s, withNonce("c5", "alice", nil))
}

func testCeremonyDuplicate(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	wantCode(t, "CreateCeremony twice", s.CreateCeremony(ctx(t), newCeremony("c1", ceremonyT0)), chusme.CodeConflict)
}

func testCeremonyUnknown(t *testing.T, s chusme.Store) {
	_, err := s.GetCeremony(ctx(t), "nope")
	wantCode(t, "GetCeremony", err, chusme.CodeNotFound)
}

func sub(id string, round int, sender, recipient string, payload string) chusme.CeremonySubmission {
	return chusme.CeremonySubmission{CeremonyID: id, Round: round, Sender: sender, Recipient: recipient,
		Payload: []byte(payload), Signature: []byte("sig-" + payload), CreatedAt: ceremonyT0}
}

func testCeremonyUpdate(t *testing.T, s chusme.Store) {
	c := newCeremony("c1", ceremonyT0)
	mustCreateCeremony(t, s, c)
	later := ceremonyT0.Add(time.Second)
	got, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		st.Ceremony.Round = 2
		st.Ceremony.Submitted = []string{"alice"}
		st.Ceremony.UpdatedAt, st.Ceremony.RoundStarted, st.Ceremony.Deadline = later, later, later.Add(time.Minute)
		st.Ceremony.SigningPackage = []byte("pkg")
		st.Ceremony.Version = 99 // ignored: the store sets it
		st.Add = []chusme.CeremonySubmission{sub("c1", 1, "alice", "", "a"), sub("c1", 1, "bob", "", "b")}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateCeremony: %v", err)
	}
	want := c
	want.Round, want.Submitted, want.SigningPackage = 2, []string{"alice"}, []byte("pkg")
	want.UpdatedAt, want.RoundStarted, want.Deadline, want.Version = later, later, later.Add(time.Minute), 2
	wantCeremony(t, got, want)
	wantCeremony(t, mustGetCeremony(t, s, "c1"), want)
	subs, err := s.ListSubmissions(ctx(t), "c1", 1)
	if err != nil || len(subs) != 2 || subs[0].Sender != "alice" || string(subs[1].Payload) != "b" ||
		string(subs[1].Signature) != "sig-b" || !subs[0].CreatedAt.Equal(ceremonyT0) {
		t.Fatalf("ListSubmissions: %+v, %v", subs, err)
	}
	if subs, _ := s.ListSubmissions(ctx(t), "c1", 2); len(subs) != 0 {
		t.Fatalf("round 2 has %d submissions", len(subs))
	}
}

func testCeremonyUnchanged(t *testing.T, s chusme.Store) {
	c := newCeremony("c1", ceremonyT0)
	mustCreateCeremony(t, s, c)
	got, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		st.Ceremony.Status = chusme.CeremonyFailed
		st.Add = []chusme.CeremonySubmission{sub("c1", 1, "alice", "", "a")}
		return chusme.ErrUnchanged
	})
	if err != nil {
		t.Fatalf("UpdateCeremony: %v", err)
	}
	wantCeremony(t, got, c)
	wantCeremony(t, mustGetCeremony(t, s, "c1"), c)
	if subs, _ := s.ListSubmissions(ctx(t), "c1", 1); len(subs) != 0 {
		t.Fatal("an unchanged update wrote a submission")
	}
}

func testCeremonyRollback(t *testing.T, s chusme.Store) {
	c := newCeremony("c1", ceremonyT0)
	mustCreateCeremony(t, s, c)
	boom := errors.New("boom")
	_, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		st.Ceremony.Status = chusme.CeremonyFailed
		st.Add = []chusme.CeremonySubmission{sub("c1", 1, "alice", "", "a")}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateCeremony: %v, want the callback's error", err)
	}
	wantCeremony(t, mustGetCeremony(t, s, "c1"), c)
}

func testCeremonyUpdateUnknown(t *testing.T, s chusme.Store) {
	called := false
	_, err := s.UpdateCeremony(ctx(t), "nope", func(*chusme.CeremonyState) error { called = true; return nil })
	wantCode(t, "UpdateCeremony", err, chusme.CodeNotFound)
	if called {
		t.Fatal("callback called for an unknown ceremony")
	}
}

func testCeremonyStateSubmissions(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	mustCreateCeremony(t, s, newCeremony("c2", ceremonyT0))
	if _, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		st.Add = []chusme.CeremonySubmission{sub("c1", 1, "alice", "", "a"), sub("c1", 2, "alice", "bob", "x")}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCeremony(ctx(t), "c2", func(st *chusme.CeremonyState) error {
		st.Add = []chusme.CeremonySubmission{sub("c2", 1, "carol", "", "c")}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var sent, none, casts []chusme.CeremonySubmission
	if _, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		var err error
		if sent, err = st.Sent("alice"); err != nil {
			return err
		}
		if none, err = st.Sent("bob"); err != nil {
			return err
		}
		casts, err = st.Broadcasts()
		if err != nil {
			return err
		}
		return chusme.ErrUnchanged
	}); err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string][]chusme.CeremonySubmission{"Sent(alice)": sent, "Broadcasts": casts} {
		if len(got) != 1 || got[0].Sender != "alice" || got[0].Round != 1 || !bytes.Equal(got[0].Payload, []byte("a")) {
			t.Fatalf("state %s %+v, want alice's round-1 package only", what, got)
		}
	}
	if len(none) != 0 {
		t.Fatalf("state Sent(bob) %+v, want none", none)
	}
}

// Payloads joins the payloads of subs, a store read's answer, with commas,
// failing t if the read returned err.
func Payloads(t *testing.T, subs []chusme.CeremonySubmission, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range subs {
		out = append(out, string(s.Payload))
	}
	return strings.Join(out, ",")
}

// ListInbox and ListSent read a round's packages by recipient and by sender.
func testCeremonyInboxAndSent(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	if _, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		st.Add = []chusme.CeremonySubmission{sub("c1", 2, "bob", "", "b"), sub("c1", 2, "alice", "bob", "ab"),
			sub("c1", 2, "alice", "carol", "ac"), sub("c1", 2, "carol", "alice", "ca"), sub("c1", 1, "dave", "alice", "old")}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	payloads := func(subs []chusme.CeremonySubmission, err error) string { return Payloads(t, subs, err) }
	for _, c := range []struct{ what, got, want string }{
		{"ListInbox(alice)", payloads(s.ListInbox(ctx(t), "c1", 2, "alice")), "b,ca"},
		{"ListInbox(bob)", payloads(s.ListInbox(ctx(t), "c1", 2, "bob")), "ab,b"},
		{"ListInbox(nobody)", payloads(s.ListInbox(ctx(t), "c1", 2, "nobody")), "b"},
		{"ListSent(alice)", payloads(s.ListSent(ctx(t), "c1", 2, "alice")), "ab,ac"},
		{"ListSent(dave)", payloads(s.ListSent(ctx(t), "c1", 2, "dave")), ""},
		{"ListInbox of another ceremony", payloads(s.ListInbox(ctx(t), "c2", 2, "alice")), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: payloads %q, want %q", c.what, c.got, c.want)
		}
	}
}

// A round's point-to-point packages come back as they went in, every
// field, bytewise ordered, whatever their times; broadcasts of the same
// round and sender with them.
func testCeremonyPackages(t *testing.T, s chusme.Store) {
	c := newCeremony("c1", ceremonyT0)
	c.Round = 2
	mustCreateCeremony(t, s, c)
	at := func(i int) time.Time { return ceremonyT0.Add(time.Duration(i) * time.Nanosecond) }
	p := func(sender, recipient string, i int) chusme.CeremonySubmission {
		return chusme.CeremonySubmission{CeremonyID: "c1", Round: 2, Sender: sender, Recipient: recipient,
			Payload: []byte{0, byte(i), 0xff}, Signature: bytes.Repeat([]byte{byte(i)}, i), CreatedAt: at(i)}
	}
	// "Bob" sorts before "alice" bytewise, not in a case-folding order.
	alice := []chusme.CeremonySubmission{p("alice", "carol", 1), p("alice", "Bob", 2), p("alice", "bob", 3)}
	carol := []chusme.CeremonySubmission{p("carol", "alice", 4), p("carol", "Bob", 5), p("carol", "bob", 6)}
	cast := sub("c1", 2, "carol", "", "cast")
	carol[2].CreatedAt = time.Time{}
	for _, add := range [][]chusme.CeremonySubmission{alice, append([]chusme.CeremonySubmission{cast}, carol...)} {
		if _, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
			st.Add = add
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	same := func(what string, got []chusme.CeremonySubmission, err error, want ...chusme.CeremonySubmission) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			g, w := got[i], want[i]
			ok = g.CeremonyID == w.CeremonyID && g.Round == w.Round && g.Sender == w.Sender && g.Recipient == w.Recipient &&
				bytes.Equal(g.Payload, w.Payload) && bytes.Equal(g.Signature, w.Signature) && g.CreatedAt.Equal(w.CreatedAt)
		}
		if !ok {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	subs, err := s.ListSubmissions(ctx(t), "c1", 2)
	same("ListSubmissions", subs, err, alice[1], alice[2], alice[0], cast, carol[1], carol[0], carol[2])
	subs, err = s.ListSent(ctx(t), "c1", 2, "carol")
	same("ListSent(carol)", subs, err, cast, carol[1], carol[0], carol[2])
	subs, err = s.ListInbox(ctx(t), "c1", 2, "bob")
	same("ListInbox(bob)", subs, err, alice[2], cast, carol[2])
	subs, err = s.ListInbox(ctx(t), "c1", 2, "alice")
	same("ListInbox(alice)", subs, err, cast, carol[0])
	subs, err = s.ListInbox(ctx(t), "c1", 3, "bob")
	same("ListInbox of round 3", subs, err)
	var sent []chusme.CeremonySubmission
	if _, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
		if sent, err = st.Sent("alice"); err != nil {
			return err
		}
		return chusme.ErrUnchanged
	}); err != nil {
		t.Fatal(err)
	}
	same("state Sent(alice)", sent, nil, alice[1], alice[2], alice[0])
	if got := payloadsOf(t, s, "c1", 1); got != 0 {
		t.Fatalf("round 1 holds %d submissions", got)
	}
}

// payloadsOf counts a round's submissions.
func payloadsOf(t *testing.T, s chusme.Store, id string, round int) int {
	t.Helper()
	subs, err := s.ListSubmissions(ctx(t), id, round)
	if err != nil {
		t.Fatal(err)
	}
	return len(subs)
}

// A sender's point-to-point packages of a round are one slot: a second
// update adding one, or two packages for one recipient, is CodeConflict
// and writes nothing.
func testCeremonyPackagesSlot(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	add := func(subs ...chusme.CeremonySubmission) error {
		_, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
			st.Ceremony.Submitted = append(st.Ceremony.Submitted, "alice")
			st.Add = subs
			return nil
		})
		return err
	}
	wantCode(t, "two packages for one recipient", add(sub("c1", 2, "alice", "bob", "x"), sub("c1", 2, "alice", "bob", "y")),
		chusme.CodeConflict)
	if got := payloadsOf(t, s, "c1", 2); got != 0 {
		t.Fatalf("the refused update stored %d packages", got)
	}
	if err := add(sub("c1", 2, "alice", "bob", "ab")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a second update of the slot", add(sub("c1", 2, "alice", "carol", "ac")), chusme.CodeConflict)
	if err := add(sub("c1", 3, "alice", "carol", "ac")); err != nil {
		t.Fatalf("the next round's packages: %v", err)
	}
	if c := mustGetCeremony(t, s, "c1"); c.Version != 3 {
		t.Fatalf("version %d after two updates, want 3", c.Version)
	}
	if got := payloadsOf(t, s, "c1", 2); got != 1 {
		t.Fatalf("round 2 holds %d packages, want alice's first", got)
	}
}

func testCeremonySlotConflict(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	add := func(payload string) error {
		_, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
			st.Ceremony.Submitted = append(st.Ceremony.Submitted, "alice")
			st.Add = []chusme.CeremonySubmission{sub("c1", 1, "alice", "", payload)}
			return nil
		})
		return err
	}
	if err := add("a"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second submission in the slot", add("b"), chusme.CodeConflict)
	if c := mustGetCeremony(t, s, "c1"); len(c.Submitted) != 1 || c.Version != 2 {
		t.Fatalf("conflicting update was written: %+v", c)
	}
}

func testCeremonyCommitmentReused(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	mustCreateCeremony(t, s, newCeremony("c2", ceremonyT0))
	other := newCeremony("c3", ceremonyT0)
	other.KeyID = "key-2"
	mustCreateCeremony(t, s, other)
	commit := func(id, sender string, digest []byte) error {
		_, err := s.UpdateCeremony(ctx(t), id, func(st *chusme.CeremonyState) error {
			st.Ceremony.Submitted = append(st.Ceremony.Submitted, sender)
			st.Add = []chusme.CeremonySubmission{sub(id, 1, sender, "", string(digest))}
			st.Commitments = [][]byte{digest}
			return nil
		})
		return err
	}
	if err := commit("c1", "alice", []byte("d1")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "same commitment, same key", commit("c2", "alice", []byte("d1")), chusme.CodeCommitmentReused)
	if c := mustGetCeremony(t, s, "c2"); c.Version != 1 || len(c.Submitted) != 0 {
		t.Fatalf("refused commitment left a write: %+v", c)
	}
	if subs, _ := s.ListSubmissions(ctx(t), "c2", 1); len(subs) != 0 {
		t.Fatal("refused commitment left a submission")
	}
	if err := commit("c3", "alice", []byte("d1")); err != nil {
		t.Fatalf("same digest under another key: %v", err)
	}
	if err := commit("c2", "bob", []byte("d2")); err != nil {
		t.Fatalf("fresh commitment: %v", err)
	}
}

func testCeremonyConcurrent(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
				st.Ceremony.Submitted = append(st.Ceremony.Submitted, fmt.Sprintf("p%02d", i))
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := mustGetCeremony(t, s, "c1")
	if len(c.Submitted) != n || c.Version != n+1 {
		t.Fatalf("lost updates: %d submitted, version %d", len(c.Submitted), c.Version)
	}
}

func testGroupKey(t *testing.T, s chusme.Store) {
	mustCreateCeremony(t, s, newCeremony("c1", ceremonyT0))
	k := chusme.GroupKey{
		ID: "k1", PublicKey: bytes.Repeat([]byte{7}, 32), Threshold: 2, Participants: []string{"alice", "bob", "carol"},
		VerifyingShares:  map[string][]byte{"alice": {1}, "bob": {2}, "carol": {3}},
		PublicKeyPackage: []byte("pkp"), CeremonyID: "c1", CreatedAt: ceremonyT0,
		Issuer: "https://id.example", Transcript: bytes.Repeat([]byte{9}, 32),
	}
	for i, fp := range k.Participants {
		k.Confirmations = append(k.Confirmations, chusme.GroupKeyConfirmation{Fingerprint: fp, HeadSeq: uint64(3 - i),
			HeadHash: bytes.Repeat([]byte{byte(i)}, 32), PublicKey: bytes.Repeat([]byte{byte(10 + i)}, 32), Signature: bytes.Repeat([]byte{byte(20 + i)}, 64),
			ShareSignature: bytes.Repeat([]byte{byte(30 + i)}, 64)})
	}
	put := func() error {
		_, err := s.UpdateCeremony(ctx(t), "c1", func(st *chusme.CeremonyState) error {
			st.Ceremony.ResultKeyID, st.Ceremony.PublicKey = k.ID, k.PublicKey
			st.Key = &k
			return nil
		})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGroupKey(ctx(t), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || !bytes.Equal(got.PublicKey, k.PublicKey) || got.Threshold != 2 ||
		!slices.Equal(got.Participants, k.Participants) || len(got.VerifyingShares) != 3 ||
		!bytes.Equal(got.VerifyingShares["bob"], []byte{2}) || string(got.PublicKeyPackage) != "pkp" ||
		got.CeremonyID != "c1" || !got.CreatedAt.Equal(ceremonyT0) || got.Issuer != k.Issuer || !bytes.Equal(got.Transcript, k.Transcript) ||
		!reflect.DeepEqual(got.Confirmations, k.Confirmations) || got.Generation != 1 {
		t.Fatalf("group key %+v, want %+v", got, k)
	}
	if c := mustGetCeremony(t, s, "c1"); !bytes.Equal(c.PublicKey, k.PublicKey) {
		t.Fatalf("ceremony public key %x, want %x", c.PublicKey, k.PublicKey)
	}
	wantCode(t, "group key twice", put(), chusme.CodeConflict)
}

// testGroupKeyGenerations moves a key through two more generations (a
// refresh that drops a participant, then a reshare to another threshold):
// the current one replaces the key's fields and certificate, each earlier
// one is read back whole (its kind and endorsements too), and a generation that does not follow the stored
// one, or another public key under the id, is a conflict that writes
// nothing.
func testGroupKeyGenerations(t *testing.T, s chusme.Store) {
	gen := func(g, threshold int, ceremony, kind string, parts ...string) chusme.GroupKey {
		k := chusme.GroupKey{ID: "k1", PublicKey: bytes.Repeat([]byte{7}, 32), Generation: g, Threshold: threshold,
			Participants: parts, VerifyingShares: map[string][]byte{}, PublicKeyPackage: []byte(fmt.Sprintf("pkp%d", g)),
			CeremonyID: ceremony, CreatedAt: ceremonyT0.Add(time.Duration(g) * time.Hour), Issuer: "https://id.example",
			Transcript: bytes.Repeat([]byte{byte(g)}, 32), Kind: kind}
		for i, fp := range parts {
			k.VerifyingShares[fp] = []byte{byte(10*g + i)}
			cf := chusme.GroupKeyConfirmation{Fingerprint: fp, HeadSeq: uint64(g),
				HeadHash: bytes.Repeat([]byte{byte(g)}, 32), PublicKey: bytes.Repeat([]byte{byte(i)}, 32), Signature: bytes.Repeat([]byte{byte(g + i)}, 64)}
			k.Confirmations = append(k.Confirmations, cf)
			if g > 1 && i < 2 {
				cf.Signature = bytes.Repeat([]byte{byte(100 + g + i)}, 64)
				k.Endorsements = append(k.Endorsements, cf)
			}
		}
		return k
	}
	put := func(ceremony string, k chusme.GroupKey) error {
		_, err := s.UpdateCeremony(ctx(t), ceremony, func(st *chusme.CeremonyState) error {
			st.Key = &k
			return nil
		})
		return err
	}
	gens := []chusme.GroupKey{
		gen(1, 2, "c1", chusme.KindDKG, "alice", "bob", "carol"),
		gen(2, 2, "c2", chusme.KindRefresh, "alice", "bob"),
		gen(3, 3, "c3", chusme.KindReshare, "alice", "bob", "dave", "erin"),
	}
	for i, k := range gens {
		mustCreateCeremony(t, s, newCeremony(k.CeremonyID, ceremonyT0))
		if i > 0 {
			skip := k
			skip.Generation++
			wantCode(t, "a generation skipped", put(k.CeremonyID, skip), chusme.CodeConflict)
			other := k
			other.PublicKey = bytes.Repeat([]byte{8}, 32)
			wantCode(t, "another public key", put(k.CeremonyID, other), chusme.CodeConflict)
		}
		if err := put(k.CeremonyID, k); err != nil {
			t.Fatalf("generation %d: %v", k.Generation, err)
		}
	}
	wantCode(t, "a generation twice", put("c3", gens[2]), chusme.CodeConflict)
	cur, err := s.GetGroupKey(ctx(t), "k1")
	if err != nil || !reflect.DeepEqual(cur, gens[2]) {
		t.Fatalf("current generation %+v, %v; want %+v", cur, err, gens[2])
	}
	for _, want := range gens {
		got, err := s.GetGroupKeyGeneration(ctx(t), "k1", want.Generation)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("generation %d: %+v, %v; want %+v", want.Generation, got, err, want)
		}
	}
	for _, g := range []int{0, 4} {
		_, err := s.GetGroupKeyGeneration(ctx(t), "k1", g)
		wantCode(t, fmt.Sprintf("generation %d", g), err, chusme.CodeNotFound)
	}
	_, err = s.GetGroupKeyGeneration(ctx(t), "nope", 1)
	wantCode(t, "GetGroupKeyGeneration", err, chusme.CodeNotFound)
}

func testGroupKeyUnknown(t *testing.T, s chusme.Store) {
	_, err := s.GetGroupKey(ctx(t), "nope")
	wantCode(t, "GetGroupKey", err, chusme.CodeNotFound)
}

func testCeremonyList(t *testing.T, s chusme.Store) {
	for i, id := range []string{"c1", "c2", "c3"} {
		c := newCeremony(id, ceremonyT0.Add(time.Duration(i)*time.Second))
		if id == "c3" {
			c.Participants = []string{"dave", "erin"}
			c.Status = chusme.CeremonyCompleted
		}
		mustCreateCeremony(t, s, c)
	}
	ids := func(f chusme.CeremonyFilter) []string {
		cs, err := s.ListCeremonies(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    chusme.CeremonyFilter
		want []string
	}{
		{chusme.CeremonyFilter{Member: "alice"}, []string{"c2", "c1"}},
		{chusme.CeremonyFilter{Member: "dave"}, []string{"c3"}},
		{chusme.CeremonyFilter{Member: "creator-c2"}, []string{"c2"}},
		{chusme.CeremonyFilter{Member: "nobody"}, nil},
		{chusme.CeremonyFilter{Status: chusme.CeremonyCompleted}, []string{"c3"}},
		{chusme.CeremonyFilter{Member: "alice", Status: chusme.CeremonyOpen, Limit: 1}, []string{"c2"}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("ListCeremonies(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	if n, err := s.CountCeremonies(ctx(t), chusme.CeremonyOpen); err != nil || n != 2 {
		t.Errorf("CountCeremonies(open) = %d, %v; want 2", n, err)
	}
}

func testCeremonyDue(t *testing.T, s chusme.Store) {
	early := newCeremony("early", ceremonyT0)
	early.Deadline = ceremonyT0.Add(time.Minute)
	late := newCeremony("late", ceremonyT0)
	late.Deadline = ceremonyT0.Add(time.Hour)
	done := newCeremony("done", ceremonyT0)
	done.Deadline, done.Status = ceremonyT0, chusme.CeremonyFailed
	for _, c := range []chusme.Ceremony{early, late, done} {
		mustCreateCeremony(t, s, c)
	}
	ids, err := s.DueCeremonies(ctx(t), ceremonyT0.Add(time.Minute))
	if err != nil || !slices.Equal(ids, []string{"early"}) {
		t.Fatalf("DueCeremonies = %v, %v; want [early]", ids, err)
	}
}

// testCeremonyListPages pages through ceremonies of which several share a
// creation time, with inserts between the pages: every one is listed once,
// newest first.
func testCeremonyListPages(t *testing.T, s chusme.Store) {
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		// p0..p2 at t0+2s, p3..p6 at t0+1s: ties broken by id.
		mustCreateCeremony(t, s, newCeremony(id, ceremonyT0.Add(time.Duration(2-min(i/3, 1))*time.Second)))
		want = append(want, id)
	}
	var got []string
	f := chusme.CeremonyFilter{Member: "alice", Limit: 3}
	for page := 0; ; page++ {
		cs, err := s.ListCeremonies(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if len(cs) < f.Limit {
			break
		}
		last := cs[len(cs)-1]
		f.After = chusme.CeremonyCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		// A newer ceremony arriving meanwhile doesn't shift the pages.
		mustCreateCeremony(t, s, newCeremony(fmt.Sprintf("new%d", page), ceremonyT0.Add(time.Hour)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages listed %v, want %v", got, want)
	}
}

func testCountOpenCeremonies(t *testing.T, s chusme.Store) {
	for i, id := range []string{"o1", "o2", "o3"} {
		c := newCeremony(id, ceremonyT0.Add(time.Duration(i)*time.Second))
		c.Creator = "mallory"
		if id == "o3" {
			c.Status = chusme.CeremonyFailed
		}
		mustCreateCeremony(t, s, c)
	}
	mustCreateCeremony(t, s, newCeremony("other", ceremonyT0))
	for creator, want := range map[string]int{"mallory": 2, "creator-other": 1, "alice": 0} {
		if n, err := s.CountOpenCeremonies(ctx(t), creator); err != nil || n != want {
			t.Errorf("CountOpenCeremonies(%s) = %d, %v; want %d", creator, n, err, want)
		}
	}
}
