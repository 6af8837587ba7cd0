package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// joinDevice has a new machine (its own client, a new key) ask to join p's
// identity and p's device add it; the new machine then logs in. It returns
// p's identity on the new device.
func joinDevice(t *testing.T, s *servertest.Server, p party) party {
	t.Helper()
	ctx := t.Context()
	d := party{fp: p.fp, key: testkit.NewKey(t), c: newClient(t, s.URL)}
	r, err := d.c.JoinRequest(p.fp, d.key)
	if err != nil {
		t.Fatal(err)
	}
	back, err := client.ParseJoinRequest(client.JoinRequestText(r))
	if err != nil || !bytes.Equal(back.Signature, r.Signature) {
		t.Fatalf("ParseJoinRequest(JoinRequestText) = %+v, %v", back, err)
	}
	if e, err := p.c.AddDevice(ctx, p.key, back); err != nil || e.Kind != chusme.EntryDeviceAdd {
		t.Fatalf("AddDevice = %+v, %v", e, err)
	}
	if _, err := d.c.Login(ctx, d.key, client.LoginFingerprint(p.fp)); err != nil {
		t.Fatalf("the new device's login: %v", err)
	}
	return d
}

// chainOf returns identity fp's chain as the server has it.
func chainOf(t *testing.T, s *servertest.Server, fp string) []byte {
	t.Helper()
	var ch chusme.ChainResponse
	testkit.Do(t, "GET", s.URL+"/v1/identities/"+fp+"/chain", "", nil).Want(t, 200, &ch)
	b, _ := json.Marshal(ch)
	return b
}

// Two devices of one identity log in concurrently, each with its own
// session; GET /v1/identities/{fp} lists both; a signing ceremony takes the
// second device's packages. Removing it ends its sessions at once (access
// and refresh tokens) while the first device's still work, and its
// packages are refused in a new ceremony by the server (invalid_package).
func TestDevicesLogInAndRemoval(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	alice, bob := register(t, s, true), register(t, s, false)
	keyID, kps := dkg2(t, alice, bob)
	laptop := joinDevice(t, s, alice)

	var wg sync.WaitGroup
	errs, toks := make([]error, 2), make([]client.Tokens, 2)
	for i, p := range []party{alice, laptop} {
		wg.Go(func() {
			var err error
			toks[i], err = p.c.Login(ctx, p.key, client.LoginFingerprint(p.fp))
			if err == nil {
				_, err = p.c.Me(ctx)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent logins: %v", err)
	}
	var info chusme.IdentityInfo
	testkit.Do(t, "GET", s.URL+"/v1/identities/"+alice.fp, "", nil).Want(t, 200, &info)
	if len(info.DeviceKeys) != 2 || !bytes.Equal(info.DeviceKeys[0], testkit.Public(alice.key)) || !bytes.Equal(info.DeviceKeys[1], testkit.Public(laptop.key)) {
		t.Fatalf("device_keys = %x", info.DeviceKeys)
	}

	// The laptop signs in a ceremony: bob's driver accepts its packages.
	yes := func(context.Context, client.SignRequest) (bool, error) { return true, nil }
	sign := func(signer party) error {
		st, err := bob.c.StartSign(ctx, bob.key, keyID, []byte("from the laptop"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var errs [2]error
		var wg sync.WaitGroup
		wg.Go(func() { _, errs[0] = bob.c.RunSign(ctx, st.ID, bob.key, keyID, kps[1], yes, nil) })
		wg.Go(func() { _, errs[1] = signer.c.RunSign(ctx, st.ID, signer.key, keyID, kps[0], yes, nil) })
		wg.Wait()
		return errors.Join(errs[:]...)
	}
	if err := sign(laptop); err != nil {
		t.Fatalf("signing from the second device: %v", err)
	}

	stale := toks[1]
	if _, err := alice.c.RemoveDevice(ctx, alice.fp, client.LocalKey(alice.key), laptop.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	testkit.Do(t, "GET", s.URL+"/v1/me", stale.AccessToken, nil).Expect(t, 401, chusme.CodeSessionRevoked)
	testkit.Do(t, "POST", s.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: stale.RefreshToken}).Expect(t, 401, chusme.CodeSessionRevoked)
	if _, err := alice.c.Me(ctx); err != nil {
		t.Fatalf("the first device after the removal: %v", err)
	}
	_, err := laptop.c.Login(ctx, laptop.key, client.LoginFingerprint(alice.fp))
	wantCode(t, "the removed device's login", err, chusme.CodeKeyRotated)
	if !strings.Contains(err.Error(), "device key was removed") {
		t.Fatalf("the removed device's login: %v", err)
	}

	// A new ceremony: a package signed by the removed key is refused.
	st, err := bob.c.StartSign(ctx, bob.key, keyID, []byte("after the removal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	com := []byte("a commitment the server never judges: the signature comes first")
	pkg := chusme.SubmitRequest{Payload: com, Signature: ed25519.Sign(laptop.key, chusme.CeremonyPackageMessage(st.ID, 1, alice.fp, "", com))}
	r := testkit.Do(t, "POST", s.URL+"/v1/ceremonies/"+st.ID+"/rounds/1", toks[0].AccessToken, pkg)
	r.Expect(t, 400, chusme.CodeInvalidPackage)
	if p := r.Problem(t); !strings.Contains(p.Detail, "does not verify under a current device key") {
		t.Fatalf("the removed key's package: %s", p.Detail)
	}
	if _, err := bob.c.CancelCeremony(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
}

// A lying proxy relays to bob, in a ceremony made after alice removed her
// laptop, a package signed by the laptop's removed key: bob's driver, which
// verified alice's chain past the removal, refuses it before sending
// anything of its own past round 1.
func TestRemovedDevicePackageRefusedByPeer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	alice, bob := register(t, s, true), register(t, s, false)
	keyID, kps := dkg2(t, alice, bob)
	laptop := joinDevice(t, s, alice)
	if _, err := alice.c.RemoveDevice(ctx, alice.fp, client.LocalKey(laptop.key), laptop.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("the laptop retires itself: %v", err)
	}
	proxy := newLyingProxy(t, s.URL)
	victim := viaProxy(t, s, proxy, bob, &client.MemoryPinStore{})
	resign := func(id string) func(string, []byte) []byte {
		return rewriteJSON(t, func(p string) bool { return strings.HasSuffix(p, "/rounds/1/inbox") }, func(_ string, in *chusme.Inbox) {
			for i, pkg := range in.Packages {
				if pkg.Sender == alice.fp {
					in.Packages[i].Signature = ed25519.Sign(laptop.key, chusme.CeremonyPackageMessage(id, 1, alice.fp, pkg.Recipient, pkg.Payload))
				}
			}
		})
	}
	asked, rounds, err := signAttack(t, proxy, victim, alice, keyID, keyID, kps[1], kps[0], []byte("pay the thief"), resign)
	if !errors.Is(err, client.ErrTampered) {
		t.Fatalf("the victim's error = %v (asked %v, rounds %v), want ErrTampered", err, asked, rounds)
	}
	for _, r := range rounds {
		if r != "1" {
			t.Fatalf("the victim submitted round %s", r)
		}
	}
}

// Forged, replayed, out-of-order and malformed device statements are
// refused with their documented code, and the chain stays as it was.
func TestDeviceStatementsRefused(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	alice := register(t, s, true)
	laptop := joinDevice(t, s, alice)
	ch, _, err := alice.c.VerifiedChain(ctx, alice.fp)
	if err != nil {
		t.Fatal(err)
	}
	head := ch.Entries[len(ch.Entries)-1]
	now := time.Now().Unix()
	stranger, phone := testkit.NewKey(t), testkit.NewKey(t)
	add := func(f func(*chusme.DeviceAddRequest)) chusme.DeviceAddRequest {
		r := testkit.DeviceAddRequest(s.URL, alice.fp, head, alice.key, phone, now-60, now)
		if f != nil {
			f(&r)
		}
		return r
	}
	replayed := testkit.DeviceAddRequest(s.URL, alice.fp, ch.Entries[0], alice.key, laptop.key, now-60, now)
	before := chainOf(t, s, alice.fp)
	devices := "/v1/identities/" + alice.fp + "/devices"
	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"replayed addition", devices, replayed, 409, chusme.CodeChainConflict},
		{"out of order", devices, add(func(r *chusme.DeviceAddRequest) { r.Seq += 1 }), 409, chusme.CodeChainConflict},
		{"by a stranger", devices, testkit.DeviceAddRequest(s.URL, alice.fp, head, stranger, phone, now-60, now), 403, chusme.CodeNotDeviceKey},
		{"forged join signature", devices, add(func(r *chusme.DeviceAddRequest) { r.JoinSignature = ed25519.Sign(stranger, []byte("x")) }), 401, chusme.CodeInvalidSignature},
		{"forged signature", devices, add(func(r *chusme.DeviceAddRequest) { r.Signature[0] ^= 1 }), 401, chusme.CodeInvalidSignature},
		{"stale join request", devices, testkit.DeviceAddRequest(s.URL, alice.fp, head, alice.key, phone, now-int64(chusme.DeviceJoinValidity/time.Second)-60, now), 400, chusme.CodeJoinExpired},
		{"stale statement", devices, testkit.DeviceAddRequest(s.URL, alice.fp, head, alice.key, phone, now-3600, now-3600), 400, chusme.CodeInvalidRequest},
		{"malformed key", devices, add(func(r *chusme.DeviceAddRequest) { r.NewKey = r.NewKey[:31] }), 400, chusme.CodeInvalidPublicKey},
		{"malformed body", devices, map[string]any{"seq": "one"}, 400, chusme.CodeInvalidJSON},
		{"removal of a stranger's key", devices + "/remove", testkit.DeviceRemoveRequest(s.URL, alice.fp, head, alice.key, testkit.Public(stranger), now), 403, chusme.CodeNotDeviceKey},
		{"removal by a stranger", devices + "/remove", testkit.DeviceRemoveRequest(s.URL, alice.fp, head, stranger, testkit.Public(laptop.key), now), 403, chusme.CodeNotDeviceKey},
		{"replayed removal", devices + "/remove", testkit.DeviceRemoveRequest(s.URL, alice.fp, ch.Entries[0], alice.key, testkit.Public(laptop.key), now), 409, chusme.CodeChainConflict},
	} {
		testkit.Do(t, "POST", s.URL+c.path, "", c.body).Expect(t, c.status, c.code)
		if after := chainOf(t, s, alice.fp); !bytes.Equal(after, before) {
			t.Fatalf("%s changed the chain", c.name)
		}
	}
	// The last device can't be removed.
	if _, err := alice.c.RemoveDevice(ctx, alice.fp, client.LocalKey(alice.key), laptop.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	_, err = alice.c.RemoveDevice(ctx, alice.fp, client.LocalKey(alice.key), alice.key.Public().(ed25519.PublicKey))
	wantCode(t, "removing the last device", err, chusme.CodeLastDevice)
}

// A thief who stole the laptop's key adds a device of its own; the owner's
// recovery key removes both (each removal ends that device's sessions) and
// no device key can act for the cancel window; a recovery then leaves the
// owner's new device alone, and the chain verifies offline.
func TestRecoveryKeyRemovesThiefDevices(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	owner := register(t, s, true)
	rk := testkit.NewKey(t)
	if _, err := owner.c.AddRecoveryKey(ctx, owner.fp, client.LocalKey(owner.key), client.LocalKey(rk)); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.c.Login(ctx, owner.key); err != nil {
		t.Fatal(err)
	}
	laptop := joinDevice(t, s, owner)
	thief := joinDevice(t, s, laptop) // the stolen laptop's key adds the thief's device
	if _, err := thief.c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.c.RemoveDevice(ctx, owner.fp, client.LocalKey(rk), thief.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	_, err := thief.c.Me(ctx)
	wantCode(t, "the thief's session after the removal", err, chusme.CodeSessionRevoked)
	// Pending: the stolen laptop key can't answer (nor remove the owner).
	_, err = laptop.c.RemoveDevice(ctx, owner.fp, client.LocalKey(laptop.key), owner.key.Public().(ed25519.PublicKey))
	wantCode(t, "a device key while the recovery key's removal is pending", err, chusme.CodeOutranked)
	if _, err := owner.c.Me(ctx); err != nil {
		t.Fatalf("the owner's session: %v", err)
	}
	fresh := testkit.NewKey(t)
	if _, err := owner.c.Recover(ctx, owner.fp, client.LocalKey(rk), fresh); chusme.ErrorCode(err) != chusme.CodeOutranked {
		t.Fatalf("a recovery by the same recovery key while its removal is pending = %v, want %s", err, chusme.CodeOutranked)
	}
	devices, err := newClient(t, s.URL).Devices(ctx, owner.fp)
	if err != nil || len(devices) != 2 || !devices[0].Equal(owner.key.Public()) || !devices[1].Equal(laptop.key.Public()) {
		t.Fatalf("Devices = %x, %v", devices, err)
	}
}

// A pinned client refuses a chain from a lying proxy that drops a device
// removal it saw; an unpinned one can't tell.
func TestPinnedDeviceRemovalCantBeDropped(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	laptop := joinDevice(t, s, peer)
	if _, err := peer.c.RemoveDevice(ctx, peer.fp, client.LocalKey(peer.key), laptop.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	ch, _, err := v.c.VerifiedChain(ctx, peer.fp)
	if err != nil || len(ch.Entries) != 3 {
		t.Fatalf("VerifiedChain = %d entries, %v", len(ch.Entries), err)
	}
	pinned := ch.Head()
	proxy.setLie(answerChain(t, peer.fp, func(ch *chusme.ChainResponse) { ch.Entries = ch.Entries[:2] }))
	_, _, err = v.c.VerifiedChain(ctx, peer.fp)
	wantPeerKeyError(t, err, peer.fp, pinned.String())
	devices, err := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{}).c.Devices(ctx, peer.fp)
	if err != nil || len(devices) != 2 {
		t.Fatalf("an unpinned client: Devices = %x, %v; want the removed device back", devices, err)
	}
}

// A device rotates its own key: only its sessions end, the other device's
// stay, and the new key logs in in its place.
func TestDeviceRotationRevokesItsSessionsOnly(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	alice := register(t, s, true)
	laptop := joinDevice(t, s, alice)
	next := testkit.NewKey(t)
	if _, err := laptop.c.Rotate(ctx, alice.fp, laptop.key, next); err != nil {
		t.Fatal(err)
	}
	_, err := laptop.c.Me(ctx)
	wantCode(t, "the rotated device's session", err, chusme.CodeSessionRevoked)
	if _, err := alice.c.Me(ctx); err != nil {
		t.Fatalf("the other device's session after the rotation: %v", err)
	}
	if _, err := laptop.c.Login(ctx, next, client.LoginFingerprint(alice.fp)); err != nil {
		t.Fatal(err)
	}
	devices, err := alice.c.Devices(ctx, alice.fp)
	if err != nil || len(devices) != 2 || !devices[0].Equal(alice.key.Public()) || !devices[1].Equal(next.Public()) {
		t.Fatalf("Devices after the rotation = %x, %v", devices, err)
	}
}

// onDevice is member m's identity on a new device of it (joinDevice).
func onDevice(t *testing.T, s *servertest.Server, m *servertest.Member) *servertest.Member {
	t.Helper()
	d := joinDevice(t, s, party{fp: m.Fingerprint, key: m.Key, c: m.Client})
	return &servertest.Member{Key: d.key, Fingerprint: d.fp, Client: d.c}
}

// certifiedBy checks that the certificate entry of fp in cfs names device
// key want at chain head seq.
func certifiedBy(t *testing.T, what string, cfs []chusme.GroupKeyConfirmation, fp string, seq uint64, want ed25519.PrivateKey) {
	t.Helper()
	i := slices.IndexFunc(cfs, func(cf chusme.GroupKeyConfirmation) bool { return cf.Fingerprint == fp })
	if i < 0 || cfs[i].HeadSeq != seq || !bytes.Equal(cfs[i].PublicKey, want.Public().(ed25519.PublicKey)) {
		t.Fatalf("%s of %s: %+v, want head %d and the device key %x", what, fp, cfs, seq, want.Public())
	}
}

// Key ceremonies run on any device: a 2-of-3 DKG where one participant
// runs on its second device certifies with that device's key (another
// client verifies the certificate against the chain) and signs with the
// share on the identity's first device; a refresh where an endorsing
// holder runs on its second device certifies its endorsement and
// confirmation with that key, and the line verifies from generation 1;
// two helpers on their second devices repair a third holder's share.
func TestKeyCeremoniesOnAnyDevice(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 4) // an administrator, then the key's three participants
	laptop, phone := onDevice(t, s, ms[1]), onDevice(t, s, ms[2])
	res := servertest.DKG(t, []*servertest.Member{laptop, ms[2], ms[3]}, 2)
	k, err := ms[0].Client.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatalf("GroupKey of the DKG made on a second device: %v", err)
	}
	certifiedBy(t, "the DKG's confirmation", k.Certificate.Confirmations, ms[1].Fingerprint, 1, laptop.Key)
	certifiedBy(t, "the DKG's confirmation", k.Certificate.Confirmations, ms[2].Fingerprint, 1, ms[2].Key)
	msg := []byte("signed on the first device with the share made on the second")
	sig, _ := servertest.Sign(t, ms[3], ms[1:], res, []int{0, 2}, msg)
	if !ed25519.Verify(ed25519.PublicKey(k.PublicKey), msg, sig) {
		t.Fatal("the signature does not verify under the group key")
	}

	next := servertest.KeyChange(t, []*servertest.Member{ms[1], phone, ms[3]}, res, 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh})
	g2, err := ms[0].Client.GroupKeyGeneration(ctx, next[0].KeyID, 2)
	if err != nil {
		t.Fatalf("GroupKeyGeneration 2 of the refresh endorsed on a second device: %v", err)
	}
	certifiedBy(t, "the refresh's endorsement", g2.Certificate.Endorsements, ms[2].Fingerprint, 1, phone.Key)
	certifiedBy(t, "the refresh's confirmation", g2.Certificate.Confirmations, ms[2].Fingerprint, 1, phone.Key)
	certifiedBy(t, "the refresh's endorsement", g2.Certificate.Endorsements, ms[1].Fingerprint, 1, ms[1].Key)

	// Two helpers on their second devices repair ms[3]'s share.
	info, err := laptop.Client.CreateCeremony(ctx, laptop.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: k.KeyID,
		Participants: servertest.Fingerprints(ms[1:]), NewParticipants: []string{ms[3].Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	var repaired *client.DKGResult
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, m := range []*servertest.Member{laptop, phone, ms[3]} {
		wg.Go(func() {
			if i == 2 {
				repaired, errs[i] = m.Client.RunRepair(ctx, info.ID, m.Key, nil, nil)
				return
			}
			_, errs[i] = m.Client.RunRepair(ctx, info.ID, m.Key, &client.OldShare{KeyPackage: next[i].KeyPackage, PublicKeyPackage: next[i].PublicKeyPackage, Generation: 2}, nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("a repair by helpers on their second devices: %v", err)
	}
	defer repaired.KeyPackage.Zero()
	if !bytes.Equal(repaired.KeyPackage.VerifyingShare().Bytes(), g2.VerifyingShares[ms[3].Fingerprint]) {
		t.Fatal("the repaired share is not the holder's")
	}
}
