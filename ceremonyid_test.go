package chusme_test

import (
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

// TestCeremonyID: every new id is valid and distinct; anything else of
// nearly the same form is refused.
func TestCeremonyID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := chusme.NewCeremonyID()
		if !chusme.ValidCeremonyID(id) || seen[id] {
			t.Fatalf("NewCeremonyID gave %q (valid %v, repeated %v)", id, chusme.ValidCeremonyID(id), seen[id])
		}
		seen[id] = true
	}
	id := chusme.NewCeremonyID()
	for name, s := range map[string]string{
		"empty":       "",
		"short":       id[:31],
		"long":        id + "0",
		"uppercase":   strings.ToUpper(strings.Repeat("a", 32)),
		"not hex":     strings.Repeat("g", 32),
		"fingerprint": id + id,
		"path":        "../" + id[3:],
	} {
		if chusme.ValidCeremonyID(s) {
			t.Errorf("%s: ValidCeremonyID(%q) = true", name, s)
		}
	}
}
