package frost

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

func idsUpTo(t testing.TB, n int) []Identifier {
	t.Helper()
	ids := make([]Identifier, n)
	for i := range ids {
		ids[i] = mustID(t, uint16(i+1))
	}
	return ids
}

// runDKG runs all three DKG parts for every participant and returns their
// key packages and the (common) public key package.
func runDKG(t testing.TB, ids []Identifier, minSigners int) (map[Identifier]*KeyPackage, *PublicKeyPackage) {
	return runDKGResuming(t, ids, minSigners, false)
}

// reloaded returns a copy of secret s made by encoding and decoding it into
// into, and zeroes s: what a participant resuming from sealed state has.
func reloaded[T interface {
	MarshalBinary() ([]byte, error)
	Zero()
}](t testing.TB, s T, into interface{ UnmarshalBinary([]byte) error }) {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := into.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	clear(b)
	s.Zero()
}

// runDKGResuming is runDKG; with resume, every participant goes on from
// its round secrets encoded and decoded again between the rounds.
func runDKGResuming(t testing.TB, ids []Identifier, minSigners int, resume bool) (map[Identifier]*KeyPackage, *PublicKeyPackage) {
	t.Helper()
	kps, pub, err := runKeygen(t, ids, func(int) bool { return resume }, keygenParts[*DKGRound1Package]{
		part1: func(id Identifier, n int) (*DKGRound1Secret, *DKGRound1Package, error) {
			return DKGPart1(nil, id, n, minSigners)
		},
		part2: DKGPart2,
		part3: DKGPart3,
	})
	if err != nil {
		t.Fatal(err)
	}
	return kps, pub
}

// keygenParts are the three parts of a DKG or of a refresh by DKG, P being
// the round-1 package type; tamper, if not nil, may change the round-1
// packages (sender → package) and round-2 packages (recipient → sender →
// package) before part 3.
type keygenParts[P any] struct {
	part1  func(id Identifier, n int) (*DKGRound1Secret, P, error)
	part2  func(*DKGRound1Secret, map[Identifier]P) (*DKGRound2Secret, map[Identifier]*DKGRound2Package, error)
	part3  func(*DKGRound2Secret, map[Identifier]P, map[Identifier]*DKGRound2Package) (*KeyPackage, *PublicKeyPackage, error)
	tamper func(map[Identifier]P, map[Identifier]map[Identifier]*DKGRound2Package)
}

// runKeygen runs the three parts for every participant of ids, those
// whose index resume accepts going on from round secrets encoded and
// decoded again between the rounds. It returns the key packages and the
// public key package all agree on, or the first error of a part 2 or 3.
func runKeygen[P any](t testing.TB, ids []Identifier, resume func(i int) bool, k keygenParts[P]) (map[Identifier]*KeyPackage, *PublicKeyPackage, error) {
	t.Helper()
	n := len(ids)
	sec1 := map[Identifier]*DKGRound1Secret{}
	r1 := map[Identifier]P{}
	for i, id := range ids {
		s, p, err := k.part1(id, n)
		if err != nil {
			t.Fatal(err)
		}
		if resume(i) {
			again := new(DKGRound1Secret)
			reloaded(t, s, again)
			s = again
		}
		sec1[id], r1[id] = s, p
	}
	others := func(self Identifier) map[Identifier]P {
		m := make(map[Identifier]P, n-1)
		for id, p := range r1 {
			if id != self {
				m[id] = p
			}
		}
		return m
	}
	sec2 := map[Identifier]*DKGRound2Secret{}
	inbox := map[Identifier]map[Identifier]*DKGRound2Package{} // to → from → package
	for i, id := range ids {
		s, out, err := k.part2(sec1[id], others(id))
		if err != nil {
			return nil, nil, err
		}
		if resume(i) {
			if _, err := sec1[id].MarshalBinary(); err == nil {
				t.Error("a round-1 secret used by part 2 still encodes")
			}
			again := new(DKGRound2Secret)
			reloaded(t, s, again)
			s = again
		}
		sec2[id] = s
		for to, p := range out {
			if inbox[to] == nil {
				inbox[to] = map[Identifier]*DKGRound2Package{}
			}
			inbox[to][id] = p
		}
	}
	if k.tamper != nil {
		k.tamper(r1, inbox)
	}
	kps := map[Identifier]*KeyPackage{}
	var pub *PublicKeyPackage
	for _, id := range ids {
		kp, p, err := k.part3(sec2[id], others(id), inbox[id])
		if err != nil {
			return nil, nil, err
		}
		kps[id] = kp
		if pub == nil {
			pub = p
		} else if !bytes.Equal(mustMarshal(t, pub), mustMarshal(t, p)) {
			t.Fatalf("participants disagree on the public key package")
		}
	}
	return kps, pub, nil
}

// signSession runs both signing rounds for the signers and returns the
// package and the shares.
func signSession(t testing.TB, kps map[Identifier]*KeyPackage, signers []Identifier, msg []byte) (*SigningPackage, map[Identifier]*SignatureShare) {
	t.Helper()
	nonces := map[Identifier]*SigningNonces{}
	coms := map[Identifier]*SigningCommitments{}
	for _, id := range signers {
		n, c, err := Commit(nil, kps[id])
		if err != nil {
			t.Fatal(err)
		}
		nonces[id], coms[id] = n, c
	}
	pkg, err := NewSigningPackage(coms, msg)
	if err != nil {
		t.Fatal(err)
	}
	shares := map[Identifier]*SignatureShare{}
	for _, id := range signers {
		s, err := Sign(pkg, nonces[id], kps[id])
		if err != nil {
			t.Fatal(err)
		}
		shares[id] = s
	}
	return pkg, shares
}

func checkEd25519(t testing.TB, pub *PublicKeyPackage, msg, sig []byte) {
	t.Helper()
	if !ed25519.Verify(ed25519.PublicKey(pub.VerifyingKey().Bytes()), msg, sig) {
		t.Fatalf("crypto/ed25519.Verify rejects the aggregated signature")
	}
}

func sizeName(t, n int) string { return fmt.Sprintf("%d-of-%d", t, n) }

// dealKnown deals a minSigners-of-len(ids) key of a secret the test knows.
func dealKnown(t testing.TB, ids []Identifier, minSigners int) (*edwards25519.Scalar, map[Identifier]*KeyPackage, *PublicKeyPackage) {
	t.Helper()
	s, err := randomScalar(nil)
	if err != nil {
		t.Fatal(err)
	}
	kps, pub, err := TrustedDealerKeygen(nil, &SigningShare{s: *s}, ids, minSigners)
	if err != nil {
		t.Fatal(err)
	}
	return s, kps, pub
}

// interpolate returns Σ λ_i·s_i over the key packages of ids: the group
// secret if they are t or more shares of one key.
func interpolate(t testing.TB, kps map[Identifier]*KeyPackage, ids []Identifier) *edwards25519.Scalar {
	t.Helper()
	sum := edwards25519.NewScalar()
	for i, id := range ids {
		sum.MultiplyAdd(lagrange(ids, i), &kps[id].signingShare.s, sum)
	}
	return sum
}

// trySign runs a signing session of signers with their key packages in kps
// and aggregates under pub checking every share; on success it also checks
// the signature with crypto/ed25519 under pub's group key.
func trySign(t testing.TB, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, signers []Identifier) error {
	t.Helper()
	msg := []byte("sign after a key change")
	pkg, shares := signSession(t, kps, signers, msg)
	sig, err := Aggregate(pkg, shares, pub, VerifyShares)
	if err == nil {
		checkEd25519(t, pub, msg, sig)
	}
	return err
}

// wantCheaters fails unless err is a *CheaterError wrapping want and naming
// exactly ids.
func wantCheaters(t testing.TB, err, want error, ids ...Identifier) {
	t.Helper()
	var ce *CheaterError
	if !errors.As(err, &ce) || !errors.Is(err, want) || !slices.Equal(ce.Identifiers, ids) {
		t.Fatalf("got %v, want %v naming %v", err, want, ids)
	}
}
