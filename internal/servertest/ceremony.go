package servertest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// Fingerprints returns the fingerprints of ms.
func Fingerprints(ms []*Member) []string {
	fps := make([]string, len(ms))
	for i, m := range ms {
		fps[i] = m.Fingerprint
	}
	return fps
}

// DKG runs a threshold-of-len(ms) DKG among ms, created by ms[0], each
// member running its part at once through its own client, and returns each
// member's result. The key packages are zeroed when the test ends.
func DKG(t testing.TB, ms []*Member, threshold int) []*client.DKGResult {
	t.Helper()
	ctx := t.Context()
	info, err := ms[0].Client.StartDKG(ctx, ms[0].Key, threshold, Fingerprints(ms))
	if err != nil {
		t.Fatalf("StartDKG: %v", err)
	}
	res := make([]*client.DKGResult, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { res[i], errs[i] = m.Client.RunDKG(ctx, info.ID, m.Key, nil) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, r := range res {
			if r != nil {
				r.KeyPackage.Zero()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: RunDKG: %v", i, err)
		}
	}
	return res
}

// ApproveAll approves every signing request.
func ApproveAll(context.Context, client.SignRequest) (bool, error) { return true, nil }

// Sign runs a signing ceremony of msg under the group key of res (a DKG
// among ms), created by creator, with the members signers (indexes into ms
// and res; nil: no list, so every participant of the key) each approving and signing at
// once: the first threshold of them to commit sign, the others are not
// needed (client.ErrNotNeeded). It checks that every signer that signed got
// the same signature and returns it with the ceremony as created.
func Sign(t testing.TB, creator *Member, ms []*Member, res []*client.DKGResult, signers []int, msg []byte) ([]byte, chusme.CeremonyInfo) {
	t.Helper()
	ctx := t.Context()
	var sfps []string
	for _, i := range signers {
		sfps = append(sfps, ms[i].Fingerprint)
	}
	info, err := creator.Client.StartSign(ctx, creator.Key, res[0].KeyID, msg, sfps)
	if err != nil {
		t.Fatalf("StartSign: %v", err)
	}
	if signers == nil {
		for i := range ms {
			signers = append(signers, i)
		}
	}
	sigs := make([][]byte, len(signers))
	errs := make([]error, len(signers))
	var wg sync.WaitGroup
	for j, i := range signers {
		wg.Go(func() {
			sigs[j], errs[j] = ms[i].Client.RunSign(ctx, info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, ApproveAll, nil)
		})
	}
	wg.Wait()
	var sig []byte
	signed := 0
	for j, err := range errs {
		if errors.Is(err, client.ErrNotNeeded) {
			continue
		}
		if err != nil {
			t.Fatalf("signer %d: RunSign: %v", signers[j], err)
		}
		if sig != nil && !bytes.Equal(sigs[j], sig) {
			t.Fatalf("signers got different signatures")
		}
		sig = sigs[j]
		signed++
	}
	if signed < info.Threshold {
		t.Fatalf("%d signers signed, fewer than the threshold %d", signed, info.Threshold)
	}
	return sig, info
}
