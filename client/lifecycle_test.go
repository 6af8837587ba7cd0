package client_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/tokens"
)

func TestLifecycleAgainstServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	ids := s.SetUp(t)
	user, k0 := ids.User, ids.UserKey
	fp := testkit.Fingerprint(k0)

	// TOTP: enrol, confirm, then Login asks the callback.
	en, err := user.EnrolTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	stranger := testkit.NewKey(t)
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
	b := &client.Backup{Fingerprint: fp, Key: k0}
	if _, _, err := user.PushBackup(ctx, b, pass, vault.LowCostParams, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := user.PushBackup(ctx, b, pass, vault.LowCostParams, nil); err != nil {
		t.Fatalf("second push (replacing the blob): %v", err)
	}
	fresh := newClient(t, s.URL)
	got, err := fresh.RestoreBackup(ctx, fp, pass)
	if err != nil || !bytes.Equal(got.Key, k0) {
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
	// the new one; the backup of the old key restores, as the key that
	// can cancel the rotation.
	k1 := testkit.NewKey(t)
	rot, err := user.Rotate(ctx, fp, k0, k1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = user.Me(ctx)
	wantCode(t, "Me after rotation", err, chusme.CodeSessionRevoked)
	_, err = user.Login(ctx, k0)
	wantCode(t, "Login with the old key", err, chusme.CodeKeyRotated)
	if _, err := user.Login(ctx, k1, client.LoginFingerprint(fp)); err != nil {
		t.Fatal(err)
	}
	r, err := fresh.RestoreBackup(ctx, fp, pass)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pending == nil || r.Pending.Seq != rot.Seq || !r.Key.Equal(k0) {
		t.Fatalf("RestoreBackup after rotation: pending %+v, want rotation %d and the old key", r.Pending, rot.Seq)
	}
	r.Zero()
	// Past the window the old key can cancel nothing: the restore is
	// refused, naming the rotation, its time and the window's end.
	late := newClient(t, s.URL)
	client.Later(late, chusme.RotationCancelWindow+time.Minute)
	_, err = late.RestoreBackup(ctx, fp, pass)
	end := rot.AcceptedAt.Add(chusme.RotationCancelWindow).UTC().Format(time.RFC3339)
	if !errors.Is(err, client.ErrStaleBackup) || !strings.Contains(err.Error(), fmt.Sprintf("chain entry %d (rotate, accepted %s, cancel window until %s)", rot.Seq, rot.AcceptedAt.UTC().Format(time.RFC3339), end)) ||
		!strings.Contains(err.Error(), "is final") {
		t.Fatalf("RestoreBackup past the window = %v", err)
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
	wantCode(t, "Login with the cancelled key", err, chusme.CodeKeyRotated)
	if _, err := user.Login(ctx, k0); err != nil {
		t.Fatal(err)
	}

	// A client of another issuer refuses the chain.
	other := newClient(t, s.URL, client.WithIssuer("https://elsewhere.test"))
	if _, _, err := other.VerifiedChain(ctx, fp); err == nil {
		t.Fatal("a chain bound to another issuer verified")
	}
}

// roundTripFunc is an http.RoundTripper made of a function: a test's hook
// between a client and the real server.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPutBlobRefreshesOnce: PutBlob takes the path of every authenticated
// call: an expired access token is refreshed once and the PUT sent again;
// if the server still says token_expired, it stops there.
func TestPutBlobRefreshesOnce(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	key := s.SetUp(t).UserKey
	fp := testkit.Fingerprint(key)
	// Between the client and the server: the next `left` blob PUTs go with
	// an access token the server's own key signed an hour ago, so the
	// server answers token_expired; PUTs and refreshes are counted.
	var x struct {
		expired               string
		left, puts, refreshes atomic.Int32
	}
	store := &client.MemoryTokenStore{}
	c := newClient(t, s.URL, client.WithTokenStore(store), client.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		switch {
		case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/blob"):
			x.puts.Add(1)
			if x.left.Add(-1) >= 0 {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+x.expired)
			}
		case r.URL.Path == "/v1/auth/refresh":
			x.refreshes.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}))
	if _, err := c.Login(ctx, key); err != nil {
		t.Fatal(err)
	}
	kr, err := tokens.LoadFile(filepath.Join(s.DataDir, "jwt-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := store.Load(ctx)
	past := &tokens.Issuer{Keys: kr, Issuer: s.URL, Audience: s.URL, Now: func() time.Time { return time.Now().Add(-time.Hour) }}
	if x.expired, _, err = past.Issue(tok.Fingerprint, tok.SessionID); err != nil {
		t.Fatal(err)
	}

	t.Run("refreshes_and_retries", func(t *testing.T) {
		x.left.Store(1)
		x.puts.Store(0)
		x.refreshes.Store(0)
		etag, err := c.PutBlob(ctx, fp, []byte("first"), "")
		if err != nil {
			t.Fatalf("PutBlob with an expired access token: %v", err)
		}
		if p, r := x.puts.Load(), x.refreshes.Load(); p != 2 || r != 1 {
			t.Fatalf("%d PUTs and %d refreshes, want 2 and 1", p, r)
		}
		if got, tag, err := c.Blob(ctx, fp); err != nil || string(got) != "first" || tag != etag {
			t.Fatalf("Blob = %q %q %v, want %q %q", got, tag, err, "first", etag)
		}
		if now, _ := store.Load(ctx); now.RefreshToken == tok.RefreshToken {
			t.Fatal("the refreshed tokens were not saved")
		}
	})
	t.Run("stops_after_one_retry", func(t *testing.T) {
		x.left.Store(2)
		x.puts.Store(0)
		x.refreshes.Store(0)
		_, etag, err := c.Blob(ctx, fp)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.PutBlob(ctx, fp, []byte("second"), etag)
		wantCode(t, "PutBlob while every token is refused as expired", err, chusme.CodeTokenExpired)
		if p, r := x.puts.Load(), x.refreshes.Load(); p != 2 || r != 1 {
			t.Fatalf("%d PUTs and %d refreshes, want 2 and 1", p, r)
		}
		if got, _, _ := c.Blob(ctx, fp); string(got) != "first" {
			t.Fatalf("the refused PUT changed the blob to %q", got)
		}
	})
}
