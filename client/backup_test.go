package client_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// shareOf is member i's share of a DKG's key, as the CLI saves it.
func shareOf(m *servertest.Member, r *client.DKGResult) *sharefile.Share {
	return &sharefile.Share{KeyID: r.KeyID, Generation: 1, Identity: m.Fingerprint, CeremonyID: r.Ceremony.ID,
		KeyPackage: r.KeyPackage, PublicKeyPackage: r.PublicKeyPackage}
}

func keyIDs(ss []*sharefile.Share) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.KeyID)
	}
	slices.Sort(ids)
	return ids
}

func marshalKP(t *testing.T, kp *frost.KeyPackage) []byte {
	t.Helper()
	b, err := kp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// twoShares starts a server with three members, makes two 2-of-3 keys of
// theirs, and returns them with the first member's backup of its two
// shares.
func twoShares(t *testing.T) (*servertest.Server, []*servertest.Member, []*client.DKGResult, []*client.DKGResult, *client.Backup) {
	t.Helper()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	res1, res2 := servertest.DKG(t, ms, 2), servertest.DKG(t, ms, 2)
	b := &client.Backup{Fingerprint: ms[0].Fingerprint, Key: ms[0].Key, Shares: []*sharefile.Share{shareOf(ms[0], res1[0]), shareOf(ms[0], res2[0])}}
	return s, ms, res1, res2, b
}

// TestBackupShares: the identity key and two shares pushed; a new device
// restores both, each checked against the group key the server certifies;
// a wrong passphrase restores nothing; a server that alters one key's
// certificate loses that share only, named; a version 1 backup (the key
// alone) still restores.
func TestBackupShares(t *testing.T) {
	ctx := t.Context()
	s, ms, res1, res2, b := twoShares(t)
	me := ms[0]
	pass := []byte("backup passphrase")
	etag, k, err := me.Client.PushBackup(ctx, b, pass, vault.LowCostParams, nil)
	if err != nil || etag == "" {
		t.Fatalf("PushBackup = %q, %v", etag, err)
	}
	defer k.Wipe()

	fresh := newClient(t, s.URL)
	if _, err := fresh.RestoreBackup(ctx, me.Fingerprint, []byte("wrong")); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("RestoreBackup with a wrong passphrase = %v, want vault.ErrDecrypt", err)
	}
	r, err := fresh.RestoreBackup(ctx, me.Fingerprint, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Key, me.Key) || r.Version != client.BackupVersion || len(r.Refused) != 0 || r.ETag != etag {
		t.Fatalf("restored key equal %v, version %d, refused %v, etag %q", bytes.Equal(r.Key, me.Key), r.Version, r.Refused, r.ETag)
	}
	if got, want := keyIDs(r.Shares), keyIDs(b.Shares); !slices.Equal(got, want) {
		t.Fatalf("restored shares %v, want %v", got, want)
	}
	for _, sh := range r.Shares {
		orig := b.Shares[slices.IndexFunc(b.Shares, func(o *sharefile.Share) bool { return o.KeyID == sh.KeyID })]
		want, _ := orig.PublicKeyPackage.MarshalBinary()
		got, _ := sh.PublicKeyPackage.MarshalBinary()
		if !bytes.Equal(got, want) || !bytes.Equal(marshalKP(t, sh.KeyPackage), marshalKP(t, orig.KeyPackage)) ||
			sh.Generation != 1 || sh.CeremonyID != orig.CeremonyID || sh.Identity != me.Fingerprint {
			t.Fatalf("restored share of %s differs from the one pushed", sh.KeyID)
		}
		if err := sh.Check(); err != nil {
			t.Fatal(err)
		}
	}
	r.Zero()

	// A server that alters the certificate of one key: that share is
	// refused, named, and the other restored.
	proxy := newLyingProxy(t, s.URL)
	viaProxy := newClient(t, proxy.URL, client.WithIssuer(s.URL))
	bad := res2[0].KeyID
	proxy.setLie(rewriteJSON(t, func(p string) bool { return p == "/v1/keys/"+bad }, func(_ string, k *chusme.GroupKeyInfo) {
		k.Certificate.Confirmations[1].Signature = ed25519.Sign(testkit.NewKey(t), []byte("forged"))
	}))
	r, err = viaProxy.RestoreBackup(ctx, me.Fingerprint, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got := keyIDs(r.Shares); !slices.Equal(got, []string{res1[0].KeyID}) {
		t.Fatalf("restored %v through the lying proxy, want only %s", got, res1[0].KeyID)
	}
	if len(r.Refused) != 1 || r.Refused[0].KeyID != bad || !errors.Is(r.Refused[0].Err, client.ErrBadCertificate) {
		t.Fatalf("refused %+v, want %s with ErrBadCertificate", r.Refused, bad)
	}
	r.Zero()

	// A version 1 backup: the key alone.
	v1 := ms[1]
	v1Blob, err := vault.Seal(pass, client.BackupPurpose, []byte(`{"version":1,"fingerprint":"`+v1.Fingerprint+`","seed":"`+
		base64.RawURLEncoding.EncodeToString(v1.Key.Seed())+`"}`), vault.LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Client.PutBlob(ctx, v1.Fingerprint, v1Blob, ""); err != nil {
		t.Fatal(err)
	}
	r, err = fresh.RestoreBackup(ctx, v1.Fingerprint, pass)
	if err != nil || !bytes.Equal(r.Key, v1.Key) || r.Version != 1 || len(r.Shares) != 0 {
		t.Fatalf("version 1 backup: %v", err)
	}
}

// TestUpdateBackup: a device re-seals the backup under the key it kept,
// without the passphrase; another device's push in between is merged
// (shares it lacked, later generations) and written once more, and stays
// in the backup through later updates; a backup replaced under another
// passphrase is a conflict, and changes nothing.
func TestUpdateBackup(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	me := ms[0]
	res1, res2 := servertest.DKG(t, ms, 2), servertest.DKG(t, ms, 2)
	pass := []byte("backup passphrase")

	// Device A pushes share 1; device B restores it (and the key).
	a := &client.Backup{Fingerprint: me.Fingerprint, Key: me.Key, Shares: []*sharefile.Share{shareOf(me, res1[0])}}
	etagA, kA, err := me.Client.PushBackup(ctx, a, pass, vault.LowCostParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	rB, err := newClient(t, s.URL).RestoreBackup(ctx, me.Fingerprint, pass)
	if err != nil {
		t.Fatal(err)
	}
	etagB := rB.ETag

	// A adds share 2, re-sealed under the kept key.
	a.Shares = append(a.Shares, shareOf(me, res2[0]))
	if etagA, err = me.Client.UpdateBackup(ctx, a, kA, &client.BackupState{ETag: etagA, Shares: []client.BackedUpShare{{KeyID: res1[0].KeyID, Generation: 1}}}); err != nil {
		t.Fatal(err)
	}
	// B, still at the first version, bumps share 1's generation: its
	// update meets A's, merges share 2 in, and keeps generation 2.
	rB.Shares[0].Generation = 2
	etagB, err = me.Client.UpdateBackup(ctx, &rB.Backup, rB.VaultKey, &client.BackupState{ETag: etagB})
	if err != nil || etagB == etagA {
		t.Fatalf("UpdateBackup over another device's push = %q, %v", etagB, err)
	}
	blob, etag, err := me.Client.Blob(ctx, me.Fingerprint)
	if err != nil || etag != etagB {
		t.Fatalf("Blob = %q, %v; want the merged backup's ETag", etag, err)
	}
	got, k, err := client.OpenBackup(me.Fingerprint, blob, pass) // the passphrase still opens it
	if err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	if ids := keyIDs(got.Shares); !slices.Equal(ids, keyIDs(a.Shares)) {
		t.Fatalf("merged backup holds %v, want %v", ids, keyIDs(a.Shares))
	}
	for _, sh := range got.Shares {
		if want := map[string]int{res1[0].KeyID: 2, res2[0].KeyID: 1}[sh.KeyID]; sh.Generation != want {
			t.Errorf("share of %s: generation %d, want %d", sh.KeyID, sh.Generation, want)
		}
	}

	// B's next update, from its own share only, keeps A's share 2: held
	// says the blob has it, so the blob is read and merged first.
	bLocal := &client.Backup{Fingerprint: me.Fingerprint, Key: me.Key, Shares: []*sharefile.Share{rB.Shares[0]}}
	held := &client.BackupState{ETag: etagB, Shares: []client.BackedUpShare{{KeyID: res1[0].KeyID, Generation: 2}, {KeyID: res2[0].KeyID, Generation: 1}}}
	if etagB, err = me.Client.UpdateBackup(ctx, bLocal, rB.VaultKey, held); err != nil {
		t.Fatal(err)
	}
	blob, _, _ = me.Client.Blob(ctx, me.Fingerprint)
	if got, k, err = client.OpenBackup(me.Fingerprint, blob, pass); err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	if ids := keyIDs(got.Shares); !slices.Equal(ids, keyIDs(a.Shares)) {
		t.Fatalf("an update from one share left %v in the backup, want %v", ids, keyIDs(a.Shares))
	}

	// A replaces the backup under a new passphrase; B's next update is a
	// conflict and leaves the blob as it is.
	newEtag, kNew, err := me.Client.PushBackup(ctx, a, []byte("new passphrase"), vault.LowCostParams, kA)
	if err != nil {
		t.Fatal(err)
	}
	kNew.Wipe()
	if _, err := me.Client.UpdateBackup(ctx, &rB.Backup, rB.VaultKey, &client.BackupState{ETag: etagB}); !errors.Is(err, client.ErrBackupConflict) {
		t.Fatalf("UpdateBackup over another passphrase's backup = %v, want ErrBackupConflict", err)
	}
	if _, etag, _ := me.Client.Blob(ctx, me.Fingerprint); etag != newEtag {
		t.Fatal("a refused update changed the blob")
	}
	// The new passphrase's push kept the generation-2 share it merged
	// from the blob under the old key.
	blob, _, _ = me.Client.Blob(ctx, me.Fingerprint)
	got, k, err = client.OpenBackup(me.Fingerprint, blob, []byte("new passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	if i := slices.IndexFunc(got.Shares, func(s *sharefile.Share) bool { return s.KeyID == res1[0].KeyID }); i < 0 || got.Shares[i].Generation != 2 {
		t.Fatal("the push under a new passphrase lost the generation the old backup held")
	}
}

// TestBackupSize: a backup of 50 shares of 67-of-100 groups, and of 400
// dropped shares besides, fits in the server's blob limit
// (chusme.MaxBlobSize); the sizes of 1, 50 and 255 shares, and of a
// dropped share, are logged (docs/protocol.md quotes them). A key package's size
// does not depend on the group's size, so the shares past the 50th are of
// 2-of-3 groups, which are cheaper to deal.
func TestBackupSize(t *testing.T) {
	key := testkit.NewKey(t)
	fp := testkit.Fingerprint(key)
	me, err := frost.DeriveIdentifier([]byte(fp))
	if err != nil {
		t.Fatal(err)
	}
	ids := []frost.Identifier{me}
	for range 99 {
		b := make([]byte, 32)
		rand.Read(b)
		id, err := frost.DeriveIdentifier([]byte(hex.EncodeToString(b)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	k, err := vault.DeriveKey([]byte("pw"), client.BackupPurpose, vault.LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	b := &client.Backup{Fingerprint: fp, Key: key}
	defer b.Zero()
	for n := 1; n <= 255; n++ {
		group, t1 := ids, 67
		if n > 50 {
			group, t1 = ids[:3], 2
		}
		kps, pub, err := frost.TrustedDealerKeygen(nil, nil, group, t1)
		if err != nil {
			t.Fatal(err)
		}
		b.Shares = append(b.Shares, &sharefile.Share{KeyID: chusme.GroupKeyID(pub.VerifyingKey().Bytes()), Generation: 1000,
			Identity: fp, CeremonyID: strings.Repeat("c", 32), KeyPackage: kps[me]})
		if n != 1 && n != 50 && n != 255 {
			continue
		}
		sealed, err := client.SealBackup(b, k)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("a backup of %d shares: %d bytes (the limit: %d)", n, len(sealed), chusme.MaxBlobSize)
		if n == 50 && len(sealed) > chusme.MaxBlobSize {
			t.Fatalf("50 shares of 67-of-100 groups take %d bytes, above the %d-byte blob limit", len(sealed), chusme.MaxBlobSize)
		}
		if n == 50 {
			// Dropped shares count toward the limit too: 400 of them
			// (generation 1000) fit beside the 50 shares.
			for range 400 {
				id := make([]byte, 32)
				rand.Read(id)
				b.Dropped = append(b.Dropped, client.DroppedShare{KeyID: hex.EncodeToString(id), Generation: 1000})
			}
			withDropped, err := client.SealBackup(b, k)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("50 shares and 400 dropped shares: %d bytes, %d a dropped share", len(withDropped), (len(withDropped)-len(sealed))/400)
			if len(withDropped) > chusme.MaxBlobSize {
				t.Fatalf("50 shares and 400 dropped shares take %d bytes, above the %d-byte blob limit", len(withDropped), chusme.MaxBlobSize)
			}
			b.Dropped = nil
		}
	}
}

// refreshWithout refreshes key res (a DKG's, of ms) among every member but
// ms[0] (its first result's member): its generation 2 leaves ms[0] out.
func refreshWithout(t *testing.T, ms []*servertest.Member, res []*client.DKGResult) {
	t.Helper()
	ctx := t.Context()
	info, err := ms[1].Client.CreateCeremony(ctx, ms[1].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: res[0].KeyID,
		Participants: servertest.Fingerprints(ms[1:])})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, m := range ms[1:] {
		wg.Go(func() {
			out, err := m.Client.RunRefresh(ctx, info.ID, m.Key, client.OldShare{KeyPackage: res[i+1].KeyPackage, PublicKeyPackage: res[i+1].PublicKeyPackage, Generation: 1}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			out.KeyPackage.Zero()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// TestBackupDropped: a device drops the share of a key a refresh removed
// the identity from (generation 2); another device's update, which still
// holds the share of generation 1, merges the drop and loses that share,
// and a restore brings back neither. A blob written by a device that never
// learned of it holds the old share: a restore refuses it (ErrNotHolder,
// naming the generation) and drops it from the restored backup.
func TestBackupDropped(t *testing.T) {
	ctx := t.Context()
	s, ms, res1, res2, a := twoShares(t)
	me := ms[0]
	gone := res1[0].KeyID
	staleKP := new(frost.KeyPackage)
	if err := staleKP.UnmarshalBinary(marshalKP(t, res1[0].KeyPackage)); err != nil {
		t.Fatal(err)
	}
	pass := []byte("backup passphrase")
	etagA, kA, err := me.Client.PushBackup(ctx, a, pass, vault.LowCostParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kA.Wipe()
	rB, err := newClient(t, s.URL).RestoreBackup(ctx, me.Fingerprint, pass)
	if err != nil || len(rB.Shares) != 2 {
		t.Fatalf("device B's restore: %v", err)
	}
	defer rB.Zero()
	refreshWithout(t, ms, res1)

	opened := func(t *testing.T, pass []byte) *client.Backup {
		t.Helper()
		blob, _, err := me.Client.Blob(ctx, me.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		b, k, err := client.OpenBackup(me.Fingerprint, blob, pass)
		if err != nil {
			t.Fatal(err)
		}
		k.Wipe()
		t.Cleanup(b.Zero)
		return b
	}
	wantDropped := []client.DroppedShare{{KeyID: gone, Generation: 2}}
	a.Drop(wantDropped[0])
	if _, err := me.Client.UpdateBackup(ctx, a, kA, &client.BackupState{ETag: etagA}); err != nil {
		t.Fatal(err)
	}
	if b := opened(t, pass); !slices.Equal(keyIDs(b.Shares), []string{res2[0].KeyID}) || !slices.Equal(b.Dropped, wantDropped) || b.Version != 3 {
		t.Fatalf("after the drop the backup holds %v, dropped %v", keyIDs(b.Shares), b.Dropped)
	}

	// Device B still holds generation 1: its update meets A's, and the
	// drop, of a later generation, wins.
	if _, err := me.Client.UpdateBackup(ctx, &rB.Backup, rB.VaultKey, &client.BackupState{ETag: rB.ETag}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keyIDs(rB.Shares), []string{res2[0].KeyID}) || !slices.Equal(rB.Dropped, wantDropped) {
		t.Fatalf("device B's merged backup holds %v, dropped %v", keyIDs(rB.Shares), rB.Dropped)
	}
	if b := opened(t, pass); !slices.Equal(keyIDs(b.Shares), []string{res2[0].KeyID}) || !slices.Equal(b.Dropped, wantDropped) {
		t.Fatalf("after B's update the backup holds %v, dropped %v", keyIDs(b.Shares), b.Dropped)
	}
	r, err := newClient(t, s.URL).RestoreBackup(ctx, me.Fingerprint, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keyIDs(r.Shares), []string{res2[0].KeyID}) || len(r.Refused) != 0 || !slices.Equal(r.Dropped, wantDropped) {
		t.Fatalf("restored %v, refused %v, dropped %v", keyIDs(r.Shares), r.Refused, r.Dropped)
	}
	r.Zero()

	// A backup that still holds generation 1 of the key.
	stale := &client.Backup{Fingerprint: me.Fingerprint, Key: me.Key, Shares: []*sharefile.Share{{KeyID: gone, Generation: 1,
		Identity: me.Fingerprint, CeremonyID: res1[0].Ceremony.ID, KeyPackage: staleKP}}}
	other := []byte("another passphrase")
	_, k, err := me.Client.PushBackup(ctx, stale, other, vault.LowCostParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	if r, err = newClient(t, s.URL).RestoreBackup(ctx, me.Fingerprint, other); err != nil {
		t.Fatal(err)
	}
	defer r.Zero()
	if len(r.Shares) != 0 || len(r.Refused) != 1 || !errors.Is(r.Refused[0].Err, client.ErrNotHolder) ||
		!strings.Contains(r.Refused[0].Err.Error(), "generation 2") || !slices.Equal(r.Dropped, wantDropped) {
		t.Fatalf("restoring the stale share: shares %v, refused %v, dropped %v", keyIDs(r.Shares), r.Refused, r.Dropped)
	}
}

// TestBackupDrop: a dropped share beats a share of an earlier generation
// of its key, and a share of its generation or a later one beats it; a
// backup holding a key both ways, or a dropped share of generation 1, does
// not seal.
func TestBackupDrop(t *testing.T) {
	key := testkit.NewKey(t)
	fp := testkit.Fingerprint(key)
	me, err := frost.DeriveIdentifier([]byte(fp))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := frost.DeriveIdentifier([]byte(testkit.Fingerprint(testkit.NewKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	kps, pub, err := frost.TrustedDealerKeygen(nil, nil, []frost.Identifier{me, peer}, 2)
	if err != nil {
		t.Fatal(err)
	}
	keyID := chusme.GroupKeyID(pub.VerifyingKey().Bytes())
	b := &client.Backup{Fingerprint: fp, Key: key, Shares: []*sharefile.Share{{KeyID: keyID, Generation: 2, Identity: fp, KeyPackage: kps[me]}}}
	k, err := vault.DeriveKey([]byte("pw"), client.BackupPurpose, vault.LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	b.Drop(client.DroppedShare{KeyID: keyID, Generation: 2})
	if len(b.Shares) != 1 || len(b.Dropped) != 0 {
		t.Fatalf("a drop from generation 2 over a share of generation 2: shares %d, dropped %v", len(b.Shares), b.Dropped)
	}
	b.Dropped = []client.DroppedShare{{KeyID: keyID, Generation: 3}}
	if _, err := client.SealBackup(b, k); err == nil || !strings.Contains(err.Error(), "both held and dropped") {
		t.Fatalf("SealBackup of a key held and dropped = %v", err)
	}
	b.Dropped = nil
	b.Drop(client.DroppedShare{KeyID: keyID, Generation: 3})
	if len(b.Shares) != 0 || !slices.Equal(b.Dropped, []client.DroppedShare{{KeyID: keyID, Generation: 3}}) ||
		!bytes.Equal(kps[me].SigningShare().Bytes(), make([]byte, 32)) {
		t.Fatalf("a drop from generation 3 over a share of generation 2: shares %d, dropped %v", len(b.Shares), b.Dropped)
	}
	b.Drop(client.DroppedShare{KeyID: keyID, Generation: 2})
	if b.Dropped[0].Generation != 3 {
		t.Fatal("an earlier drop lowered the generation")
	}
	b.Dropped = []client.DroppedShare{{KeyID: keyID, Generation: 1}}
	if _, err := client.SealBackup(b, k); err == nil {
		t.Fatal("SealBackup sealed a dropped share of generation 1")
	}
}
