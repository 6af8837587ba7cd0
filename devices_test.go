package chusme_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// deviceChain builds chains of one identity (genesis key seed 1) entry by
// entry, each signed and hashed, accepted a minute after the one before.
type deviceChain struct {
	t       testing.TB
	fp      string
	entries []chusme.ChainEntry
	at      time.Time
}

func seedKey(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }

func pubOf(k ed25519.PrivateKey) chusme.Bytes { return chusme.Bytes(k.Public().(ed25519.PublicKey)) }

func newDeviceChain(t testing.TB) *deviceChain {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fp := chusme.Fingerprint(pubOf(seedKey(1)))
	g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: pubOf(seedKey(1)), CreatedAt: at})
	return &deviceChain{t: t, fp: fp, entries: []chusme.ChainEntry{g}, at: at}
}

// next returns e as the chain's next entry (seq, prev, times), signed by
// signer (and by newKey over the statement, for a rotation), not appended.
func (c *deviceChain) next(e chusme.ChainEntry, signer, newKey ed25519.PrivateKey) chusme.ChainEntry {
	h := c.entries[len(c.entries)-1]
	e.Seq, e.Prev = h.Seq+1, h.Hash
	at := c.at.Add(time.Duration(len(c.entries)) * time.Minute)
	e.Time, e.AcceptedAt = at.Unix(), at
	if e.Kind == chusme.EntryDeviceAdd && e.JoinTime == 0 {
		e.JoinTime = e.Time - 60
	}
	msg := e.Statement(testIssuer, c.fp)
	e.Signature = ed25519.Sign(signer, msg)
	if newKey != nil && e.Kind == chusme.EntryDeviceAdd {
		e.NewKeySignature = ed25519.Sign(newKey, chusme.DeviceJoinMessage(testIssuer, c.fp, e.NewKey, e.JoinTime))
	} else if newKey != nil {
		e.NewKeySignature = ed25519.Sign(newKey, msg)
	}
	e.Hash = chusme.EntryHash(testIssuer, c.fp, e)
	return e
}

// try judges e as the server would (CheckChainAppend) and, when the rules
// admit it, appends it; it returns the keys after e.
func (c *deviceChain) try(e chusme.ChainEntry) (chusme.ChainKeys, error) {
	k, err := chusme.CheckChainAppend(testIssuer, c.fp, c.entries, e, keys.CheckPublicKey, keys.Verify)
	if err == nil {
		c.entries = append(c.entries, e)
	}
	return k, err
}

func (c *deviceChain) must(e chusme.ChainEntry) chusme.ChainKeys {
	c.t.Helper()
	k, err := c.try(e)
	if err != nil {
		c.t.Fatalf("%s (seq %d): %v", e.Kind, e.Seq, err)
	}
	return k
}

func (c *deviceChain) add(signer, key ed25519.PrivateKey) chusme.ChainEntry {
	return c.next(chusme.ChainEntry{Kind: chusme.EntryDeviceAdd, NewKey: pubOf(key), Signer: pubOf(signer)}, signer, key)
}

func (c *deviceChain) remove(signer ed25519.PrivateKey, removed chusme.Bytes) chusme.ChainEntry {
	return c.next(chusme.ChainEntry{Kind: chusme.EntryDeviceRemove, OldKey: removed, Signer: pubOf(signer)}, signer, nil)
}

func wantDevices(t *testing.T, got chusme.ChainKeys, want ...ed25519.PrivateKey) {
	t.Helper()
	if len(got.Devices) != len(want) {
		t.Fatalf("%d device keys, want %d", len(got.Devices), len(want))
	}
	for i, k := range want {
		if !bytes.Equal(got.Devices[i], pubOf(k)) {
			t.Fatalf("device %d = %x, want %x", i, got.Devices[i], pubOf(k))
		}
	}
}

func wantRuleCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if chusme.ErrorCode(err) != code {
		t.Fatalf("%s: err = %v, want code %s", what, err, code)
	}
}

// The device rules (docs/protocol.md §6 "Devices"): an addition is signed by
// a current device key and the new key's join request; a removal by any
// device key (the removed one too) or a recovery key; a rotation replaces
// the signing device only; a recovery leaves one device. VerifyChainKeys
// agrees with CheckChainAppend on the chain they build.
func TestDeviceRules(t *testing.T) {
	k1, k2, k3 := seedKey(1), seedKey(2), seedKey(3)
	c := newDeviceChain(t)
	wantDevices(t, c.must(c.add(k1, k2)), k1, k2)

	bad := c.add(k1, k3)
	bad.NewKeySignature = ed25519.Sign(k3, chusme.DeviceJoinMessage(testIssuer, "another identity", pubOf(k3), bad.JoinTime))
	bad.Hash = chusme.EntryHash(testIssuer, c.fp, bad)
	_, err := c.try(bad)
	wantRuleCode(t, "a join request for another identity", err, chusme.CodeInvalidSignature)

	old := c.add(k1, k3)
	old.JoinTime = old.Time - int64(chusme.DeviceJoinValidity/time.Second) - 1
	old = c.next(old, k1, k3)
	_, err = c.try(old)
	wantRuleCode(t, "a stale join request", err, chusme.CodeJoinExpired)

	_, err = c.try(c.add(k1, k2))
	wantRuleCode(t, "adding a current device again", err, chusme.CodeInvalidRequest)

	stranger := seedKey(7)
	_, err = c.try(c.add(stranger, k3))
	wantRuleCode(t, "an addition by a stranger", err, chusme.CodeNotDeviceKey)

	// The second device rotates: only its key is replaced.
	rot := c.next(chusme.ChainEntry{Kind: chusme.EntryRotate, OldKey: pubOf(k2), NewKey: pubOf(k3)}, k2, k3)
	wantDevices(t, c.must(rot), k1, k3)
	// While the rotation is pending, no device change.
	_, err = c.try(c.remove(k1, pubOf(k3)))
	wantRuleCode(t, "a removal while a rotation is pending", err, chusme.CodeRotationPending)
	c.at = c.at.Add(chusme.RotationCancelWindow)

	_, err = c.try(c.add(k1, k2))
	wantRuleCode(t, "re-adding a replaced key", err, chusme.CodeInvalidRequest)

	// A device retires itself; the last device can't go.
	wantDevices(t, c.must(c.remove(k3, pubOf(k3))), k1)
	_, err = c.try(c.remove(k1, pubOf(k1)))
	wantRuleCode(t, "removing the last device", err, chusme.CodeLastDevice)
	_, err = c.try(c.remove(k1, pubOf(k3)))
	wantRuleCode(t, "removing a removed device", err, chusme.CodeNotDeviceKey)

	// Up to MaxDevices.
	for i := range chusme.MaxDevices - 1 {
		c.must(c.add(k1, seedKey(byte(20+i))))
	}
	_, err = c.try(c.add(k1, seedKey(40)))
	wantRuleCode(t, "one device too many", err, chusme.CodeTooManyDevices)

	if k, err := chusme.VerifyChainKeys(testIssuer, c.fp, c.entries, keys.CheckPublicKey, keys.Verify); err != nil || len(k.Devices) != chusme.MaxDevices {
		t.Fatalf("VerifyChainKeys = %d devices, %v", len(k.Devices), err)
	}
}

// A recovery key outranks every device key: it removes a thief's device (and
// no device key acts for RotationCancelWindow after), a higher one cancels
// that removal, and a recovery leaves the new device alone.
func TestDeviceRecoveryRanks(t *testing.T) {
	k1, thief, r1, r2, fresh := seedKey(1), seedKey(2), seedKey(8), seedKey(9), seedKey(10)
	c := newDeviceChain(t)
	rk := c.next(chusme.ChainEntry{Kind: chusme.EntryRecoveryKeys, OldKey: pubOf(k1), NewKey: pubOf(k1), Signer: pubOf(k1),
		RecoveryKeys: []chusme.Bytes{pubOf(r1), pubOf(r2)}}, k1, nil)
	msg := rk.Statement(testIssuer, c.fp)
	rk.KeySignatures = []chusme.Bytes{ed25519.Sign(r1, msg), ed25519.Sign(r2, msg)}
	rk.Hash = chusme.EntryHash(testIssuer, c.fp, rk)
	c.must(rk)
	// A recovery-keys entry that only appends keys is not pending.
	c.must(c.add(k1, thief))
	// A recovery key does not add devices (it recovers).
	_, err := c.try(c.add(r1, fresh))
	wantRuleCode(t, "an addition signed by a recovery key", err, chusme.CodeNotDeviceKey)

	// The second recovery key removes the thief's device: pending.
	rm := c.remove(r2, pubOf(thief))
	wantDevices(t, c.must(rm), k1)
	_, err = c.try(c.add(k1, fresh))
	wantRuleCode(t, "a device key acts while a recovery key's removal is pending", err, chusme.CodeOutranked)
	// The first (higher) recovery key cancels the removal: the thief's key is back.
	cancel := c.next(chusme.ChainEntry{Kind: chusme.EntryCancel, OldKey: rm.NewKey, NewKey: rm.OldKey, Cancels: rm.Seq, Signer: pubOf(r1)}, r1, nil)
	wantDevices(t, c.must(cancel), k1, thief)
	// The thief's device can't cancel or undo anything by a device key;
	// the owner recovers to one fresh device.
	rec := c.next(chusme.ChainEntry{Kind: chusme.EntryRecover, OldKey: pubOf(k1), NewKey: pubOf(fresh), Signer: pubOf(r1)}, r1, fresh)
	wantDevices(t, c.must(rec), fresh)
	c.at = c.at.Add(chusme.RotationCancelWindow)
	_, err = c.try(c.remove(thief, pubOf(fresh)))
	wantRuleCode(t, "the thief's key after the recovery", err, chusme.CodeNotDeviceKey)
	if k, err := chusme.VerifyChainKeys(testIssuer, c.fp, c.entries, keys.CheckPublicKey, keys.Verify); err != nil || len(k.Devices) != 1 {
		t.Fatalf("VerifyChainKeys = %+v, %v", k, err)
	}
}
