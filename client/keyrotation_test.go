package client_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// What the test's transport does to a rotation request.
const (
	deliver     = iota
	dropRequest // fail before the server sees it
	dropAnswer  // the server takes it; its answer is lost
)

// TestRotateKeyFileCrashSafe runs the key-file rotation against the real
// server through every way it can end: request lost, answer lost (both
// settled by FinishKeyFileRotation), refused, cancelled, done.
func TestRotateKeyFileCrashSafe(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	key := s.SetUp(t).UserKey
	fp := testkit.Fingerprint(key)
	path := filepath.Join(t.TempDir(), "identity.key")
	pass := []byte("correct horse")
	if err := keyfile.Save(path, key, pass, vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	genesis, _ := os.ReadFile(path)
	var askedFor []string // the files whose passphrase was asked
	passphrase := func(p string) ([]byte, error) {
		askedFor = append(askedFor, p)
		return bytes.Clone(pass), nil
	}
	// Between the client and the server: rotation requests or their answers
	// get lost, as on a dropped connection.
	var mode atomic.Int32
	c := newClient(t, s.URL, client.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/rotations") || mode.Load() == deliver {
			return http.DefaultTransport.RoundTrip(r)
		}
		if mode.Load() == dropAnswer {
			if resp, err := http.DefaultTransport.RoundTrip(r); err == nil {
				resp.Body.Close()
			}
			return nil, errors.New("connection reset before the answer")
		}
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errors.New("connection reset before the server")
	})}))
	file := func(suffix string) []byte {
		t.Helper()
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			t.Fatal(err)
		}
		return b
	}
	currentKey := func() ed25519.PublicKey {
		t.Helper()
		_, cur, err := c.VerifiedChain(ctx, fp)
		if err != nil {
			t.Fatal(err)
		}
		return cur
	}
	filePublicKey := func() ed25519.PublicKey {
		t.Helper()
		kf, err := keyfile.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if kf.IdentityFingerprint() != fp {
			t.Fatalf("the key file belongs to %s, want %s", kf.IdentityFingerprint(), fp)
		}
		return ed25519.PublicKey(kf.PublicKey)
	}

	t.Run("request_lost_then_undone", func(t *testing.T) {
		mode.Store(dropRequest)
		defer mode.Store(deliver)
		if _, _, err := c.RotateKeyFile(ctx, path, passphrase, vault.LowCostParams); !errors.Is(err, client.ErrRotationUnknown) {
			t.Fatalf("RotateKeyFile = %v, want ErrRotationUnknown", err)
		}
		if !bytes.Equal(file(""), genesis) || file(client.RotationNewSuffix) == nil || !bytes.Equal(file(client.RotationOldSuffix), genesis) {
			t.Fatal("after an unknown outcome the files are not: key unchanged, .new written, .old a copy")
		}
		if _, _, err := c.RotateKeyFile(ctx, path, passphrase, vault.LowCostParams); !errors.Is(err, client.ErrRotationPending) {
			t.Fatalf("RotateKeyFile over an unfinished one = %v, want ErrRotationPending", err)
		}
		done, err := c.FinishKeyFileRotation(ctx, path)
		if err != nil || done {
			t.Fatalf("FinishKeyFileRotation = %v, %v; want false (the server never saw it)", done, err)
		}
		if !bytes.Equal(file(""), genesis) || file(client.RotationNewSuffix) != nil || !currentKey().Equal(key.Public()) {
			t.Fatal("the undone rotation changed the key file or the server's key, or left .new")
		}
	})

	t.Run("answer_lost_then_finished", func(t *testing.T) {
		mode.Store(dropAnswer)
		defer mode.Store(deliver)
		if _, _, err := c.RotateKeyFile(ctx, path, passphrase, vault.LowCostParams); !errors.Is(err, client.ErrRotationUnknown) {
			t.Fatalf("RotateKeyFile = %v, want ErrRotationUnknown", err)
		}
		if !bytes.Equal(file(""), genesis) {
			t.Fatal("the key file changed before the server confirmed")
		}
		mode.Store(deliver)
		done, err := c.FinishKeyFileRotation(ctx, path)
		if err != nil || !done {
			t.Fatalf("FinishKeyFileRotation = %v, %v; want true", done, err)
		}
		if cur := currentKey(); cur.Equal(key.Public()) || !cur.Equal(filePublicKey()) {
			t.Fatal("after finishing, the key file does not hold the server's new key")
		}
		if file(client.RotationNewSuffix) != nil || !bytes.Equal(file(client.RotationOldSuffix), genesis) {
			t.Fatal("after finishing, .new is left or .old is not the replaced key file")
		}
		if done, err := c.FinishKeyFileRotation(ctx, path); err != nil || done {
			t.Fatalf("FinishKeyFileRotation with nothing pending = %v, %v", done, err)
		}
	})

	t.Run("refused_changes_nothing", func(t *testing.T) {
		before := file("")
		_, _, err := c.RotateKeyFile(ctx, path, passphrase, vault.LowCostParams)
		wantCode(t, "a second rotation within the cancel window", err, chusme.CodeRotationPending)
		if !bytes.Equal(file(""), before) || file(client.RotationNewSuffix) != nil || !bytes.Equal(file(client.RotationOldSuffix), genesis) {
			t.Fatal("a refused rotation changed the key file, left .new or lost the earlier .old")
		}
	})

	t.Run("cancel_with_old_key_file", func(t *testing.T) {
		askedFor = nil
		entry, restored, err := c.CancelKeyFileRotation(ctx, path, passphrase)
		if err != nil {
			t.Fatal(err)
		}
		if entry.Kind != chusme.EntryCancel || !restored.Equal(key) || len(askedFor) != 1 || askedFor[0] != path+client.RotationOldSuffix {
			t.Fatalf("CancelKeyFileRotation = %+v (passphrase asked for %q), or another key", entry, askedFor)
		}
		if !bytes.Equal(file(""), genesis) || file(client.RotationOldSuffix) != nil || !currentKey().Equal(key.Public()) {
			t.Fatal("after the cancel the old key file is not the identity key file again")
		}
	})

	t.Run("rotates", func(t *testing.T) {
		askedFor = nil
		entry, newKey, err := c.RotateKeyFile(ctx, path, passphrase, vault.LowCostParams)
		if err != nil {
			t.Fatal(err)
		}
		if len(askedFor) != 1 || askedFor[0] != path || entry.Kind != chusme.EntryRotate || !bytes.Equal(entry.NewKey, newKey.Public().(ed25519.PublicKey)) {
			t.Fatalf("RotateKeyFile = %+v (passphrase asked for %q)", entry, askedFor)
		}
		if !filePublicKey().Equal(newKey.Public()) || !currentKey().Equal(newKey.Public()) {
			t.Fatal("the key file or the server does not have the new key")
		}
		if file(client.RotationNewSuffix) != nil || !bytes.Equal(file(client.RotationOldSuffix), genesis) {
			t.Fatal(".new left, or .old is not the replaced key file")
		}
		if got, err := keyfile.Load(path, pass); err != nil || !got.Equal(newKey) {
			t.Fatalf("the key file does not open to the new key under the passphrase: %v", err)
		}
		if _, err := c.Login(ctx, newKey, client.LoginFingerprint(fp)); err != nil {
			t.Fatalf("Login with the new key: %v", err)
		}
	})
}
