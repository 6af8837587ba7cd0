package ceremony_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/chusme/chusme"
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

// TestDirectInboxMatchesStore: during round 3 of a DKG whose round-2
// packages were all stored through this node, each recipient's round-2
// inbox comes from the node's memory; it is the one the store answers once
// the ceremony is over (and the memory dropped).
func TestDirectInboxMatchesStore(t *testing.T) {
	p := newParty(t, 4)
	ms := p.members
	release := make(chan struct{})
	gated := p.srv.Gated(t, ms[3], 3, release)
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 3, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ms))
	for i, m := range append(ms[:3:3], gated) {
		wg.Go(func() { _, errs[i] = m.Client.RunDKG(t.Context(), info.ID, m.Key, nil) })
	}
	servertest.WaitSubmitted(t.Context(), t, ms[0].Client, info.ID, ms[0].Fingerprint, 3)
	during := make([]chusme.Inbox, len(ms))
	for i, m := range ms {
		if during[i], err = m.Client.Inbox(t.Context(), info.ID, 2); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		after, err := m.Client.Inbox(t.Context(), info.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Packages) != len(ms)-1 || !reflect.DeepEqual(during[i], after) {
			t.Fatalf("%s's round-2 inbox in round 3 (%d packages) is not the store's after the DKG (%d)", m.Fingerprint,
				len(during[i].Packages), len(after.Packages))
		}
	}
}
