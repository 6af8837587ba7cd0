package chusme_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

// A safety number needs two well-formed fingerprints, and it changes when
// either one does.
func TestSafetyNumber(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	for _, bad := range []string{"", "abc", strings.Repeat("A", 64), strings.Repeat("g", 64), a + "0"} {
		if sn, err := chusme.SafetyNumber(a, bad); err == nil || chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
			t.Errorf("SafetyNumber(a, %q) = %q, %v; want invalid_request", bad, sn, err)
		}
		if _, err := chusme.SafetyNumber(bad, a); err == nil {
			t.Errorf("SafetyNumber(%q, a) accepted", bad)
		}
	}
	ab, _ := chusme.SafetyNumber(a, b)
	ac, _ := chusme.SafetyNumber(a, c)
	cb, _ := chusme.SafetyNumber(c, b)
	if ab == ac || ab == cb || ac == cb {
		t.Fatalf("equal safety numbers for different pairs: %q %q %q", ab, ac, cb)
	}
	// Every number has all its groups, leading zeros included.
	zero := false
	for i := range 100 {
		sn, err := chusme.SafetyNumber(a, fmt.Sprintf("%064x", i))
		if err != nil {
			t.Fatal(err)
		}
		zero = zero || sn[0] == '0'
		groups := strings.Split(sn, " ")
		if len(groups) != chusme.SafetyNumberGroups {
			t.Fatalf("%q has %d groups", sn, len(groups))
		}
		for _, g := range groups {
			if len(g) != chusme.SafetyNumberGroupDigits || strings.Trim(g, "0123456789") != "" {
				t.Fatalf("%q: group %q", sn, g)
			}
		}
	}
	if !zero {
		t.Fatal("no number of the 100 starts with 0: the padding is untested")
	}
}
