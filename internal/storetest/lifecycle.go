package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// lifecycleTests cover chusme.LifecycleStore: TOTP credentials, recovery
// codes, identity blobs and chains.
var lifecycleTests = []storeCase{
	{"TOTP/round_trips_unconfirmed", testTOTPRoundTrip},
	{"TOTP/unknown_identity_not_found", testTOTPUnknownIdentity},
	{"TOTP/put_replaces_unconfirmed_refuses_confirmed", testTOTPPutReplace},
	{"TOTP/confirm_once_with_recovery_codes", testTOTPConfirm},
	{"TOTP/step_used_once_and_only_forward", testTOTPStep},
	{"TOTP/step_concurrent_one_wins", testTOTPStepConcurrent},
	{"TOTP/step_unconfirmed_not_found", testTOTPStepUnconfirmed},
	{"TOTP/recovery_code_single_use", testRecoveryOnce},
	{"TOTP/recovery_code_concurrent_one_wins", testRecoveryConcurrent},
	{"TOTP/delete_removes_codes", testTOTPDelete},
	{"TOTP/login_identity_joins_credential", testLoginIdentity},

	{"Blob/create_then_compare_and_swap", testBlobCAS},
	{"Blob/concurrent_same_etag_one_wins", testBlobConcurrent},
	{"Blob/missing_not_found", testBlobMissing},

	{"Chain/append_updates_key_and_revokes_sessions", testChainAppend},
	{"Chain/append_without_reason_revokes_nothing", testChainAppendNoRevoke},
	{"Chain/decide_error_writes_nothing", testChainDecideError},
	{"Chain/duplicate_seq_conflicts", testChainDuplicate},
	{"Chain/concurrent_same_seq_one_wins", testChainConcurrent},
	{"Chain/unknown_identity_not_found", testChainUnknown},
	{"Chain/recovery_fields_round_trip", testChainRecoveryFields},
	{"Chain/devices_and_device_sessions", testChainDevices},
}

func newTOTP(fp string) chusme.TOTPCredential {
	return chusme.TOTPCredential{Fingerprint: fp, SecretSealed: hash("sealed " + fp), CreatedAt: base}
}

func mustConfirmedTOTP(t *testing.T, s chusme.Store, fp string, step int64, codes ...string) {
	t.Helper()
	if err := s.PutTOTP(ctx(t), newTOTP(fp)); err != nil {
		t.Fatalf("PutTOTP: %v", err)
	}
	var hs [][]byte
	for _, c := range codes {
		hs = append(hs, hash(c))
	}
	if err := s.ConfirmTOTP(ctx(t), fp, step, hs, base); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
}

func testTOTPRoundTrip(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	_, err := s.GetTOTP(ctx(t), id.Fingerprint)
	wantCode(t, "GetTOTP before PutTOTP", err, chusme.CodeNotFound)
	want := newTOTP(id.Fingerprint)
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), want), "")
	got, err := s.GetTOTP(ctx(t), id.Fingerprint)
	wantCode(t, "GetTOTP", err, "")
	if got.Fingerprint != want.Fingerprint || !bytes.Equal(got.SecretSealed, want.SecretSealed) || got.LastStep != 0 ||
		!got.CreatedAt.Equal(base) || got.Confirmed() {
		t.Fatalf("credential:\n got %+v\nwant %+v", got, want)
	}
}

func testTOTPUnknownIdentity(t *testing.T, s chusme.Store) {
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), newTOTP(newIdentity("nobody").Fingerprint)), chusme.CodeNotFound)
}

func testTOTPPutReplace(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), newTOTP(id.Fingerprint)), "")
	again := newTOTP(id.Fingerprint)
	again.SecretSealed = hash("another")
	wantCode(t, "PutTOTP over unconfirmed", s.PutTOTP(ctx(t), again), "")
	got, _ := s.GetTOTP(ctx(t), id.Fingerprint)
	if !bytes.Equal(got.SecretSealed, again.SecretSealed) {
		t.Fatal("PutTOTP did not replace the unconfirmed credential")
	}
	wantCode(t, "ConfirmTOTP", s.ConfirmTOTP(ctx(t), id.Fingerprint, 10, nil, base), "")
	wantCode(t, "PutTOTP over confirmed", s.PutTOTP(ctx(t), newTOTP(id.Fingerprint)), chusme.CodeConflict)
	got, _ = s.GetTOTP(ctx(t), id.Fingerprint)
	if !bytes.Equal(got.SecretSealed, again.SecretSealed) || !got.Confirmed() {
		t.Fatal("a refused PutTOTP changed the confirmed credential")
	}
}

func testTOTPConfirm(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	fp := id.Fingerprint
	wantCode(t, "ConfirmTOTP without credential", s.ConfirmTOTP(ctx(t), fp, 5, nil, base), chusme.CodeNotFound)
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), newTOTP(fp)), "")
	wantCode(t, "ConfirmTOTP step 0", s.ConfirmTOTP(ctx(t), fp, 0, nil, base), chusme.CodeConflict)
	wantCode(t, "ConfirmTOTP", s.ConfirmTOTP(ctx(t), fp, 5, [][]byte{hash("r1"), hash("r2")}, base.Add(time.Second)), "")
	wantCode(t, "ConfirmTOTP again", s.ConfirmTOTP(ctx(t), fp, 6, nil, base), chusme.CodeNotFound)
	got, _ := s.GetTOTP(ctx(t), fp)
	if !got.ConfirmedAt.Equal(base.Add(time.Second)) || got.LastStep != 5 {
		t.Fatalf("confirmed credential %+v", got)
	}
	if n, err := s.RecoveryCodesLeft(ctx(t), fp); n != 2 || err != nil {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want 2", n, err)
	}
}

func testTOTPStep(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	mustConfirmedTOTP(t, s, id.Fingerprint, 100)
	wantCode(t, "UseTOTPStep confirm step", s.UseTOTPStep(ctx(t), id.Fingerprint, 100), chusme.CodeConflict)
	wantCode(t, "UseTOTPStep 101", s.UseTOTPStep(ctx(t), id.Fingerprint, 101), "")
	wantCode(t, "UseTOTPStep 101 again", s.UseTOTPStep(ctx(t), id.Fingerprint, 101), chusme.CodeConflict)
	wantCode(t, "UseTOTPStep 103", s.UseTOTPStep(ctx(t), id.Fingerprint, 103), "")
	wantCode(t, "UseTOTPStep 102 after 103", s.UseTOTPStep(ctx(t), id.Fingerprint, 102), chusme.CodeConflict)
	got, _ := s.GetTOTP(ctx(t), id.Fingerprint)
	if got.LastStep != 103 {
		t.Fatalf("LastStep %d, want 103", got.LastStep)
	}
}

func testTOTPStepConcurrent(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	mustConfirmedTOTP(t, s, id.Fingerprint, 100)
	wantOneWinner(t, concurrently(8, func(int) error { return s.UseTOTPStep(ctx(t), id.Fingerprint, 101) }), chusme.CodeConflict)
}

func testTOTPStepUnconfirmed(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	wantCode(t, "UseTOTPStep without credential", s.UseTOTPStep(ctx(t), id.Fingerprint, 1), chusme.CodeNotFound)
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), newTOTP(id.Fingerprint)), "")
	wantCode(t, "UseTOTPStep unconfirmed", s.UseTOTPStep(ctx(t), id.Fingerprint, 1), chusme.CodeNotFound)
}

func testRecoveryOnce(t *testing.T, s chusme.Store) {
	alice := mustCreateIdentity(t, s, "alice")
	bob := mustCreateIdentity(t, s, "bob")
	mustConfirmedTOTP(t, s, alice.Fingerprint, 1, "r1", "r2")
	wantCode(t, "UseRecoveryCode of another identity", s.UseRecoveryCode(ctx(t), bob.Fingerprint, hash("r1"), base), chusme.CodeNotFound)
	wantCode(t, "UseRecoveryCode unknown", s.UseRecoveryCode(ctx(t), alice.Fingerprint, hash("r3"), base), chusme.CodeNotFound)
	wantCode(t, "UseRecoveryCode", s.UseRecoveryCode(ctx(t), alice.Fingerprint, hash("r1"), base), "")
	wantCode(t, "UseRecoveryCode again", s.UseRecoveryCode(ctx(t), alice.Fingerprint, hash("r1"), base), chusme.CodeNotFound)
	if n, _ := s.RecoveryCodesLeft(ctx(t), alice.Fingerprint); n != 1 {
		t.Fatalf("RecoveryCodesLeft = %d, want 1", n)
	}
}

func testRecoveryConcurrent(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	mustConfirmedTOTP(t, s, id.Fingerprint, 1, "r1")
	wantOneWinner(t, concurrently(8, func(int) error {
		return s.UseRecoveryCode(ctx(t), id.Fingerprint, hash("r1"), base)
	}), chusme.CodeNotFound)
}

func testTOTPDelete(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	wantCode(t, "DeleteTOTP without credential", s.DeleteTOTP(ctx(t), id.Fingerprint), chusme.CodeNotFound)
	mustConfirmedTOTP(t, s, id.Fingerprint, 1, "r1")
	wantCode(t, "DeleteTOTP", s.DeleteTOTP(ctx(t), id.Fingerprint), "")
	_, err := s.GetTOTP(ctx(t), id.Fingerprint)
	wantCode(t, "GetTOTP after delete", err, chusme.CodeNotFound)
	if n, _ := s.RecoveryCodesLeft(ctx(t), id.Fingerprint); n != 0 {
		t.Fatalf("RecoveryCodesLeft after delete = %d", n)
	}
	wantCode(t, "UseRecoveryCode after delete", s.UseRecoveryCode(ctx(t), id.Fingerprint, hash("r1"), base), chusme.CodeNotFound)
}

func testLoginIdentity(t *testing.T, s chusme.Store) {
	_, _, err := s.GetLoginIdentity(ctx(t), "nobody")
	wantCode(t, "GetLoginIdentity of an unknown identity", err, chusme.CodeNotFound)
	id := mustCreateIdentity(t, s, "alice")
	fp := id.Fingerprint
	// wantLogin reads the identity with its credential and checks both
	// against GetIdentity and GetTOTP.
	wantLogin := func(what string) chusme.TOTPCredential {
		t.Helper()
		gotID, gotC, err := s.GetLoginIdentity(ctx(t), fp)
		wantCode(t, what, err, "")
		wantIdentity(t, gotID, id)
		want, err := s.GetTOTP(ctx(t), fp)
		if chusme.ErrorCode(err) == chusme.CodeNotFound {
			want = chusme.TOTPCredential{}
		}
		if gotC.Fingerprint != want.Fingerprint || !bytes.Equal(gotC.SecretSealed, want.SecretSealed) ||
			gotC.LastStep != want.LastStep || !gotC.CreatedAt.Equal(want.CreatedAt) || !gotC.ConfirmedAt.Equal(want.ConfirmedAt) {
			t.Fatalf("%s: credential\n got %+v\nwant %+v", what, gotC, want)
		}
		return gotC
	}
	if c := wantLogin("without TOTP"); c.Fingerprint != "" || c.Confirmed() {
		t.Fatalf("credential of an identity without TOTP: %+v", c)
	}
	wantCode(t, "PutTOTP", s.PutTOTP(ctx(t), newTOTP(fp)), "")
	if c := wantLogin("unconfirmed"); c.Fingerprint != fp || c.Confirmed() {
		t.Fatalf("unconfirmed credential: %+v", c)
	}
	wantCode(t, "ConfirmTOTP", s.ConfirmTOTP(ctx(t), fp, 7, nil, base.Add(time.Second)), "")
	wantCode(t, "UseTOTPStep", s.UseTOTPStep(ctx(t), fp, 9), "")
	if c := wantLogin("confirmed"); !c.Confirmed() || c.LastStep != 9 {
		t.Fatalf("confirmed credential: %+v", c)
	}
	wantCode(t, "DeleteTOTP", s.DeleteTOTP(ctx(t), fp), "")
	if c := wantLogin("after delete"); c.Fingerprint != "" {
		t.Fatalf("credential after delete: %+v", c)
	}
}

func newBlob(fp, content string) chusme.Blob {
	return chusme.Blob{Fingerprint: fp, Content: []byte(content), ETag: fmt.Sprintf("%x", hash(content)), UpdatedAt: base}
}

func wantBlob(t *testing.T, s chusme.Store, want chusme.Blob) {
	t.Helper()
	got, err := s.GetBlob(ctx(t), want.Fingerprint)
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	if !bytes.Equal(got.Content, want.Content) || got.ETag != want.ETag || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("blob:\n got %+v\nwant %+v", got, want)
	}
}

func testBlobCAS(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	v1, v2, v3 := newBlob(id.Fingerprint, "one"), newBlob(id.Fingerprint, "two"), newBlob(id.Fingerprint, "three")
	wantCode(t, "PutBlob if-match without blob", s.PutBlob(ctx(t), v1, "*"), chusme.CodeNotFound)
	wantCode(t, "PutBlob create", s.PutBlob(ctx(t), v1, ""), "")
	wantBlob(t, s, v1)
	wantCode(t, "PutBlob create again", s.PutBlob(ctx(t), v2, ""), chusme.CodeConflict)
	wantCode(t, "PutBlob stale etag", s.PutBlob(ctx(t), v2, v2.ETag), chusme.CodeConflict)
	wantBlob(t, s, v1)
	wantCode(t, "PutBlob current etag", s.PutBlob(ctx(t), v2, v1.ETag), "")
	wantBlob(t, s, v2)
	wantCode(t, "PutBlob old etag", s.PutBlob(ctx(t), v3, v1.ETag), chusme.CodeConflict)
	wantCode(t, "PutBlob any", s.PutBlob(ctx(t), v3, "*"), "")
	wantBlob(t, s, v3)
	wantCode(t, "PutBlob unknown identity", s.PutBlob(ctx(t), newBlob(newIdentity("x").Fingerprint, "a"), ""), chusme.CodeNotFound)
}

func testBlobConcurrent(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	v1 := newBlob(id.Fingerprint, "one")
	wantCode(t, "PutBlob", s.PutBlob(ctx(t), v1, ""), "")
	errs := concurrently(8, func(i int) error {
		return s.PutBlob(ctx(t), newBlob(id.Fingerprint, fmt.Sprint("writer ", i)), v1.ETag)
	})
	wantOneWinner(t, errs, chusme.CodeConflict)
}

func testBlobMissing(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	_, err := s.GetBlob(ctx(t), id.Fingerprint)
	wantCode(t, "GetBlob", err, chusme.CodeNotFound)
}

// rotation returns a rotation entry seq of id to key newKey (no real
// signatures: stores only persist).
func rotation(seq uint64, prev, oldKey []byte, name string, at time.Time) chusme.ChainEntry {
	return chusme.ChainEntry{
		Seq: seq, Kind: chusme.EntryRotate, Prev: prev, OldKey: oldKey, NewKey: hash("key " + name),
		Time: at.Unix(), Signature: hash("sig old " + name), NewKeySignature: hash("sig new " + name),
		Hash: hash(fmt.Sprint("entry ", seq, name)), AcceptedAt: at,
	}
}

func wantEntry(t *testing.T, got, want chusme.ChainEntry) {
	t.Helper()
	if got.Seq != want.Seq || got.Kind != want.Kind || !bytes.Equal(got.Prev, want.Prev) || !bytes.Equal(got.OldKey, want.OldKey) ||
		!bytes.Equal(got.NewKey, want.NewKey) || got.Cancels != want.Cancels || got.Time != want.Time ||
		!bytes.Equal(got.Signature, want.Signature) || !bytes.Equal(got.NewKeySignature, want.NewKeySignature) ||
		!bytes.Equal(got.Hash, want.Hash) || !got.AcceptedAt.Equal(want.AcceptedAt) || !bytes.Equal(got.Signer, want.Signer) ||
		!slices.EqualFunc(got.RecoveryKeys, want.RecoveryKeys, bytesEqual) || !slices.EqualFunc(got.KeySignatures, want.KeySignatures, bytesEqual) ||
		got.JoinTime != want.JoinTime {
		t.Fatalf("entry:\n got %+v\nwant %+v", got, want)
	}
}

func bytesEqual(a, b chusme.Bytes) bool { return bytes.Equal(a, b) }

// testChainRecoveryFields: a recovery-keys entry's signer, keys and key
// signatures (one empty: a kept key) and a recovery rotation's signer come
// back as written, from ListChain and in decide's ChainState.Chain.
func testChainRecoveryFields(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	mustLogin(t, s, "a1", id.Fingerprint)
	keys := chusme.ChainEntry{
		Seq: 1, Kind: chusme.EntryRecoveryKeys, Prev: hash("genesis"), OldKey: id.PublicKey, NewKey: id.PublicKey, Signer: id.PublicKey,
		RecoveryKeys: []chusme.Bytes{hash("r1"), hash("r2")}, KeySignatures: []chusme.Bytes{hash("sig r1"), nil},
		Time: base.Unix(), Signature: hash("sig keys"), Hash: hash("entry 1"), AcceptedAt: base,
	}
	rec := rotation(2, keys.Hash, id.PublicKey, "recovered", base.Add(time.Hour))
	rec.Kind, rec.Signer = chusme.EntryRecover, hash("r2")
	for _, e := range []chusme.ChainEntry{keys, rec} {
		revoked, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(st chusme.ChainState) (chusme.ChainAppend, error) {
			if len(st.Chain) != int(e.Seq-1) || (st.Last == nil) != (e.Seq == 1) {
				t.Fatalf("decide of entry %d sees %d entries (last %v)", e.Seq, len(st.Chain), st.Last)
			}
			if e.Seq == 2 {
				wantEntry(t, st.Chain[0], keys)
				wantEntry(t, *st.Last, keys)
			}
			return chusme.ChainAppend{Entry: e, Devices: devicesOf(e), Revoke: chusme.RevokedRecoveryKeys}, nil
		})
		wantCode(t, "AppendChainEntry", err, "")
		if e.Seq == 1 {
			wantRevoked(t, "AppendChainEntry", revoked, "a1")
		}
	}
	es, err := s.ListChain(ctx(t), id.Fingerprint)
	if err != nil || len(es) != 2 {
		t.Fatalf("ListChain = %d entries, %v; want 2", len(es), err)
	}
	wantEntry(t, es[0], keys)
	wantEntry(t, es[1], rec)
	if sess := mustGetSession(t, s, "a1"); sess.Reason != chusme.RevokedRecoveryKeys {
		t.Fatalf("session after the recovery-keys entry: %+v", sess)
	}
}

func testChainAppend(t *testing.T, s chusme.Store) {
	alice := mustCreateIdentity(t, s, "alice")
	bob := mustCreateIdentity(t, s, "bob")
	mustLogin(t, s, "a1", alice.Fingerprint)
	mustLogin(t, s, "b1", bob.Fingerprint)
	if es, err := s.ListChain(ctx(t), alice.Fingerprint); err != nil || len(es) != 0 {
		t.Fatalf("ListChain of a new identity = %v, %v", es, err)
	}
	r1 := rotation(1, hash("genesis"), alice.PublicKey, "alice 2", base.Add(time.Hour))
	mustLogin(t, s, "a0", alice.Fingerprint)
	wantCode(t, "RevokeSession", s.RevokeSession(ctx(t), "a0", base, chusme.RevokedLogout), "")
	var seen chusme.ChainState
	revoked, err := s.AppendChainEntry(ctx(t), alice.Fingerprint, func(st chusme.ChainState) (chusme.ChainAppend, error) {
		seen = st
		return chusme.ChainAppend{Entry: r1, Devices: devicesOf(r1), Revoke: chusme.RevokedRotate}, nil
	})
	wantCode(t, "AppendChainEntry", err, "")
	wantRevoked(t, "AppendChainEntry", revoked, "a1")
	wantIdentity(t, seen.Identity, alice)
	if seen.Last != nil {
		t.Fatalf("Last before the first rotation = %+v, want nil", seen.Last)
	}
	got, _ := s.GetIdentity(ctx(t), alice.Fingerprint)
	if !bytes.Equal(got.PublicKey, r1.NewKey) || !bytes.Equal(got.GenesisKey, alice.GenesisKey) {
		t.Fatal("the rotation did not make the new key current")
	}
	sess := mustGetSession(t, s, "a1")
	if !sess.RevokedAt.Equal(r1.AcceptedAt) || sess.Reason != chusme.RevokedRotate {
		t.Fatalf("session after rotation: %+v", sess)
	}
	if sess := mustGetSession(t, s, "a0"); !sess.RevokedAt.Equal(base) || sess.Reason != chusme.RevokedLogout {
		t.Fatalf("a revoked session after rotation: %+v", sess)
	}
	if mustGetSession(t, s, "b1").Revoked() {
		t.Fatal("another identity's session was revoked")
	}

	mustLogin(t, s, "a2", alice.Fingerprint)
	c2 := chusme.ChainEntry{
		Seq: 2, Kind: chusme.EntryCancel, Prev: r1.Hash, OldKey: r1.NewKey, NewKey: alice.PublicKey, Cancels: 1,
		Time: base.Add(2 * time.Hour).Unix(), Signature: hash("sig cancel"), Hash: hash("entry 2"), AcceptedAt: base.Add(2 * time.Hour),
	}
	revoked, err = s.AppendChainEntry(ctx(t), alice.Fingerprint, func(st chusme.ChainState) (chusme.ChainAppend, error) {
		if st.Last == nil {
			t.Fatal("Last is nil after a rotation")
		}
		wantEntry(t, *st.Last, r1)
		if !bytes.Equal(st.Identity.PublicKey, r1.NewKey) {
			t.Fatal("decide sees a stale current key")
		}
		return chusme.ChainAppend{Entry: c2, Devices: devicesOf(c2), Revoke: chusme.RevokedCancel}, nil
	})
	wantCode(t, "AppendChainEntry cancel", err, "")
	wantRevoked(t, "AppendChainEntry cancel", revoked, "a2")
	got, _ = s.GetIdentity(ctx(t), alice.Fingerprint)
	if !bytes.Equal(got.PublicKey, alice.PublicKey) {
		t.Fatal("the cancellation did not restore the key")
	}
	if s := mustGetSession(t, s, "a2"); s.Reason != chusme.RevokedCancel {
		t.Fatalf("session after cancel: %+v", s)
	}
	es, err := s.ListChain(ctx(t), alice.Fingerprint)
	if err != nil || len(es) != 2 {
		t.Fatalf("ListChain = %d entries, %v; want 2", len(es), err)
	}
	wantEntry(t, es[0], r1)
	wantEntry(t, es[1], c2)
}

// testChainAppendNoRevoke: an append whose decide names no reason leaves
// the identity's sessions live and reports none revoked.
func testChainAppendNoRevoke(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	a1 := mustLogin(t, s, "a1", id.Fingerprint).Session
	revoked, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return withDevice(rotation(1, hash("g"), id.PublicKey, "two", base)), nil
	})
	wantCode(t, "AppendChainEntry", err, "")
	wantRevoked(t, "AppendChainEntry", revoked)
	wantSession(t, mustGetSession(t, s, a1.ID), a1)
}

func testChainDecideError(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	mustLogin(t, s, "a1", id.Fingerprint)
	refused := chusme.Errorf(chusme.CodeChainConflict, "no")
	_, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return chusme.ChainAppend{Entry: rotation(1, nil, id.PublicKey, "x", base), Revoke: chusme.RevokedRotate}, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("AppendChainEntry = %v, want decide's error", err)
	}
	if es, _ := s.ListChain(ctx(t), id.Fingerprint); len(es) != 0 {
		t.Fatal("a refused append wrote an entry")
	}
	if mustGetSession(t, s, "a1").Revoked() {
		t.Fatal("a refused append revoked a session")
	}
	got, _ := s.GetIdentity(ctx(t), id.Fingerprint)
	wantIdentity(t, got, id)
}

func testChainDuplicate(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	r1 := rotation(1, hash("g"), id.PublicKey, "two", base)
	_, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return withDevice(r1), nil
	})
	wantCode(t, "AppendChainEntry", err, "")
	other := rotation(1, hash("g"), id.PublicKey, "three", base)
	_, err = s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return withDevice(other), nil
	})
	wantCode(t, "AppendChainEntry same seq", err, chusme.CodeConflict)
	got, _ := s.GetIdentity(ctx(t), id.Fingerprint)
	if !bytes.Equal(got.PublicKey, r1.NewKey) {
		t.Fatal("a conflicting append changed the current key")
	}
}

func testChainConcurrent(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	errs := concurrently(6, func(i int) error {
		_, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(st chusme.ChainState) (chusme.ChainAppend, error) {
			if st.Last != nil {
				return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeChainConflict, "stale")
			}
			return withDevice(rotation(1, hash("g"), id.PublicKey, fmt.Sprint("k", i), base)), nil
		})
		return err
	})
	wantOneWinner(t, errs, chusme.CodeChainConflict)
}

func testChainUnknown(t *testing.T, s chusme.Store) {
	fp := newIdentity("nobody").Fingerprint
	_, err := s.ListChain(ctx(t), fp)
	wantCode(t, "ListChain", err, chusme.CodeNotFound)
	called := false
	_, err = s.AppendChainEntry(ctx(t), fp, func(chusme.ChainState) (chusme.ChainAppend, error) {
		called = true
		return chusme.ChainAppend{}, nil
	})
	wantCode(t, "AppendChainEntry", err, chusme.CodeNotFound)
	if called {
		t.Fatal("decide was called for an unknown identity")
	}
}

// devicesOf returns the device keys after a test entry: its new key alone.
func devicesOf(e chusme.ChainEntry) []chusme.Bytes { return []chusme.Bytes{e.NewKey} }

// withDevice is the append of a test entry that revokes nothing.
func withDevice(e chusme.ChainEntry) chusme.ChainAppend {
	return chusme.ChainAppend{Entry: e, Devices: devicesOf(e)}
}

// A device addition keeps its join time and sets the device keys (the
// first the identity's public key); a device removal with RevokeDevice
// revokes the sessions that key made and those without a device key, and
// no other.
func testChainDevices(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "alice")
	if got, _ := s.GetIdentity(ctx(t), id.Fingerprint); len(got.DeviceKeys) != 0 || !bytes.Equal(got.Devices()[0], id.PublicKey) {
		t.Fatalf("a new identity's devices = %x", got.Devices())
	}
	second := hash("key second")
	login := func(name string, device []byte) {
		ns := newSession(name, id.Fingerprint)
		ns.Session.DeviceKey = device
		wantCode(t, "CreateSession", s.CreateSession(ctx(t), ns), "")
		if got := mustGetSession(t, s, name); !bytes.Equal(got.DeviceKey, device) {
			t.Fatalf("session %s device key = %x, want %x", name, got.DeviceKey, device)
		}
	}
	login("legacy", nil)
	login("first", id.PublicKey)
	login("second", second)
	add := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryDeviceAdd, Prev: hash("genesis"), NewKey: second, Signer: id.PublicKey,
		JoinTime: base.Unix() - 30, Time: base.Unix(), Signature: hash("sig add"), NewKeySignature: hash("sig join"), Hash: hash("entry 1"), AcceptedAt: base}
	both := []chusme.Bytes{second, id.PublicKey}
	revoked, err := s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return chusme.ChainAppend{Entry: add, Devices: both}, nil
	})
	wantCode(t, "AppendChainEntry", err, "")
	wantRevoked(t, "AppendChainEntry (add)", revoked)
	got, _ := s.GetIdentity(ctx(t), id.Fingerprint)
	if !slices.EqualFunc(got.Devices(), both, bytesEqual) || !bytes.Equal(got.PublicKey, second) {
		t.Fatalf("devices after the addition = %x, public key %x", got.Devices(), got.PublicKey)
	}
	if li, _, err := s.GetLoginIdentity(ctx(t), id.Fingerprint); err != nil || !slices.EqualFunc(li.Devices(), both, bytesEqual) {
		t.Fatalf("GetLoginIdentity devices = %x, %v", li.Devices(), err)
	}
	es, err := s.ListChain(ctx(t), id.Fingerprint)
	if err != nil || len(es) != 1 {
		t.Fatalf("ListChain = %d entries, %v", len(es), err)
	}
	wantEntry(t, es[0], add)
	rm := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryDeviceRemove, Prev: add.Hash, OldKey: id.PublicKey, Signer: second,
		Time: base.Unix(), Signature: hash("sig remove"), Hash: hash("entry 2"), AcceptedAt: base.Add(time.Minute)}
	revoked, err = s.AppendChainEntry(ctx(t), id.Fingerprint, func(chusme.ChainState) (chusme.ChainAppend, error) {
		return chusme.ChainAppend{Entry: rm, Devices: []chusme.Bytes{second}, Revoke: chusme.RevokedDeviceRemove, RevokeDevice: id.PublicKey}, nil
	})
	wantCode(t, "AppendChainEntry", err, "")
	wantRevoked(t, "AppendChainEntry (remove)", revoked, "first", "legacy")
	if sess := mustGetSession(t, s, "second"); sess.Revoked() {
		t.Fatal("the removal revoked another device's session")
	}
	if sess := mustGetSession(t, s, "first"); sess.Reason != chusme.RevokedDeviceRemove {
		t.Fatalf("the removed device's session: %+v", sess)
	}
	if got, _ := s.GetIdentity(ctx(t), id.Fingerprint); len(got.Devices()) != 1 || !bytes.Equal(got.PublicKey, second) {
		t.Fatalf("devices after the removal = %x", got.Devices())
	}
}
