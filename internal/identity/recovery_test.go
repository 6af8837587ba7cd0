package identity_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

// setKeys submits a recovery-keys statement by signer setting list, with a
// proof of possession by the keys at the indices added.
func (f *fixture) setKeys(signer ed25519.PrivateKey, list []ed25519.PrivateKey, added ...int) error {
	a := map[int]bool{}
	for _, i := range added {
		a[i] = true
	}
	r := testkit.RecoveryKeysRequest(issuer, f.fp, f.last(), f.currentKey(), signer, list, a, f.clk.Now().Unix())
	_, err := f.svc.SetRecoveryKeys(f.t.Context(), f.fp, r)
	return err
}

func (f *fixture) recover(signer, next ed25519.PrivateKey) error {
	_, err := f.svc.Recover(f.t.Context(), f.fp, testkit.RecoverRequest(issuer, f.fp, f.last(), signer, f.currentKey(), next, f.clk.Now().Unix()))
	return err
}

func (f *fixture) recoveryCancel(signer ed25519.PrivateKey) error {
	h := f.last()
	_, err := f.svc.Cancel(f.t.Context(), f.fp, h.Seq, testkit.RecoveryCancel(issuer, f.fp, h, signer, f.clk.Now().Unix()))
	return err
}

func (f *fixture) rotate(old, next ed25519.PrivateKey) error {
	_, err := f.svc.Rotate(f.t.Context(), f.fp, f.rotation(old, next))
	return err
}

func (f *fixture) deviceCancel(restored ed25519.PrivateKey) error {
	seq, c := f.cancel(restored)
	_, err := f.svc.Cancel(f.t.Context(), f.fp, seq, c)
	return err
}

// step checks the outcome of one statement: its code, whether the chain
// grew, the session it revoked, and that the chain still verifies offline
// to the store's current key.
func (f *fixture) step(what string, err error, code string, session string, reason chusme.RevocationReason) {
	f.t.Helper()
	if got := chusme.ErrorCode(err); got != code {
		f.t.Fatalf("%s: %v (code %q), want %q", what, err, got, code)
	}
	if got := f.reason(session); got != reason {
		f.t.Fatalf("%s: session %s revoked with %q, want %q", what, session, got, reason)
	}
	cur, verr := verify(f.t, f.fp, f.chain())
	if verr != nil || !bytes.Equal(cur, f.currentKey()) {
		f.t.Fatalf("%s: VerifyChain = %x, %v; store has %x", what, cur, verr, f.currentKey())
	}
}

// The rules of docs/protocol.md §6 "Recovery keys", row by row, on a fake
// clock; after every statement the chain verifies offline to the store's
// key, and a refused one revokes nothing.
func TestRecoveryRules(t *testing.T) {
	k0, k1, k2, k3 := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	r1, r2, r3, r4 := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	f := newFixture(t, k0)
	n := 0
	session := func() string {
		n++
		id := "s" + string(rune('a'+n))
		f.login(id)
		return id
	}

	// Malformed or unproven lists are refused.
	s := session()
	f.step("no proof of possession", f.setKeys(k0, []ed25519.PrivateKey{r1}), chusme.CodeInvalidSignature, s, "")
	f.step("four keys", f.setKeys(k0, []ed25519.PrivateKey{r1, r2, r3, r4}, 0, 1, 2, 3), chusme.CodeInvalidRequest, s, "")
	f.step("a key twice", f.setKeys(k0, []ed25519.PrivateKey{r1, r1}, 0, 1), chusme.CodeInvalidRequest, s, "")
	f.step("the device key listed", f.setKeys(k0, []ed25519.PrivateKey{k0}, 0), chusme.CodeInvalidRequest, s, "")
	f.step("a stranger signs", f.setKeys(k1, []ed25519.PrivateKey{r1}, 0), chusme.CodeNotRecoveryKey, s, "")
	f.step("a recovery with no recovery key", f.recover(r1, k1), chusme.CodeNotRecoveryKey, s, "")

	// Appending keys is final at once: a rotation may follow.
	f.step("add r1, r2", f.setKeys(k0, []ed25519.PrivateKey{r1, r2}, 0, 1), "", s, chusme.RevokedRecoveryKeys)
	s = session()
	f.step("kept key signs again", f.setKeys(k0, []ed25519.PrivateKey{r1, r2, r3}, 0, 1, 2), chusme.CodeInvalidRequest, s, "")
	f.step("rotate k0→k1", f.rotate(k0, k1), "", s, chusme.RevokedRotate)

	// A pending device rotation: the recovery key overrides it; the device
	// key the rotation replaced can't cancel the recovery, nor the lower
	// recovery key, nor can the new device key rotate.
	s = session()
	f.step("recover k1→k2 by r2", f.recover(r2, k2), "", s, chusme.RevokedRecover)
	s = session()
	f.step("device cancel of the recovery", f.deviceCancel(k1), chusme.CodeOutranked, s, "")
	f.step("rotate during the recovery", f.rotate(k2, k3), chusme.CodeOutranked, s, "")
	f.step("r2 recovers again", f.recover(r2, k3), chusme.CodeOutranked, s, "")
	f.step("r1 cancels r2's recovery", f.recoveryCancel(r1), "", s, chusme.RevokedCancel)
	if !bytes.Equal(f.currentKey(), testkit.Public(k1)) {
		t.Fatal("the cancelled recovery did not restore k1")
	}
	// After a cancellation nothing is pending.
	s = session()
	f.step("r2 recovers k1→k2", f.recover(r2, k2), "", s, chusme.RevokedRecover)
	s = session()
	f.step("r2 cancels its own recovery", f.recoveryCancel(r2), chusme.CodeOutranked, s, "")
	f.clk.Add(chusme.RotationCancelWindow)
	f.step("r1 cancels after the window", f.recoveryCancel(r1), chusme.CodeRotationFinal, s, "")

	// The device key removes a recovery key: pending; nothing but a
	// recovery key's cancellation meanwhile.
	f.step("device drops r1", f.setKeys(k2, []ed25519.PrivateKey{r2}), "", s, chusme.RevokedRecoveryKeys)
	s = session()
	f.step("rotate during the removal", f.rotate(k2, k3), chusme.CodeRotationPending, s, "")
	f.step("recover during the removal", f.recover(r1, k3), chusme.CodeRotationPending, s, "")
	f.step("device cancel of the removal", f.deviceCancel(k2), chusme.CodeOutranked, s, "")
	f.step("r1 cancels the removal", f.recoveryCancel(r1), "", s, chusme.RevokedCancel)

	// Past the window a removal is final: the dropped key is no
	// recovery key any more.
	s = session()
	f.step("device drops r1 again", f.setKeys(k2, []ed25519.PrivateKey{r2}), "", s, chusme.RevokedRecoveryKeys)
	f.clk.Add(chusme.RotationCancelWindow)
	s = session()
	f.step("r1 after its removal", f.recover(r1, k3), chusme.CodeNotRecoveryKey, s, "")
	f.step("r2 recovers k2→k3", f.recover(r2, k3), "", s, chusme.RevokedRecover)

	// A recovery key cancels a device rotation, restoring the old key.
	f.clk.Add(chusme.RotationCancelWindow)
	s = session()
	f.step("rotate k3→k1", f.rotate(k3, k1), "", s, chusme.RevokedRotate)
	s = session()
	f.step("r2 cancels the rotation", f.recoveryCancel(r2), "", s, chusme.RevokedCancel)
	if !bytes.Equal(f.currentKey(), testkit.Public(k3)) {
		t.Fatal("the cancelled rotation did not restore k3")
	}
	got, err := chusme.VerifyChainKeys(issuer, f.fp, f.chain(), keys.CheckPublicKey, keys.Verify)
	if err != nil || len(got.Recovery) != 1 || !bytes.Equal(got.Recovery[0], testkit.Public(r2)) {
		t.Fatalf("VerifyChainKeys = %x, %v; want r2 the only recovery key", got.Recovery, err)
	}
}
