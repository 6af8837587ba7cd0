package client_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// keyChange starts a ceremony of kind among ms on the 2-of-3 key keys made
// (a DKG if keys is nil; a repair of ms[0]'s share; a reshare to the same
// three) and returns a driver for each member.
func keyChange(t *testing.T, kind string, ms []*servertest.Member, keys []*client.DKGResult) (string, func(ctx context.Context, i int, opts ...client.RunOption) error) {
	t.Helper()
	ctx := t.Context()
	var info chusme.CeremonyInfo
	var err error
	if kind == chusme.KindDKG {
		info, err = ms[0].Client.StartDKG(ctx, ms[0].Key, 2, servertest.Fingerprints(ms))
	} else {
		req := chusme.CreateCeremonyRequest{Kind: kind, KeyID: keys[0].KeyID}
		switch kind {
		case chusme.KindReshare:
			req.Threshold, req.NewParticipants = 2, servertest.Fingerprints(ms)
		case chusme.KindRepair:
			req.Participants, req.NewParticipants = servertest.Fingerprints(ms), []string{ms[0].Fingerprint}
		}
		info, err = ms[0].Client.CreateCeremony(ctx, ms[0].Key, req)
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.ID, func(ctx context.Context, i int, opts ...client.RunOption) error {
		m := ms[i]
		var res *client.DKGResult
		var err error
		switch kind {
		case chusme.KindDKG:
			res, err = m.Client.RunDKG(ctx, info.ID, m.Key, nil, opts...)
		case chusme.KindRefresh:
			res, err = m.Client.RunRefresh(ctx, info.ID, m.Key, client.OldShare{KeyPackage: keys[i].KeyPackage, PublicKeyPackage: keys[i].PublicKeyPackage, Generation: 1}, nil, opts...)
		case chusme.KindReshare:
			res, err = m.Client.RunReshare(ctx, info.ID, m.Key, &client.OldShare{KeyPackage: keys[i].KeyPackage, PublicKeyPackage: keys[i].PublicKeyPackage, Generation: 1}, nil, opts...)
		case chusme.KindRepair:
			var old *client.OldShare
			if i > 0 { // ms[0] is being repaired
				old = &client.OldShare{KeyPackage: keys[i].KeyPackage, PublicKeyPackage: keys[i].PublicKeyPackage, Generation: 1}
			}
			res, err = m.Client.RunRepair(ctx, info.ID, m.Key, old, nil, opts...)
		}
		if res != nil && res.KeyPackage != nil {
			res.KeyPackage.Zero()
		}
		return err
	}
}

// TestBadSecretNamedAtOnce: a participant that seals a bad secret to one
// other — a DKG, refresh or reshare share, a repair delta or sigma — with
// its valid signature over it is named by the server as soon as the
// recipient reveals it: the ceremony fails at once, invalid_share, with the
// cheater its one culprit; the recipient's driver stops with ErrCheater and
// the others learn the failure.
func TestBadSecretNamedAtOnce(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	keys := servertest.DKG(t, ms, 2)
	t.Cleanup(func() {
		for _, k := range keys {
			k.KeyPackage.Zero()
		}
	})
	cheater := 2
	for _, tc := range []struct {
		kind          string
		round, victim int
	}{
		{chusme.KindDKG, 2, 1}, {chusme.KindRefresh, 2, 1}, {chusme.KindReshare, 2, 0},
		{chusme.KindRepair, 2, 1}, {chusme.KindRepair, 3, 0},
	} {
		t.Run(fmt.Sprintf("%s_round_%d", tc.kind, tc.round), func(t *testing.T) {
			id, drive := keyChange(t, tc.kind, ms, keys)
			victim := ms[tc.victim].Fingerprint
			cheat := client.WithSecretTamper(func(round int, recipient string, secret []byte) {
				if round == tc.round && recipient == victim {
					secret[2] ^= 1 // the scalar's low byte: still canonical, no longer the share
				}
			})
			errs := make([]error, len(ms))
			var wg sync.WaitGroup
			for i := range ms {
				var opts []client.RunOption
				if i == cheater {
					opts = append(opts, cheat)
				}
				wg.Go(func() { errs[i] = drive(t.Context(), i, opts...) })
			}
			wg.Wait()
			info, err := ms[0].Client.Ceremony(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if info.Status != chusme.CeremonyFailed || info.Failure == nil || info.Failure.Reason != chusme.FailInvalidShare ||
				!slices.Equal(info.Failure.Culprits, []string{ms[cheater].Fingerprint}) {
				t.Fatalf("the ceremony after a bad secret: %s %+v", info.Status, info.Failure)
			}
			if !errors.Is(errs[tc.victim], client.ErrCheater) {
				t.Fatalf("the victim's driver: %v", errs[tc.victim])
			}
			for i, err := range errs {
				var ce *client.CeremonyError
				if i != tc.victim && (!errors.As(err, &ce) || ce.Info.Failure.Reason != chusme.FailInvalidShare) {
					t.Fatalf("participant %d: %v, want the failure", i, err)
				}
			}
		})
	}
}

// TestComplaintCannotFrame: a recipient can't frame an honest sender. While
// a DKG waits in round 3, ms[1] reveals the good share ms[0] sent it: the
// server finds it opens the commitment (package_valid); the share altered
// under the same signature, or under a signature by another key: invalid
// signature. The DKG then completes.
func TestComplaintCannotFrame(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	id, drive := keyChange(t, chusme.KindDKG, ms, nil)
	var secret []byte
	record := client.WithSecretTamper(func(round int, recipient string, b []byte) {
		if recipient == ms[1].Fingerprint {
			secret = slices.Clone(b) // read after the drivers' round 2 is done
		}
	})
	release := make(chan struct{})
	gated := s.Gated(t, ms[2], 3, release)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = drive(t.Context(), 0, record) })
	wg.Go(func() { errs[1] = drive(t.Context(), 1) })
	wg.Go(func() {
		_, errs[2] = gated.Client.RunDKG(t.Context(), id, gated.Key, nil)
	})
	servertest.WaitSubmitted(t.Context(), t, ms[0].Client, id, ms[1].Fingerprint, 3)
	sign := func(k ed25519.PrivateKey, b []byte) []byte {
		return ed25519.Sign(k, chusme.CeremonySecretMessage(id, 2, ms[0].Fingerprint, ms[1].Fingerprint, b))
	}
	complain := func(b, sig []byte) error {
		_, err := client.ComplainSecret(t.Context(), ms[1].Client, id, ms[1].Key, 2, ms[0].Fingerprint, b, sig)
		return err
	}
	if err := complain(secret, sign(ms[0].Key, secret)); chusme.ErrorCode(err) != chusme.CodePackageValid {
		t.Fatalf("a good share revealed: %v", err)
	}
	bad := slices.Clone(secret)
	bad[2] ^= 1
	if err := complain(bad, sign(ms[0].Key, secret)); chusme.ErrorCode(err) != chusme.CodeInvalidSignature {
		t.Fatalf("an altered share under the sender's signature of the good one: %v", err)
	}
	if err := complain(bad, sign(ms[1].Key, bad)); chusme.ErrorCode(err) != chusme.CodeInvalidSignature {
		t.Fatalf("an altered share signed by the complainer: %v", err)
	}
	if err := complain(secret, nil); chusme.ErrorCode(err) != chusme.CodeInvalidSignature {
		t.Fatalf("a share without its signature: %v", err)
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: %v", i, err)
		}
	}
}
