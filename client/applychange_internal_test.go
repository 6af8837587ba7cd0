package client

import (
	"reflect"
	"testing"

	"github.com/chusme/chusme"
)

// TestApplyChange: a pushed change applies to the known state of its round
// at its base version or later (a catch-up answered between two pushes),
// giving the state at its version; a known state older than the base, or
// of another round, does not take it.
func TestApplyChange(t *testing.T) {
	state := func(version int64, submitted, missing []string) chusme.CeremonyInfo {
		return chusme.CeremonyInfo{ID: "c", Version: version, Round: 2, Status: chusme.CeremonyOpen,
			Submitted: submitted, Missing: missing, Needed: len(missing)}
	}
	// Between base 4 (a submitted) and version 7 (a, b, c, d), a sync
	// answered version 5 (a, c).
	ch := chusme.CeremonyChange{ID: "c", BaseVersion: 4, Version: 7, Round: 2, Status: chusme.CeremonyOpen,
		Submitted: []string{"b", "c", "d"}, Needed: 1}
	at7 := state(7, []string{"a", "b", "c", "d"}, []string{"e"})
	for _, known := range []chusme.CeremonyInfo{state(4, []string{"a"}, []string{"b", "c", "d", "e"}),
		state(5, []string{"a", "c"}, []string{"b", "d", "e"})} {
		got, ok := applyChange(known, ch)
		if !ok || !reflect.DeepEqual(got, at7) {
			t.Errorf("change 4→7 on version %d: %v %+v, want %+v", known.Version, ok, got, at7)
		}
	}
	older := state(3, nil, []string{"a", "b", "c", "d", "e"})
	if _, ok := applyChange(older, ch); ok {
		t.Error("change 4→7 applied to version 3, which missed a change")
	}
	other := state(5, []string{"a", "c"}, []string{"b", "d", "e"})
	other.Round = 1
	if _, ok := applyChange(other, ch); ok {
		t.Error("a round-2 change applied to a round-1 state")
	}
}
