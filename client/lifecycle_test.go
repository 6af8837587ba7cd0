package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
)

func TestLifecycleAgainstServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	_, user, _, k0 := adminAndUser(t, ctx, s)
	fp := chusme.Fingerprint(k0.Public().(ed25519.PublicKey))

	// TOTP: enrol, confirm, then Login asks the callback.
	en, err := user.EnrolTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := ed25519.GenerateKey(nil)
	if _, err := user.ConfirmTOTP(ctx, stranger, en, auth.TOTPCode(secret, time.Now())); chusme.ErrorCode(err) != chusme.CodeInvalidSignature {
		t.Fatalf("ConfirmTOTP signed by another key = %v, want %s", err, chusme.CodeInvalidSignature)
	}
	codes, err := user.ConfirmTOTP(ctx, k0, en, auth.TOTPCode(secret, time.Now()))
	if err != nil || len(codes) != 10 {
		t.Fatalf("ConfirmTOTP = %d codes, %v", len(codes), err)
	}
	_, err = user.Login(ctx, k0)
	wantCode(t, "Login without a callback", err, chusme.CodeTOTPRequired)
	asked := 0
	next := func(context.Context) (string, error) {
		asked++
		return auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod)), nil
	}
	if _, err := user.Login(ctx, k0, client.LoginTOTP(next)); err != nil || asked != 1 {
		t.Fatalf("Login with TOTP = %v (asked %d)", err, asked)
	}
	_, err = user.Login(ctx, k0, client.LoginTOTP(next))
	wantCode(t, "Login replaying a code", err, chusme.CodeTOTPInvalid)
	if _, err := user.Login(ctx, k0, client.LoginTOTP(func(context.Context) (string, error) { return codes[0], nil })); err != nil {
		t.Fatalf("Login with a recovery code: %v", err)
	}
	if err := user.DisableTOTP(ctx, codes[1]); err != nil {
		t.Fatal(err)
	}

	// Backup: push, restore, wrong passphrase.
	pass := []byte("correct horse")
	if _, err := user.PushBackup(ctx, fp, k0, pass, vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	if _, err := user.PushBackup(ctx, fp, k0, pass, vault.LowCostParams); err != nil {
		t.Fatalf("second push (replacing the blob): %v", err)
	}
	fresh := newClient(t, s.URL)
	got, err := fresh.RestoreBackup(ctx, fp, pass)
	if err != nil || !bytes.Equal(got, k0) {
		t.Fatalf("RestoreBackup = %v", err)
	}
	if _, err := fresh.RestoreBackup(ctx, fp, []byte("wrong")); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("RestoreBackup with a wrong passphrase = %v, want vault.ErrDecrypt", err)
	}
	_, err = fresh.PutBlob(ctx, fp, []byte("x"), "")
	if !errors.Is(err, client.ErrNotLoggedIn) {
		t.Fatalf("PutBlob without a session = %v", err)
	}

	// Rotation: the old key stops working, LoginFingerprint logs in with
	// the new one; the backup of the old key is stale.
	k1 := genKey(t)
	if _, err := user.Rotate(ctx, fp, k0, k1); err != nil {
		t.Fatal(err)
	}
	_, err = user.Me(ctx)
	wantCode(t, "Me after rotation", err, chusme.CodeSessionRevoked)
	_, err = user.Login(ctx, k0)
	wantCode(t, "Login with the old key", err, chusme.CodeInvalidSignature)
	if _, err := user.Login(ctx, k1, client.LoginFingerprint(fp)); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.RestoreBackup(ctx, fp, pass); !errors.Is(err, client.ErrStaleBackup) {
		t.Fatalf("RestoreBackup after rotation = %v, want ErrStaleBackup", err)
	}
	_, cur, err := fresh.VerifiedChain(ctx, fp)
	if err != nil || !cur.Equal(k1.Public()) {
		t.Fatalf("VerifiedChain = %x, %v", cur, err)
	}
	if _, err := user.CancelRotation(ctx, fp, k1); err == nil {
		t.Fatal("CancelRotation with the new key succeeded")
	}
	if _, err := user.CancelRotation(ctx, fp, k0); err != nil {
		t.Fatal(err)
	}
	_, err = user.Login(ctx, k1, client.LoginFingerprint(fp))
	wantCode(t, "Login with the cancelled key", err, chusme.CodeInvalidSignature)
	if _, err := user.Login(ctx, k0); err != nil {
		t.Fatal(err)
	}

	// A client of another issuer refuses the chain.
	other := newClient(t, s.URL, client.WithIssuer("https://elsewhere.test"))
	if _, _, err := other.VerifiedChain(ctx, fp); err == nil {
		t.Fatal("a chain bound to another issuer verified")
	}
}
