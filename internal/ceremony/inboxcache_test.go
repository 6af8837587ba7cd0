package ceremony_test

import (
	"reflect"
	"testing"

	"github.com/chusme/chusme/internal/servertest"
)

// TestSharedInboxes: after a DKG, the broadcast rounds' inboxes (read once
// and then shared) are the same whole round for every participant, while
// round 2's stays each recipient's own packages.
func TestSharedInboxes(t *testing.T) {
	p := newParty(t, 4)
	res := servertest.DKG(t, p.members, 3)
	id := res[0].Ceremony.ID
	for _, round := range []int{1, 3} {
		first, err := p.members[0].Client.Inbox(t.Context(), id, round)
		if err != nil {
			t.Fatal(err)
		}
		if !first.Complete || len(first.Packages) != len(p.members) {
			t.Fatalf("round %d: complete %v with %d packages, want all %d", round, first.Complete, len(first.Packages), len(p.members))
		}
		for _, m := range p.members[1:] {
			in, err := m.Client.Inbox(t.Context(), id, round)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, first) {
				t.Fatalf("round %d: %s's inbox differs from the first participant's", round, m.Fingerprint)
			}
		}
	}
	for _, m := range p.members {
		for range 2 {
			in, err := m.Client.Inbox(t.Context(), id, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Packages) != len(p.members)-1 {
				t.Fatalf("round 2: %s has %d packages, want %d", m.Fingerprint, len(in.Packages), len(p.members)-1)
			}
			for _, pkg := range in.Packages {
				if pkg.Recipient != m.Fingerprint {
					t.Fatalf("round 2: %s was given a package to %s", m.Fingerprint, pkg.Recipient)
				}
			}
		}
	}
}
