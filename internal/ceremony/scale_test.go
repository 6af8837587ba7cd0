package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// largeN is the size of TestLargeCeremony: CHUSME_TEST_LARGE_N (0 skips
// it; 255, chusme.MaxCeremonyParticipants, is the largest the server
// allows), else 100, or 30 under the race detector. The participants' own
// FROST work grows with n·t each and all n share this machine: a
// 255-participant DKG takes minutes here, and many more under -race.
func largeN(t *testing.T) int {
	s := os.Getenv("CHUSME_TEST_LARGE_N")
	if s == "" {
		if raceEnabled {
			return 30
		}
		return 100
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > chusme.MaxCeremonyParticipants {
		t.Fatalf("CHUSME_TEST_LARGE_N: %q is not 0 to %d", s, chusme.MaxCeremonyParticipants)
	}
	if n == 0 {
		t.Skip("CHUSME_TEST_LARGE_N=0")
	}
	return n
}

// A large ceremony runs (the largest the server allows with
// CHUSME_TEST_LARGE_N=255): a DKG of n participants
// with threshold 2n/3 and a signing ceremony by t of them, every size limit
// in its path (payload, body, WebSocket frame, inbox answers) holding.
// Eight members use the WebSocket's ceremony API, whose inbox answers
// outgrow its send queue at this size and are then fetched over HTTP.
func TestLargeCeremony(t *testing.T) {
	n := largeN(t)
	th := max(2, 2*n/3)
	// Rounds long enough for n drivers sharing this machine's cores (at
	// n = 255 a round can take minutes here).
	p := newParty(t, n, "--ceremony-round-timeout", "30m")
	p.connectAPI(p.members[:min(8, n)])
	res := servertest.DKG(t, p.members, th)
	signers := make([]int, th)
	for i := range signers {
		signers[i] = n - 1 - i
	}
	sig, _ := servertest.Sign(t, p.members[0], p.members, res, signers, []byte("signed by many"))
	gk, err := p.members[0].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if len(gk.Participants) != n || gk.Threshold != th || !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), []byte("signed by many"), sig) {
		t.Fatalf("group key of %d participants, threshold %d; want %d and %d, and a signature that verifies", len(gk.Participants), gk.Threshold, n, th)
	}
}

// The limits that follow from 255 participants: 256 are refused with a
// clear error; a payload over MaxCeremonyPayload, a submission body over
// 512 KiB and a complaint body over 1 KiB are refused, and none of them
// changes the ceremony.
func TestCeremonyLimits(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	fps := make([]string, chusme.MaxCeremonyParticipants+1)
	for i := range fps {
		fps[i] = testkit.Fingerprint(testkit.NewKey(t))
	}
	_, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, fps)
	if chusme.ErrorCode(err) != chusme.CodeInvalidRequest || !strings.Contains(err.Error(), "2 to 255 participants, not 256") {
		t.Fatalf("a dkg of 256: %v, want invalid_request naming the bound", err)
	}

	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	url := roundURL(p, info.ID, 1)
	big := signed(ms[0], info.ID, 1, bytes.Repeat([]byte{1}, chusme.MaxCeremonyPayload+1))
	testkit.Do(t, "POST", url, ms[0].Access(t), big).Expect(t, 400, chusme.CodeInvalidRequest)
	atLimit := signed(ms[0], info.ID, 1, bytes.Repeat([]byte{1}, chusme.MaxCeremonyPayload))
	testkit.Do(t, "POST", url, ms[0].Access(t), atLimit).Expect(t, 400, chusme.CodeInvalidPackage) // the size passes, the package does not
	body := []byte(`{"payload":"` + strings.Repeat("A", 512<<10) + `"}`)
	testkit.Do(t, "POST", url, ms[0].Access(t), body).Expect(t, 413, chusme.CodeBodyTooLarge)
	complaint := []byte(`{"round":2,"accused":"` + strings.Repeat("a", 1<<10) + `"}`)
	testkit.Do(t, "POST", p.srv.URL+"/v1/ceremonies/"+info.ID+"/complaints", ms[0].Access(t), complaint).Expect(t, 413, chusme.CodeBodyTooLarge)
	now, err := ms[0].Client.Ceremony(t.Context(), info.ID)
	if err != nil || now.Version != info.Version || len(now.Submitted) != 0 {
		t.Fatalf("after the refusals: %+v, %v; want version %d, nothing submitted", now, err, info.Version)
	}
}
