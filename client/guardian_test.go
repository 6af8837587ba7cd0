package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

// guardians returns the RemoteKey of group key res (a DKG among gs) whose
// signature a signing ceremony makes: gs[signers[0]] starts it with the
// statement and only signers take part, each approving by approve(i, …).
func guardians(t *testing.T, gs []*servertest.Member, res []*client.DKGResult, signers []int, approve func(i int, req client.SignRequest) bool) client.RemoteKey {
	pub := ed25519.PublicKey(res[0].PublicKeyPackage.VerifyingKey().Bytes())
	return client.RemoteKey{Key: pub, Sign: func(ctx context.Context, statement []byte) ([]byte, error) {
		creator := gs[signers[0]]
		var fps []string
		for _, i := range signers {
			fps = append(fps, gs[i].Fingerprint)
		}
		info, err := creator.Client.StartSign(ctx, creator.Key, res[0].KeyID, statement, fps)
		if err != nil {
			return nil, err
		}
		sigs, errs := make([][]byte, len(signers)), make([]error, len(signers))
		var wg sync.WaitGroup
		for j, i := range signers {
			wg.Go(func() {
				sigs[j], errs[j] = gs[i].Client.RunSign(ctx, info.ID, gs[i].Key, res[i].KeyID, res[i].KeyPackage,
					func(_ context.Context, req client.SignRequest) (bool, error) { return approve(i, req), nil }, nil)
			})
		}
		wg.Wait()
		return sigs[0], errors.Join(errs...)
	}}
}

// Guardian recovery (issue 17 item 3): three guardians make a 2-of-3 key;
// the owner registers it as its recovery key through a signing ceremony;
// the guardians cancel a device rotation; the owner loses its only device; a guardian who declines, the third
// absent, leaves no signature and no recovery; two guardians who approve
// the exact statement ("rotate FP to device key K") recover the identity:
// the new device logs in and the chain verifies offline.
func TestGuardianRecovery(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 4)
	owner, gs := ms[0], ms[1:]
	res := servertest.DKG(t, gs, 2)

	var seen []chusme.ChainEntry // the statements the guardians approved, parsed
	var mu sync.Mutex
	approve := func(want string, fp string) func(int, client.SignRequest) bool {
		return func(_ int, req client.SignRequest) bool {
			_, gotFP, e, err := chusme.ParseRecoveryStatement(req.Message)
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, e)
			return err == nil && gotFP == fp && e.Kind == want
		}
	}
	g := guardians(t, gs, res, []int{0, 1}, approve(chusme.EntryRecoveryKeys, owner.Fingerprint))
	if _, err := owner.Client.AddRecoveryKey(ctx, owner.Fingerprint, client.LocalKey(owner.Key), g); err != nil {
		t.Fatal(err)
	}
	rks, err := owner.Client.RecoveryKeys(ctx, owner.Fingerprint)
	if err != nil || len(rks) != 1 || !rks[0].Equal(g.Key) {
		t.Fatalf("RecoveryKeys = %x, %v; want the group key %x", rks, err, g.Key)
	}
	if len(seen) != 2 || !bytes.Equal(seen[0].RecoveryKeys[0], g.Key) {
		t.Fatalf("the guardians approved %+v", seen)
	}

	// A device rotation (by a thief of the device key, say) is pending:
	// the guardians cancel it, restoring the owner's key.
	if _, err := owner.Client.Rotate(ctx, owner.Fingerprint, owner.Key, testkit.NewKey(t)); err != nil {
		t.Fatal(err)
	}
	seen = nil
	g = guardians(t, gs, res, []int{0, 2}, approve(chusme.EntryCancel, owner.Fingerprint))
	if _, err := owner.Client.CancelWithRecoveryKey(ctx, owner.Fingerprint, g); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !bytes.Equal(seen[0].NewKey, testkit.Public(owner.Key)) || !bytes.Equal(seen[0].Signer, g.Key) {
		t.Fatalf("the guardians approved %+v", seen)
	}

	// The owner loses its device; a new one, not logged in, asks.
	device, err := client.New(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	newKey := testkit.NewKey(t)
	before, _ := device.Chain(ctx, owner.Fingerprint)

	// Guardian 1 declines, guardian 3 is absent: no signature, no recovery.
	seen = nil
	refuse := guardians(t, gs, res, []int{0, 1}, func(i int, req client.SignRequest) bool { return i == 0 })
	if _, err := device.Recover(ctx, owner.Fingerprint, refuse, newKey); !errors.Is(err, client.ErrNotApproved) {
		t.Fatalf("Recover with a declining guardian: %v, want ErrNotApproved", err)
	}
	if after, _ := device.Chain(ctx, owner.Fingerprint); after.Head().Seq != before.Head().Seq {
		t.Fatalf("a declined recovery changed the chain: %v -> %v", before.Head(), after.Head())
	}

	// A signature that does not verify under the group key is not sent.
	forged := client.RemoteKey{Key: g.Key, Sign: func(context.Context, []byte) ([]byte, error) { return make([]byte, ed25519.SignatureSize), nil }}
	if _, err := device.Recover(ctx, owner.Fingerprint, forged, newKey); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("Recover with a forged group signature: %v", err)
	}

	// Guardians 2 and 3 approve the rotation to newKey.
	seen = nil
	g = guardians(t, gs, res, []int{1, 2}, approve(chusme.EntryRecover, owner.Fingerprint))
	e, err := device.Recover(ctx, owner.Fingerprint, g, newKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !bytes.Equal(seen[0].NewKey, testkit.Public(newKey)) || !bytes.Equal(seen[0].Signer, g.Key) {
		t.Fatalf("the guardians approved %+v", seen)
	}
	if _, err := device.Login(ctx, newKey, client.LoginFingerprint(owner.Fingerprint)); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Client.Me(ctx); chusme.ErrorCode(err) != chusme.CodeSessionRevoked {
		t.Fatalf("the lost device's session: %v", err)
	}
	ch, err := device.Chain(ctx, owner.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := chusme.VerifyChain(ch.Issuer, owner.Fingerprint, ch.Entries, keys.CheckPublicKey, keys.Verify)
	if err != nil || !bytes.Equal(cur, testkit.Public(newKey)) || ch.Head().Seq != e.Seq {
		t.Fatalf("VerifyChain = %x, %v; want the new key", cur, err)
	}
}
