package frost

import (
	"errors"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
)

// strictRound1 is the full check a coordinator used to make: decode every
// point, then verify the package.
func strictRound1(id Identifier, data []byte, minSigners int) error {
	var pkg DKGRound1Package
	if err := pkg.UnmarshalBinary(data); err != nil {
		return err
	}
	return VerifyDKGRound1Package(id, &pkg, minSigners)
}

// round1Encoding is a fresh round-1 package of id for a minSigners-of-n key.
func round1Encoding(t *testing.T, id Identifier, n, minSigners int) []byte {
	t.Helper()
	_, pkg, err := DKGPart1(nil, id, n, minSigners)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cheaterErr reports whether err is a *CheaterError naming id wrapping want.
func cheaterErr(err error, id Identifier, want error) bool {
	var ce *CheaterError
	return errors.As(err, &ce) && len(ce.Identifiers) == 1 && ce.Identifiers[0] == id && errors.Is(err, want)
}

// TestVerifyDKGRound1ProofAgreesWithStrict: on valid packages and on
// random byte-level mutations of them, every encoding the strict path
// accepts the new check accepts, and what the new check refuses the strict
// path refuses too, for the same kind of reason.
func TestVerifyDKGRound1ProofAgreesWithStrict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := idsUpTo(t, 3)
	accepted, refused := 0, 0
	for _, minSigners := range []int{2, 3, 7} {
		valid := round1Encoding(t, ids[0], 9, minSigners)
		if err := VerifyDKGRound1Proof(ids[0], valid, minSigners); err != nil {
			t.Fatalf("%d points: a valid package refused: %v", minSigners, err)
		}
		for range 300 {
			b := append([]byte(nil), valid...)
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
			strict, quick := strictRound1(ids[0], b, minSigners), VerifyDKGRound1Proof(ids[0], b, minSigners)
			if strict == nil && quick != nil {
				t.Fatalf("%x: the strict path accepts, the new check refuses: %v", b, quick)
			}
			if quick != nil {
				// A malformation the new check finds, the strict path finds
				// (it decodes a superset); a bad proof may hide behind a bad
				// later point there.
				refused++
				var ce *CheaterError
				if strict == nil || !errors.As(quick, &ce) && errors.As(strict, &ce) {
					t.Fatalf("%x: the new check refuses (%v), the strict path says %v", b, quick, strict)
				}
			} else {
				accepted++
			}
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("%d mutations accepted, %d refused: the mutations test one side only", accepted, refused)
	}
}

// TestVerifyDKGRound1ProofRefuses: a bad proof, another sender, the wrong
// threshold and malformed encodings are refused by both checks; a bad
// point after φ_0 only by the strict one (the recipients decode it).
func TestVerifyDKGRound1ProofRefuses(t *testing.T) {
	ids := idsUpTo(t, 2)
	valid := round1Encoding(t, ids[0], 5, 3)
	both := func(name string, b []byte, id Identifier, minSigners int, ok func(error) bool) {
		t.Helper()
		for which, err := range map[string]error{"strict": strictRound1(id, b, minSigners), "new": VerifyDKGRound1Proof(id, b, minSigners)} {
			if !ok(err) {
				t.Errorf("%s: the %s check says %v", name, which, err)
			}
		}
	}
	badProof := append([]byte(nil), valid...)
	one := edwards25519.NewScalar()
	one.SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))
	z, _ := edwards25519.NewScalar().SetCanonicalBytes(badProof[len(badProof)-32:])
	copy(badProof[len(badProof)-32:], z.Add(z, one).Bytes())
	proofRefused := func(err error) bool { return cheaterErr(err, ids[0], ErrInvalidProofOfKnowledge) }
	both("μ+1", badProof, ids[0], 3, proofRefused)
	both("another sender's", valid, ids[1], 3, func(err error) bool { return cheaterErr(err, ids[1], ErrInvalidProofOfKnowledge) })
	for _, minSigners := range []int{2, 4} {
		both("wrong threshold", valid, ids[0], minSigners, func(err error) bool { return cheaterErr(err, ids[0], ErrInvalidCommitment) })
	}
	malformed := func(err error) bool { return errors.Is(err, ErrMalformedEncoding) }
	for name, b := range map[string][]byte{
		"empty":          nil,
		"header only":    valid[:2],
		"truncated":      valid[:len(valid)-1],
		"one byte more":  append(append([]byte(nil), valid...), 0),
		"one point less": valid[:len(valid)-32],
		"count too big":  append(append([]byte(nil), valid[:3]...), append([]byte{40}, valid[4:]...)...),
	} {
		both(name, b, ids[0], 3, malformed)
	}
	if err := VerifyDKGRound1Proof(Identifier{}, valid, 3); !errors.Is(err, ErrInvalidIdentifier) {
		t.Errorf("zero identifier: %v", err)
	}

	// φ_0 is decoded strictly; φ_1 is left to the recipients.
	small := testkit.Unhex(t, testkit.SmallOrderPoints[1])
	for i, wantQuick := range map[int]bool{0: false, 1: true} {
		b := append([]byte(nil), valid...)
		copy(b[4+32*i:], small)
		if err := strictRound1(ids[0], b, 3); !errors.Is(err, ErrInvalidElement) {
			t.Errorf("a small-order φ_%d: the strict check says %v", i, err)
		}
		quick := VerifyDKGRound1Proof(ids[0], b, 3)
		if wantQuick && quick != nil || !wantQuick && !errors.Is(quick, ErrInvalidElement) {
			t.Errorf("a small-order φ_%d: the new check says %v", i, quick)
		}
	}
}
