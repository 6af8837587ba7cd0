package ceremony

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlite"
)

// TestDirectHeldBeforeTold: the submission that completes a DKG's round 2
// keeps its packages in memory before the ceremony's change is told to
// anyone (the listeners that push it), so that the recipients, who read
// their round-2 inboxes as soon as they hear of round 3, are answered from
// memory and not by reading the whole round back from the store.
func TestDirectHeldBeforeTold(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chusme.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fps := []string{chusme.Fingerprint([]byte("a")), chusme.Fingerprint([]byte("b"))}
	slices.Sort(fps)
	now := time.Now().UTC()
	c := chusme.Ceremony{ID: "c1", Kind: chusme.KindDKG, Creator: fps[0], Status: chusme.CeremonyOpen, Round: 2, Threshold: 2,
		Participants: fps, Deadline: now.Add(time.Hour), Version: 1, CreatedAt: now, UpdatedAt: now, RoundStarted: now,
		RequestNonce: []byte("nonce-0123456789"), RequestSignature: make([]byte, 64)}
	if err := db.CreateCeremony(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{}, nil, slog.New(slog.DiscardHandler))
	var held []bool
	s.OnChange(func(c chusme.Ceremony) {
		for _, fp := range c.Participants {
			_, ok := s.directInbox(c, fp)
			held = append(held, ok)
		}
	})
	for i, sender := range fps {
		to := fps[1-i]
		_, err := s.update(t.Context(), c.ID, func(st *chusme.CeremonyState) error {
			cur := &st.Ceremony
			st.Add = []chusme.CeremonySubmission{{CeremonyID: c.ID, Round: 2, Sender: sender, Recipient: to,
				Payload: []byte("package to " + to), Signature: make([]byte, 64), CreatedAt: now}}
			cur.Submitted = append(cur.Submitted, sender)
			if cur.Needed() > 0 {
				return nil
			}
			return s.move(cur, chusme.CeremonyOpen, 3)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []bool{false, false, true, true}; !slices.Equal(held, want) {
		t.Fatalf("round-2 inboxes held when each change was told: %v, want %v (all once the round is complete)", held, want)
	}
}
