package client_test

import (
	"crypto/ed25519"
	"strconv"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// The stalemate of issue 17: a thief holding the device key K1 rotates
// away, the owner cancels with K1, rotates, the thief cancels with K1 —
// until the owner's recovery key rotates the device key: the thief's cancel
// with a device key is refused, the owner's new device logs in, the
// thief's sessions are gone and the chain verifies offline.
func TestRecoveryKeyEndsTheStalemate(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	ids := s.SetUp(t)
	owner, k1 := ids.User, ids.UserKey
	fp := testkit.Fingerprint(k1)
	thief := newClient(t, s.URL)
	if _, err := thief.Login(ctx, k1); err != nil {
		t.Fatal(err)
	}

	// The owner registers a recovery key (an addition: final at once).
	rk := testkit.NewKey(t)
	if _, err := owner.AddRecoveryKey(ctx, fp, client.LocalKey(k1), client.LocalKey(rk)); err != nil {
		t.Fatal(err)
	}
	if got, err := owner.RecoveryKeys(ctx, fp); err != nil || len(got) != 1 || !got[0].Equal(rk.Public()) {
		t.Fatalf("RecoveryKeys = %x, %v", got, err)
	}

	// The stalemate: two rounds, K1 stays current.
	for range 2 {
		if _, err := thief.Rotate(ctx, fp, k1, testkit.NewKey(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.CancelRotation(ctx, fp, k1); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Rotate(ctx, fp, k1, testkit.NewKey(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := thief.CancelRotation(ctx, fp, k1); err != nil {
			t.Fatal(err)
		}
	}
	// The thief rotates once more and logs in with its key.
	k4 := testkit.NewKey(t)
	if _, err := thief.Rotate(ctx, fp, k1, k4); err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Login(ctx, k4, client.LoginFingerprint(fp)); err != nil {
		t.Fatal(err)
	}

	// The owner, on a new machine, recovers: overriding the pending
	// rotation.
	device := newClient(t, s.URL)
	k5 := testkit.NewKey(t)
	if _, err := device.Recover(ctx, fp, client.LocalKey(k5), k5); chusme.ErrorCode(err) != chusme.CodeNotRecoveryKey {
		t.Fatalf("Recover signed by a stranger = %v, want %s", err, chusme.CodeNotRecoveryKey)
	}
	e, err := device.Recover(ctx, fp, client.LocalKey(rk), k5)
	if err != nil || e.Kind != chusme.EntryRecover {
		t.Fatalf("Recover = %+v, %v", e, err)
	}
	_, err = thief.Me(ctx)
	wantCode(t, "the thief's session after recovery", err, chusme.CodeSessionRevoked)
	// The thief's cancel, signed by the device key the recovery replaced
	// (the client library would not even send it), is outranked.
	c := chusme.CancelRequest{Seq: e.Seq + 1, Prev: e.Hash, Time: time.Now().Unix()}
	c.Signature = ed25519.Sign(k4, chusme.CancelMessage(s.URL, fp, c.Seq, e.Seq, c.Prev, e.NewKey, e.OldKey, c.Time))
	testkit.Do(t, "POST", s.URL+"/v1/identities/"+fp+"/rotations/"+strconv.FormatUint(e.Seq, 10)+"/cancel", "", c).
		Expect(t, 409, chusme.CodeOutranked)
	_, err = thief.Rotate(ctx, fp, k4, testkit.NewKey(t))
	if err == nil {
		t.Fatal("the thief rotated the recovered identity")
	}
	_, err = thief.Login(ctx, k4, client.LoginFingerprint(fp))
	if err == nil {
		t.Fatal("the thief's key logs in after recovery")
	}
	if _, err := device.Login(ctx, k5, client.LoginFingerprint(fp)); err != nil {
		t.Fatalf("the owner's new device: %v", err)
	}
	ch, cur, err := newClient(t, s.URL).VerifiedChain(ctx, fp)
	if err != nil || !cur.Equal(k5.Public()) || len(ch.Entries) != 12 {
		t.Fatalf("VerifiedChain = %x, %v (%d entries)", cur, err, len(ch.Entries))
	}
}

// A proxy that drops the recovery entries from a chain the client pinned
// past them — serving instead a rotation by the stolen genesis key — is
// refused; a client with no pin would take it (only the pin tells).
func TestPinnedRecoveryEntryCantBeDropped(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	proxy := newLyingProxy(t, s.URL)
	k0, k1, k2, rk := peer.key, testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	if _, err := peer.c.AddRecoveryKey(ctx, peer.fp, client.LocalKey(k0), client.LocalKey(rk)); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.c.Recover(ctx, peer.fp, client.LocalKey(rk), k1); err != nil {
		t.Fatal(err)
	}
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	ch, cur, err := v.c.VerifiedChain(ctx, peer.fp)
	if err != nil || !cur.Equal(k1.Public()) || len(ch.Entries) != 3 {
		t.Fatalf("VerifiedChain = %x, %v (%d entries)", cur, err, len(ch.Entries))
	}
	pinned := ch.Head()

	g := ch.Entries[0]
	fork := forkRotation(s.URL, peer.fp, g, k0, k2)
	proxy.setLie(answerChain(t, peer.fp, func(ch *chusme.ChainResponse) { ch.Entries = []chusme.ChainEntry{g, fork} }))
	_, _, err = v.c.VerifiedChain(ctx, peer.fp)
	wantPeerKeyError(t, err, peer.fp, pinned.String())
	if _, cur, err := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{}).c.VerifiedChain(ctx, peer.fp); err != nil || !cur.Equal(k2.Public()) {
		t.Fatalf("an unpinned client: VerifiedChain = %x, %v; want the forked key", cur, err)
	}
}

// forkRotation returns a rotation of identity fp from the genesis g (whose
// key old is, stolen) to next, as seq 1: a fork of any longer chain.
func forkRotation(issuer, fp string, g chusme.ChainEntry, old, next ed25519.PrivateKey) chusme.ChainEntry {
	fork := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryRotate, Prev: g.Hash, OldKey: g.NewKey,
		NewKey: chusme.Bytes(next.Public().(ed25519.PublicKey)), Time: time.Now().Unix(), AcceptedAt: time.Now()}
	msg := fork.Statement(issuer, fp)
	fork.Signature, fork.NewKeySignature = ed25519.Sign(old, msg), ed25519.Sign(next, msg)
	fork.Hash = chusme.EntryHash(issuer, fp, fork)
	return fork
}
