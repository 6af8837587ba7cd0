package frost

import (
	"crypto/ed25519"
	"testing"

	"filippo.io/edwards25519"
)

var benchSizes = []struct{ t, n int }{{2, 3}, {7, 10}, {67, 100}, {667, 1000}}

// benchSetup deals a t-of-n key (the dealer is much cheaper than a 1000-party
// DKG) and runs round one for the first t participants.
func benchSetup(b *testing.B, t, n int) (map[Identifier]*KeyPackage, *PublicKeyPackage, []Identifier) {
	b.Helper()
	ids := idsUpTo(b, n)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, t)
	if err != nil {
		b.Fatal(err)
	}
	return kps, pub, ids[:t]
}

func BenchmarkRound1(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(sizeName(s.t, s.n), func(b *testing.B) {
			kps, _, signers := benchSetup(b, s.t, s.n)
			kp := kps[signers[0]]
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := Commit(nil, kp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRound2(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(sizeName(s.t, s.n), func(b *testing.B) {
			kps, _, signers := benchSetup(b, s.t, s.n)
			coms := map[Identifier]*SigningCommitments{}
			for _, id := range signers[1:] {
				_, c, _ := Commit(nil, kps[id])
				coms[id] = c
			}
			kp := kps[signers[0]]
			nonces := make([]*SigningNonces, 0, 64)
			pkgs := make([]*SigningPackage, 0, 64)
			b.ResetTimer()
			for b.Loop() {
				// Fresh nonces per signature; commit cost is excluded.
				b.StopTimer()
				n, c, _ := Commit(nil, kp)
				coms[signers[0]] = c
				pkg, err := NewSigningPackage(coms, []byte("benchmark message"))
				if err != nil {
					b.Fatal(err)
				}
				nonces, pkgs = append(nonces[:0], n), append(pkgs[:0], pkg)
				b.StartTimer()
				if _, err := Sign(pkgs[0], nonces[0], kp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAggregate(b *testing.B) {
	for _, mode := range []AggregateMode{VerifyShares, Optimistic} {
		b.Run(mode.String(), func(b *testing.B) {
			for _, s := range benchSizes {
				b.Run(sizeName(s.t, s.n), func(b *testing.B) {
					kps, pub, signers := benchSetup(b, s.t, s.n)
					msg := []byte("benchmark message")
					pkg, shares := signSession(b, kps, signers, msg)
					b.ResetTimer()
					for b.Loop() {
						if _, err := Aggregate(pkg, shares, pub, mode); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

func BenchmarkDKG(b *testing.B) {
	for _, s := range []struct{ t, n int }{{3, 5}, {7, 10}} {
		b.Run(sizeName(s.t, s.n), func(b *testing.B) {
			ids := idsUpTo(b, s.n)
			for b.Loop() {
				runDKG(b, ids, s.t)
			}
		})
	}
}

// BenchmarkEd25519Verify is a reference point for comparing machines: one
// crypto/ed25519.Verify.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("benchmark message")
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkTorsionCheck measures the prime-order-subgroup check that every
// decoded group element pays.
func BenchmarkTorsionCheck(b *testing.B) {
	p := new(edwards25519.Point).ScalarBaseMult(mustScalar(0x5eed))
	for b.Loop() {
		if !isTorsionFree(p) {
			b.Fatal("a prime-order point refused")
		}
	}
}

// BenchmarkDecodeElement measures a strict decode: canonical encoding,
// not the identity, torsion-free.
func BenchmarkDecodeElement(b *testing.B) {
	enc := new(edwards25519.Point).ScalarBaseMult(mustScalar(0x5eed)).Bytes()
	for b.Loop() {
		if _, err := decodeElement(enc); err != nil {
			b.Fatal(err)
		}
	}
}
