package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
)

var statePass = []byte("rejoin passphrase")

func newStateStore(dir string) *roundstate.Store {
	return roundstate.New(dir, statePass, vault.LowCostParams)
}

// restarted is member m as a new process would be: a new client with the
// same key, logged in.
func restarted(t *testing.T, s *servertest.Server, m *servertest.Member) *servertest.Member {
	t.Helper()
	m2 := servertest.NewMember(t, s.URL, m.Key)
	m2.Login(t)
	return m2
}

// waitFor long-polls ceremony id through c until ok holds.
func waitFor(t *testing.T, c *client.Client, id string, ok func(chusme.CeremonyInfo) bool) chusme.CeremonyInfo {
	t.Helper()
	info, err := c.Ceremony(t.Context(), id)
	for err == nil && !ok(info) {
		info, err = c.WaitCeremony(t.Context(), id, info.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// interruptAfter runs the driver run (of participant fp, sealing in store)
// until the server, watched through c, shows fp's round-r package, then
// interrupts it, and checks that it stopped on the interruption and left
// its state file.
func interruptAfter(t *testing.T, c *client.Client, id, fp string, r int, store *roundstate.Store, run func(context.Context) error) {
	t.Helper()
	ctx, interrupt := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	servertest.WaitSubmitted(t.Context(), t, c, id, fp, r)
	interrupt()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted driver: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(store.Path(id)); err != nil {
		t.Fatalf("no state file after the interruption: %v", err)
	}
}

// signLocally checks that t of the key packages make an Ed25519 signature
// valid under the group key.
func signLocally(t *testing.T, pub *frost.PublicKeyPackage, kps ...*frost.KeyPackage) {
	t.Helper()
	msg := []byte("the resumed key signs")
	nonces := map[frost.Identifier]*frost.SigningNonces{}
	coms := map[frost.Identifier]*frost.SigningCommitments{}
	for _, kp := range kps {
		n, c, err := frost.Commit(nil, kp)
		if err != nil {
			t.Fatal(err)
		}
		nonces[kp.Identifier()], coms[kp.Identifier()] = n, c
	}
	pkg, err := frost.NewSigningPackage(coms, msg)
	if err != nil {
		t.Fatal(err)
	}
	shares := map[frost.Identifier]*frost.SignatureShare{}
	for _, kp := range kps {
		if shares[kp.Identifier()], err = frost.Sign(pkg, nonces[kp.Identifier()], kp); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := frost.Aggregate(pkg, shares, pub, frost.VerifyShares)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatal("the group key's signature does not verify")
	}
}

// TestRejoinEveryRound: a participant interrupted right after it sent its
// package of round r, for every round of DKG and signing, resumes in a new
// driver (a new client, the same state directory) and the ceremony
// completes; the state file is gone afterwards.
func TestRejoinEveryRound(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	creator, victim, slow := ms[0], ms[1], ms[2]
	keys := servertest.DKG(t, ms, 2)
	for _, tc := range []struct {
		name  string
		kind  string
		round int
	}{
		{"dkg_round_1", chusme.KindDKG, 1}, {"dkg_round_2", chusme.KindDKG, 2}, {"dkg_round_3", chusme.KindDKG, 3},
		{"sign_round_1", chusme.KindSign, 1}, {"sign_round_2", chusme.KindSign, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := newStateStore(t.TempDir())
			var info chusme.CeremonyInfo
			var err error
			if tc.kind == chusme.KindDKG {
				info, err = creator.Client.StartDKG(ctx, creator.Key, 2, servertest.Fingerprints(ms))
			} else {
				info, err = creator.Client.StartSign(ctx, creator.Key, keys[0].KeyID, []byte("rejoin "+tc.name), []string{victim.Fingerprint, slow.Fingerprint})
			}
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			slowly := s.Gated(t, slow, tc.round, release)
			var wg sync.WaitGroup
			var dkgRes [3]*client.DKGResult
			var errs [3]error
			var sigs [3][]byte
			run := func(i int, m *servertest.Member, opts ...client.RunOption) {
				if tc.kind == chusme.KindDKG {
					dkgRes[i], errs[i] = m.Client.RunDKG(ctx, info.ID, m.Key, nil, opts...)
				} else {
					sigs[i], errs[i] = m.Client.RunSign(ctx, info.ID, m.Key, keys[i].KeyID, keys[i].KeyPackage, servertest.ApproveAll, nil, opts...)
				}
			}
			if tc.kind == chusme.KindDKG {
				wg.Go(func() { run(0, creator) })
			}
			wg.Go(func() { run(2, slowly) })
			interruptAfter(t, creator.Client, info.ID, victim.Fingerprint, tc.round, store, func(ctx context.Context) error {
				if tc.kind == chusme.KindDKG {
					_, err := victim.Client.RunDKG(ctx, info.ID, victim.Key, nil, client.WithRoundState(store))
					return err
				}
				_, err := victim.Client.RunSign(ctx, info.ID, victim.Key, keys[1].KeyID, keys[1].KeyPackage, servertest.ApproveAll, nil, client.WithRoundState(store))
				return err
			})
			close(release)
			run(1, restarted(t, s, victim), client.WithRoundState(store))
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("participant %d: %v", i, err)
				}
			}
			if _, err := os.Stat(store.Path(info.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("state file after completion: %v", err)
			}
			if tc.kind == chusme.KindDKG {
				t.Cleanup(func() {
					for _, r := range dkgRes {
						r.KeyPackage.Zero()
					}
				})
				if dkgRes[1].KeyID != dkgRes[0].KeyID || dkgRes[2].KeyID != dkgRes[0].KeyID {
					t.Fatal("the participants got different group keys")
				}
				signLocally(t, dkgRes[2].PublicKeyPackage, dkgRes[1].KeyPackage, dkgRes[2].KeyPackage)
				return
			}
			vk := keys[0].PublicKeyPackage.VerifyingKey().Ed25519()
			if !ed25519.Verify(vk, []byte("rejoin "+tc.name), sigs[1]) || !slices.Equal(sigs[1], sigs[2]) {
				t.Fatal("the resumed signer's signature does not verify under the group key")
			}
		})
	}
}

// TestRejoinRefusals: without state a participant past round 1 can't join;
// a wrong passphrase or an altered state file is refused and leaves the
// file as it was; the state file is removed when the ceremony fails.
func TestRejoinRefusals(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	creator, victim := ms[0], ms[1]
	store := newStateStore(t.TempDir())
	info, err := creator.Client.StartDKG(ctx, creator.Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	dkg := func(st *roundstate.Store) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := victim.Client.RunDKG(ctx, info.ID, victim.Key, nil, client.WithRoundState(st))
			return err
		}
	}
	interruptAfter(t, creator.Client, info.ID, victim.Fingerprint, 1, store, dkg(store))
	path := store.Path(info.ID)
	sealed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		if now, err := os.ReadFile(path); err != nil || string(now) != string(sealed) {
			t.Fatalf("%s changed the state file (%v)", what, err)
		}
	}

	if err := dkg(newStateStore(t.TempDir()))(ctx); !errors.Is(err, client.ErrCannotJoin) || !strings.Contains(err.Error(), "no round state was found") {
		t.Fatalf("join without state = %v, want ErrCannotJoin saying no round state was found", err)
	}
	wrong := roundstate.New(filepath.Dir(path), []byte("not the passphrase"), vault.LowCostParams)
	if err := dkg(wrong)(ctx); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("join with a wrong passphrase = %v, want vault.ErrDecrypt", err)
	}
	unchanged("a wrong passphrase")

	var f map[string]any
	if err := json.Unmarshal(sealed, &f); err != nil {
		t.Fatal(err)
	}
	ct, err := base64.RawURLEncoding.DecodeString(f["state"].(string))
	if err != nil {
		t.Fatal(err)
	}
	ct[len(ct)/2] ^= 1
	f["state"] = base64.RawURLEncoding.EncodeToString(ct)
	altered, _ := json.Marshal(f)
	if err := os.WriteFile(path, altered, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dkg(store)(ctx); !errors.Is(err, roundstate.ErrTampered) {
		t.Fatalf("join with an altered state = %v, want roundstate.ErrTampered", err)
	}
	if now, _ := os.ReadFile(path); string(now) != string(altered) {
		t.Fatal("the refused join changed the altered state file")
	}
	if err := os.WriteFile(path, sealed, 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := creator.Client.CancelCeremony(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	var ce *client.CeremonyError
	if err := dkg(store)(ctx); !errors.As(err, &ce) || ce.Info.Status != chusme.CeremonyCancelled {
		t.Fatalf("join of a cancelled ceremony = %v, want a CeremonyError", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after the ceremony was cancelled: %v", err)
	}
}

// TestRejoinNonceRule: a resumed signer whose state records that its
// nonces signed package P refuses the package P' the server shows, and
// sends nothing: whether the share was made (and the nonces dropped) or
// not.
func TestRejoinNonceRule(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	keys := servertest.DKG(t, ms, 2)
	for _, withShare := range []bool{false, true} {
		t.Run(fmt.Sprintf("share_made_%v", withShare), func(t *testing.T) {
			ctx := t.Context()
			store := newStateStore(t.TempDir())
			info, err := ms[0].Client.StartSign(ctx, ms[0].Key, keys[0].KeyID, []byte("nonce rule"), nil)
			if err != nil {
				t.Fatal(err)
			}
			sign := func(ctx context.Context) error {
				_, err := ms[1].Client.RunSign(ctx, info.ID, ms[1].Key, keys[1].KeyID, keys[1].KeyPackage, servertest.ApproveAll, nil, client.WithRoundState(store))
				return err
			}
			interruptAfter(t, ms[0].Client, info.ID, ms[1].Fingerprint, 1, store, sign)
			peer := make(chan error, 1)
			go func() {
				_, err := ms[0].Client.RunSign(ctx, info.ID, ms[0].Key, keys[0].KeyID, keys[0].KeyPackage, servertest.ApproveAll, nil)
				peer <- err
			}()
			round2 := waitFor(t, ms[0].Client, info.ID, func(i chusme.CeremonyInfo) bool { return i.Round == 2 })

			// The state as if the nonces had signed another package P.
			sealed, st, err := store.Open(info.ID)
			if err != nil {
				t.Fatal(err)
			}
			other := slices.Clone([]byte(round2.SigningPackage))
			other[len(other)-1] ^= 1
			st.SigningPackage, st.Round = other, 2
			if withShare {
				st.Share, st.SigningNonces = bytes.Repeat([]byte{7}, 34), nil
			}
			if err := sealed.Save(st); err != nil {
				t.Fatal(err)
			}
			if err := sign(ctx); !errors.Is(err, client.ErrInconsistent) {
				t.Fatalf("resume with another package = %v, want ErrInconsistent", err)
			}
			now, err := ms[0].Client.Ceremony(ctx, info.ID)
			if err != nil {
				t.Fatal(err)
			}
			if now.Round != 2 || slices.Contains(now.Submitted, ms[1].Fingerprint) {
				t.Fatalf("the refusing signer submitted its round-2 package: %+v", now.Submitted)
			}
			if _, err := ms[0].Client.CancelCeremony(ctx, info.ID); err != nil {
				t.Fatal(err)
			}
			var ce *client.CeremonyError
			if err := <-peer; !errors.As(err, &ce) {
				t.Fatalf("peer: %v", err)
			}
		})
	}
}

// TestRejoinKeepsStateUntilSaved: the round state outlives a failed
// WithKeyPackageSaver, and a second run computes the same key package
// again from it, saves it, and removes the state.
func TestRejoinKeepsStateUntilSaved(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	store := newStateStore(t.TempDir())
	info, err := ms[0].Client.StartDKG(ctx, ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	peer := make(chan *client.DKGResult, 1)
	go func() {
		res, err := ms[0].Client.RunDKG(ctx, info.ID, ms[0].Key, nil)
		if err != nil {
			t.Error(err)
		}
		peer <- res
	}()
	errDisk := errors.New("disk full")
	var first *frost.KeyPackage
	_, err = ms[1].Client.RunDKG(ctx, info.ID, ms[1].Key, nil, client.WithRoundState(store), client.WithKeyPackageSaver(func(r *client.DKGResult) error {
		b, _ := r.KeyPackage.MarshalBinary()
		first = new(frost.KeyPackage)
		if err := first.UnmarshalBinary(b); err != nil {
			t.Error(err)
		}
		return errDisk
	}))
	if !errors.Is(err, errDisk) {
		t.Fatalf("RunDKG with a failing saver = %v", err)
	}
	defer first.Zero()
	if _, err := os.Stat(store.Path(info.ID)); err != nil {
		t.Fatalf("the state is gone though the key package was not saved: %v", err)
	}
	saved := false
	res, err := restarted(t, s, ms[1]).Client.RunDKG(ctx, info.ID, ms[1].Key, nil, client.WithRoundState(store), client.WithKeyPackageSaver(func(*client.DKGResult) error {
		saved = true
		return nil
	}))
	if err != nil || !saved {
		t.Fatalf("RunDKG again: %v (saved: %v)", err, saved)
	}
	defer res.KeyPackage.Zero()
	a, _ := first.MarshalBinary()
	b, _ := res.KeyPackage.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("the resumed run computed another key package")
	}
	if p := <-peer; p == nil || p.KeyID != res.KeyID {
		t.Fatal("the peer has another group key")
	} else {
		p.KeyPackage.Zero()
	}
	if _, err := os.Stat(store.Path(info.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after the saved result: %v", err)
	}
}

// TestRejoinKeyChanges: as TestRejoinEveryRound, for every round a
// participant sends in of a refresh, a reshare (2-of-3 to the same three)
// and a repair (the creator's share rebuilt by the other two): interrupted
// after its package, it resumes in a new driver and the ceremony
// completes, with shares that sign (the repaired one the lost one).
func TestRejoinKeyChanges(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	creator, victim, slow := ms[0], ms[1], ms[2]
	for _, tc := range []struct {
		kind  string
		round int
	}{
		{chusme.KindRefresh, 1}, {chusme.KindRefresh, 2}, {chusme.KindRefresh, 3},
		{chusme.KindReshare, 1}, {chusme.KindReshare, 2}, {chusme.KindReshare, 3},
		{chusme.KindRepair, 1}, {chusme.KindRepair, 2}, {chusme.KindRepair, 3},
	} {
		t.Run(fmt.Sprintf("%s_round_%d", tc.kind, tc.round), func(t *testing.T) {
			ctx := t.Context()
			keys := servertest.DKG(t, ms, 2)
			req := chusme.CreateCeremonyRequest{Kind: tc.kind, KeyID: keys[0].KeyID}
			switch tc.kind {
			case chusme.KindReshare:
				req.Threshold, req.NewParticipants = 2, servertest.Fingerprints(ms)
			case chusme.KindRepair:
				req.Participants, req.NewParticipants = servertest.Fingerprints(ms), []string{creator.Fingerprint}
			}
			info, err := creator.Client.CreateCeremony(ctx, creator.Key, req)
			if err != nil {
				t.Fatal(err)
			}
			store := newStateStore(t.TempDir())
			release := make(chan struct{})
			slowly := s.Gated(t, slow, tc.round, release)
			var res [3]*client.DKGResult
			var errs [3]error
			drive := func(ctx context.Context, i int, m *servertest.Member, opts ...client.RunOption) (*client.DKGResult, error) {
				old := &client.OldShare{KeyPackage: keys[i].KeyPackage, PublicKeyPackage: keys[i].PublicKeyPackage, Generation: 1}
				switch tc.kind {
				case chusme.KindRefresh:
					return m.Client.RunRefresh(ctx, info.ID, m.Key, *old, nil, opts...)
				case chusme.KindReshare:
					return m.Client.RunReshare(ctx, info.ID, m.Key, old, nil, opts...)
				}
				if m.Fingerprint == creator.Fingerprint {
					old = nil // the holder being repaired
				}
				return m.Client.RunRepair(ctx, info.ID, m.Key, old, nil, opts...)
			}
			var wg sync.WaitGroup
			wg.Go(func() { res[0], errs[0] = drive(ctx, 0, creator) })
			wg.Go(func() { res[2], errs[2] = drive(ctx, 2, slowly) })
			interruptAfter(t, creator.Client, info.ID, victim.Fingerprint, tc.round, store, func(ctx context.Context) error {
				_, err := drive(ctx, 1, victim, client.WithRoundState(store))
				return err
			})
			close(release)
			res[1], errs[1] = drive(ctx, 1, restarted(t, s, victim), client.WithRoundState(store))
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("participant %d: %v", i, err)
				}
			}
			if _, err := os.Stat(store.Path(info.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("state file after completion: %v", err)
			}
			if tc.kind == chusme.KindRepair {
				if !bytes.Equal(res[0].KeyPackage.SigningShare().Bytes(), keys[0].KeyPackage.SigningShare().Bytes()) {
					t.Fatal("the repaired share is not the lost one")
				}
				res[0].KeyPackage.Zero()
				return
			}
			t.Cleanup(func() {
				for _, r := range res {
					r.KeyPackage.Zero()
				}
			})
			signLocally(t, res[2].PublicKeyPackage, res[1].KeyPackage, res[2].KeyPackage)
		})
	}
}
