package servertest

import (
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// KeyChange runs a refresh or reshare (req.Kind) of generation of the key
// of res, created by ms[0] with req (its participants: every member of ms;
// a reshare's new participants as req names them). Member i takes part
// with res[i]'s share if res has one (the holders of generation come
// first in ms), and returns each member's result, in ms's order. The key
// packages are zeroed when the test ends.
func KeyChange(t testing.TB, ms []*Member, res []*client.DKGResult, generation int, req chusme.CreateCeremonyRequest) []*client.DKGResult {
	t.Helper()
	req.KeyID, req.Participants = res[0].KeyID, Fingerprints(ms)
	info, err := ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, req)
	if err != nil {
		t.Fatalf("creating the %s: %v", req.Kind, err)
	}
	out := make([]*client.DKGResult, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		var old *client.OldShare
		if i < len(res) {
			old = &client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: generation}
		}
		wg.Go(func() {
			if req.Kind == chusme.KindRefresh {
				out[i], errs[i] = m.Client.RunRefresh(t.Context(), info.ID, m.Key, *old, nil)
			} else {
				out[i], errs[i] = m.Client.RunReshare(t.Context(), info.ID, m.Key, old, nil)
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, r := range out {
			if r != nil && r.KeyPackage != nil {
				r.KeyPackage.Zero()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %s: %v", i, req.Kind, err)
		}
	}
	return out
}
