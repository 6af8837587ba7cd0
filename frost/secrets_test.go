package frost

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// TestRoundSecretsResume: a DKG whose participants' round secrets are
// encoded and decoded between the rounds, and a signing whose nonces are,
// make a valid Ed25519 signature; decoded nonces, and their copies, sign
// once, and used ones do not encode.
func TestRoundSecretsResume(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, pub := runDKGResuming(t, ids, 2, true)
	msg := []byte("resumed")
	nonces := map[Identifier]*SigningNonces{}
	coms := map[Identifier]*SigningCommitments{}
	for _, id := range ids[:2] {
		nn, c, err := Commit(nil, kps[id])
		if err != nil {
			t.Fatal(err)
		}
		nonces[id] = new(SigningNonces)
		reloaded(t, nn, nonces[id])
		if !nonces[id].Commitments().Equal(c) {
			t.Fatal("decoded nonces have other commitments")
		}
		coms[id] = c
	}
	pkg, err := NewSigningPackage(coms, msg)
	if err != nil {
		t.Fatal(err)
	}
	shares := map[Identifier]*SignatureShare{}
	for _, id := range ids[:2] {
		copied := *nonces[id]
		if shares[id], err = Sign(pkg, nonces[id], kps[id]); err != nil {
			t.Fatal(err)
		}
		if _, err := Sign(pkg, &copied, kps[id]); !errors.Is(err, ErrNonceReused) {
			t.Fatalf("a copy of used decoded nonces signed again: %v", err)
		}
		if _, err := copied.MarshalBinary(); !errors.Is(err, ErrNonceReused) {
			t.Fatalf("used nonces encode: %v", err)
		}
	}
	sig, err := Aggregate(pkg, shares, pub, VerifyShares)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatal("the signature of the resumed key does not verify")
	}
}

// TestRoundSecretsStrict: encodings that decode to inconsistent secrets are
// refused.
func TestRoundSecretsStrict(t *testing.T) {
	enc := sampleEncodings(t)
	var zero edwards25519.Scalar
	bad := map[string][]byte{}
	// Round-1 secret: a zero coefficient; t above n.
	s1 := slices.Clone(enc["DKGRound1Secret"])
	copy(s1[len(s1)-32:], zero.Bytes())
	bad["DKGRound1Secret zero coefficient"] = s1
	s1 = slices.Clone(enc["DKGRound1Secret"])
	s1[2+32+3] = 1 // n = 1 < t
	bad["DKGRound1Secret t > n"] = s1
	// Round-2 secret: a share the commitment does not open to.
	s2 := slices.Clone(enc["DKGRound2Secret"])
	one := edwards25519.NewScalar()
	one.SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))
	copy(s2[len(s2)-32:], one.Bytes())
	bad["DKGRound2Secret share"] = s2
	// Nonces: a zero nonce.
	nn := slices.Clone(enc["SigningNonces"])
	copy(nn[2:34], zero.Bytes())
	bad["SigningNonces zero"] = nn
	for what, b := range bad {
		name, _, _ := strings.Cut(what, " ")
		if err := newCodec(name).UnmarshalBinary(b); err == nil {
			t.Errorf("%s accepted", what)
		}
	}
}
