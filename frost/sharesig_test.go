package frost

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"testing/iotest"
)

func TestSignWithShare(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, pub := runDKG(t, ids, 2)
	msg := []byte("share possession")
	a, b := kps[ids[0]], kps[ids[1]]
	sig, err := a.SignWithShare(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	vs, ok := pub.VerifyingShare(ids[0])
	if !ok || !bytes.Equal(vs.Bytes(), a.VerifyingShare().Bytes()) {
		t.Fatal("the public key package lacks the share's verifying share")
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(vs.Bytes(), msg, sig) {
		t.Fatal("a share signature does not verify under crypto/ed25519 with the verifying share")
	}
	if ed25519.Verify(b.VerifyingShare().Bytes(), msg, sig) {
		t.Fatal("a share signature verifies under another holder's verifying share")
	}
	if ed25519.Verify(pub.VerifyingKey().Bytes(), msg, sig) {
		t.Fatal("a share signature verifies under the group key")
	}
	if ed25519.Verify(vs.Bytes(), []byte("share possessiom"), sig) {
		t.Fatal("a share signature verifies over a changed message")
	}
	again, err := a.SignWithShare(nil, msg)
	if err != nil || bytes.Equal(again[:32], sig[:32]) {
		t.Fatalf("two share signatures share their nonce commitment R (%v)", err)
	}
	if _, err := a.SignWithShare(iotest.ErrReader(errors.New("no entropy")), msg); err == nil {
		t.Fatal("SignWithShare signed without randomness")
	}
}
