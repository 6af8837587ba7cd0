package sqlstore

import (
	"errors"
	"testing"

	"github.com/chusme/chusme"
)

// TestUnpackRefusesDamage: a packages value cut short or with a length past
// its end is an error, not a short or garbled list.
func TestUnpackRefusesDamage(t *testing.T) {
	b := packSubmissions([]chusme.CeremonySubmission{{Recipient: "bob", Payload: []byte("p"), Signature: []byte("s")},
		{Recipient: "carol", Payload: []byte("q"), Signature: []byte("t")}})
	n := 0
	if err := unpackSubmissions("c1", 2, "alice", b, func(chusme.CeremonySubmission) { n++ }); err != nil || n != 2 {
		t.Fatalf("whole value: %d packages, %v", n, err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], b[:3], append([]byte{0x7f}, b...)} {
		if err := unpackSubmissions("c1", 2, "alice", bad, func(chusme.CeremonySubmission) {}); !errors.Is(err, errBadPackages) {
			t.Errorf("% x: error %v, want errBadPackages", bad, err)
		}
	}
}
