package chusme_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chusme/chusme"
)

// progressCeremony is a t-of-n DKG in round 1 in which the participants
// at even positions have submitted.
func progressCeremony(t, n int) chusme.Ceremony {
	c := chusme.Ceremony{Kind: chusme.KindDKG, Round: 1, Threshold: t}
	for i := range n {
		fp := fmt.Sprintf("fp%03d", i)
		c.Participants = append(c.Participants, fp)
		if i%2 == 0 {
			c.Submitted = append(c.Submitted, fp)
		}
	}
	return c
}

func TestProgress(t *testing.T) {
	c := progressCeremony(67, 100)
	var odd []string
	for i := 1; i < 100; i += 2 {
		odd = append(odd, fmt.Sprintf("fp%03d", i))
	}
	if got := c.Missing(); !slices.Equal(got, odd) {
		t.Fatalf("Missing = %v, want the 50 at odd positions", got)
	}
	if got := c.Needed(); got != 50 {
		t.Fatalf("Needed = %d, want 50", got)
	}
	// A submitter that is not expected (one excluded from a signing
	// round, say) counts for nothing.
	c.Submitted = append(c.Submitted, "stranger")
	if got := c.Needed(); got != 50 {
		t.Fatalf("Needed with a stranger = %d, want 50", got)
	}
	c.Submitted = slices.Clone(c.Participants)
	if got, need := c.Missing(), c.Needed(); len(got) != 0 || need != 0 {
		t.Fatalf("all submitted: Missing = %v, Needed = %d", got, need)
	}
}

// BenchmarkProgress is the view's progress of a round half done, which
// every push and read of a ceremony computes: linear in n.
func BenchmarkProgress(b *testing.B) {
	for _, n := range []int{3, 100, 255} {
		c := progressCeremony(n*2/3, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				c.Missing()
				c.Needed()
			}
		})
	}
}
