package client_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// heldElsewhere is an Ed25519 key the client cannot see, as a browser's
// non-extractable WebCrypto key: it only signs, and counts its signatures.
type heldElsewhere struct {
	k     ed25519.PrivateKey
	signs *atomic.Int64
}

func (h heldElsewhere) Public() crypto.PublicKey { return h.k.Public() }

func (h heldElsewhere) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.signs.Add(1)
	return h.k.Sign(nil, msg, opts)
}

// TestSignerKey registers, logs in and takes part in a DKG with an
// identity key that is a crypto.Signer and not an ed25519.PrivateKey, and
// refuses a signer of a key that is not Ed25519.
func TestSignerKey(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	key := heldElsewhere{testkit.NewKey(t), new(atomic.Int64)}
	c, err := client.New(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(t.Context(), key, ""); err != nil {
		t.Fatalf("Register with a crypto.Signer: %v", err)
	}
	if _, err := c.Login(t.Context(), key); err != nil {
		t.Fatalf("Login with a crypto.Signer: %v", err)
	}
	fp := testkit.Fingerprint(key.k)
	info, err := c.StartDKG(t.Context(), key, 2, []string{fp, ms[0].Fingerprint, ms[1].Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, m := range ms {
		wg.Go(func() {
			res, err := m.Client.RunDKG(t.Context(), info.ID, m.Key, nil)
			if err == nil {
				res.KeyPackage.Zero()
			}
			errs[i] = err
		})
	}
	res, err := c.RunDKG(t.Context(), info.ID, key, nil)
	wg.Wait()
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("RunDKG: signer %v, members %v", err, errs)
	}
	res.KeyPackage.Zero()
	// Register, login, the request, round 1, two sealed secrets with their
	// inner signatures, the confirmation: all by the signer.
	if n := key.signs.Load(); n < 7 {
		t.Errorf("the signer signed %d times, want at least 7", n)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), ec); err == nil {
		t.Error("Login with an ECDSA signer succeeded")
	}
	if _, err := c.Login(t.Context(), ed25519.PrivateKey{1, 2, 3}); err == nil {
		t.Error("Login with a short Ed25519 key succeeded")
	}
}
