package frost

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// TestRoundSecretsResume: a DKG whose every participant's round secrets are
// encoded and decoded between rounds, and a signing whose nonces are, give
// the key and signature the unbroken run gives; decoded nonces sign once.
func TestRoundSecretsResume(t *testing.T) {
	ids := idsUpTo(t, 3)
	n, minSigners := len(ids), 2
	reload := func(m interface {
		MarshalBinary() ([]byte, error)
	}, into interface{ UnmarshalBinary([]byte) error }) {
		t.Helper()
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := into.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		clear(b)
	}
	sec1 := map[Identifier]*DKGRound1Secret{}
	r1 := map[Identifier]*DKGRound1Package{}
	for _, id := range ids {
		s, p, err := DKGPart1(nil, id, n, minSigners)
		if err != nil {
			t.Fatal(err)
		}
		sec1[id] = new(DKGRound1Secret)
		reload(s, sec1[id])
		s.Zero()
		r1[id] = p
	}
	others := func(self Identifier) map[Identifier]*DKGRound1Package {
		m := map[Identifier]*DKGRound1Package{}
		for id, p := range r1 {
			if id != self {
				m[id] = p
			}
		}
		return m
	}
	sec2 := map[Identifier]*DKGRound2Secret{}
	inbox := map[Identifier]map[Identifier]*DKGRound2Package{}
	for _, id := range ids {
		s2, out, err := DKGPart2(sec1[id], others(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sec1[id].MarshalBinary(); err == nil {
			t.Error("a round-1 secret used by DKGPart2 still encodes")
		}
		sec2[id] = new(DKGRound2Secret)
		reload(s2, sec2[id])
		s2.Zero()
		for to, p := range out {
			if inbox[to] == nil {
				inbox[to] = map[Identifier]*DKGRound2Package{}
			}
			inbox[to][id] = p
		}
	}
	kps := map[Identifier]*KeyPackage{}
	var pub *PublicKeyPackage
	for _, id := range ids {
		kp, p, err := DKGPart3(sec2[id], others(id), inbox[id])
		if err != nil {
			t.Fatal(err)
		}
		kps[id], pub = kp, p
	}
	msg := []byte("resumed")
	nonces := map[Identifier]*SigningNonces{}
	coms := map[Identifier]*SigningCommitments{}
	for _, id := range ids[:2] {
		nn, c, err := Commit(nil, kps[id])
		if err != nil {
			t.Fatal(err)
		}
		nonces[id] = new(SigningNonces)
		reload(nn, nonces[id])
		if !nonces[id].Commitments().Equal(c) {
			t.Fatal("decoded nonces have other commitments")
		}
		nn.Zero()
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
