package frost

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestDKGThenSign(t *testing.T) {
	for _, c := range []struct{ t, n int }{{2, 2}, {2, 3}, {3, 5}, {5, 5}, {4, 7}, {7, 10}} {
		t.Run(sizeName(c.t, c.n), func(t *testing.T) {
			ids := idsUpTo(t, c.n)
			kps, pub := runDKG(t, ids, c.t)
			rng := rand.New(rand.NewPCG(uint64(c.t), uint64(c.n)))
			for trial := 0; trial < 4; trial++ {
				// Random subsets of size t..n.
				k := c.t + rng.IntN(c.n-c.t+1)
				perm := rng.Perm(c.n)[:k]
				signers := make([]Identifier, k)
				for i, p := range perm {
					signers[i] = ids[p]
				}
				msg := []byte(fmt.Sprintf("message %d for %v", trial, signers))
				pkg, shares := signSession(t, kps, signers, msg)
				for _, mode := range []AggregateMode{VerifyShares, Optimistic} {
					sig, err := Aggregate(pkg, shares, pub, mode)
					if err != nil {
						t.Fatalf("%v: %v", mode, err)
					}
					checkEd25519(t, pub, msg, sig)
				}
			}
		})
	}
}

func TestDealerThenSignDerivedIdentifiers(t *testing.T) {
	var ids []Identifier
	for i := 0; i < 5; i++ {
		id, err := DeriveIdentifier([]byte(fmt.Sprintf("%064x", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, signers := range [][]Identifier{ids[:3], ids[2:], {ids[0], ids[2], ids[4]}, ids} {
		pkg, shares := signSession(t, kps, signers, []byte("derived"))
		for _, mode := range []AggregateMode{VerifyShares, Optimistic} {
			sig, err := Aggregate(pkg, shares, pub, mode)
			if err != nil {
				t.Fatal(err)
			}
			checkEd25519(t, pub, []byte("derived"), sig)
		}
	}
	// Too few signers.
	n, c, _ := Commit(nil, kps[ids[0]])
	_, c2, _ := Commit(nil, kps[ids[1]])
	pkg, err := NewSigningPackage(map[Identifier]*SigningCommitments{ids[0]: c, ids[1]: c2}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(pkg, n, kps[ids[0]]); !errors.Is(err, ErrTooFewSigners) {
		t.Fatalf("Sign with 2 of threshold 3: %v", err)
	}
	if _, err := NewSession(pkg, pub); !errors.Is(err, ErrTooFewSigners) {
		t.Fatalf("NewSession with 2 of threshold 3: %v", err)
	}
}

func TestCheatersNamed(t *testing.T) {
	ids := idsUpTo(t, 7)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 4)
	if err != nil {
		t.Fatal(err)
	}
	signers := ids[1:6]
	msg := []byte("cheat")
	for _, cheaters := range [][]Identifier{{ids[2]}, {ids[1], ids[5]}} {
		pkg, shares := signSession(t, kps, signers, msg)
		for _, c := range cheaters {
			shares[c].z.Add(&shares[c].z, scalarOne)
		}
		for _, mode := range []AggregateMode{VerifyShares, Optimistic} {
			_, err := Aggregate(pkg, shares, pub, mode)
			var ce *CheaterError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidSignatureShare) || !slices.Equal(ce.Identifiers, cheaters) {
				t.Fatalf("%v: got %v, want cheaters %v", mode, err, cheaters)
			}
		}
		s, _ := NewSession(pkg, pub)
		for _, id := range signers {
			err := s.VerifyShare(id, shares[id])
			if slices.Contains(cheaters, id) != (err != nil) {
				t.Fatalf("VerifyShare(%v): %v", id, err)
			}
		}
	}
	// Shares from the wrong set of signers.
	pkg, shares := signSession(t, kps, signers, msg)
	delete(shares, signers[0])
	if _, err := Aggregate(pkg, shares, pub, VerifyShares); !errors.Is(err, ErrWrongParticipants) {
		t.Fatalf("missing share: %v", err)
	}
	shares[ids[0]] = shares[signers[1]]
	if _, err := Aggregate(pkg, shares, pub, Optimistic); !errors.Is(err, ErrWrongParticipants) {
		t.Fatalf("share from a non-signer: %v", err)
	}
}

func TestNonceSingleUse(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, _, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	n1, c1, _ := Commit(nil, kps[ids[0]])
	n2, c2, _ := Commit(nil, kps[ids[1]])
	_, c3, _ := Commit(nil, kps[ids[2]])
	pkg, _ := NewSigningPackage(map[Identifier]*SigningCommitments{ids[0]: c1, ids[1]: c2}, []byte("a"))
	other, _ := NewSigningPackage(map[Identifier]*SigningCommitments{ids[0]: c1, ids[1]: c2}, []byte("b"))
	// A package that does not carry our commitments is refused and leaves the
	// nonces usable.
	wrong, _ := NewSigningPackage(map[Identifier]*SigningCommitments{ids[0]: c3, ids[1]: c2}, []byte("a"))
	if _, err := Sign(wrong, n1, kps[ids[0]]); !errors.Is(err, ErrCommitmentMismatch) {
		t.Fatalf("wrong commitments: %v", err)
	}
	if _, err := Sign(pkg, n1, kps[ids[2]]); !errors.Is(err, ErrUnknownParticipant) {
		t.Fatalf("non-signer: %v", err)
	}
	if _, err := Sign(pkg, n1, kps[ids[0]]); err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(other, n1, kps[ids[0]]); !errors.Is(err, ErrNonceReused) {
		t.Fatalf("second use: %v", err)
	}
	if !isZeroScalar(&n1.st.hiding) || !isZeroScalar(&n1.st.binding) {
		t.Fatal("nonces not zeroed after use")
	}
	n2.Zero()
	if _, err := Sign(pkg, n2, kps[ids[1]]); !errors.Is(err, ErrNonceReused) {
		t.Fatalf("zeroed nonces: %v", err)
	}
	// Racing Sign calls: exactly one wins.
	n3, c3b, _ := Commit(nil, kps[ids[2]])
	_, c1b, _ := Commit(nil, kps[ids[0]])
	pkg3, _ := NewSigningPackage(map[Identifier]*SigningCommitments{ids[0]: c1b, ids[2]: c3b}, []byte("race"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Sign(pkg3, n3, kps[ids[2]]); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent Sign calls succeeded with one nonce", wins)
	}
}

// TestConcurrentSessions runs 200 signing sessions at once (go test -race).
func TestConcurrentSessions(t *testing.T) {
	ids := idsUpTo(t, 5)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	const sessions = 200
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			signers := []Identifier{ids[i%5], ids[(i+1)%5], ids[(i+3)%5]}
			msg := []byte(fmt.Sprintf("session %d", i))
			nonces := map[Identifier]*SigningNonces{}
			coms := map[Identifier]*SigningCommitments{}
			for _, id := range signers {
				n, c, err := Commit(nil, kps[id])
				if err != nil {
					errs <- err
					return
				}
				nonces[id], coms[id] = n, c
			}
			pkg, err := NewSigningPackage(coms, msg)
			if err != nil {
				errs <- err
				return
			}
			shares := map[Identifier]*SignatureShare{}
			var mu sync.Mutex
			var swg sync.WaitGroup
			for _, id := range signers {
				swg.Add(1)
				go func() {
					defer swg.Done()
					s, err := Sign(pkg, nonces[id], kps[id])
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					shares[id] = s
					mu.Unlock()
				}()
			}
			swg.Wait()
			mode := AggregateMode(i % 2)
			sig, err := Aggregate(pkg, shares, pub, mode)
			if err != nil {
				errs <- err
				return
			}
			if !pub.VerifyingKey().Verify(msg, sig) {
				errs <- fmt.Errorf("session %d: signature does not verify", i)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParameters(t *testing.T) {
	ids := idsUpTo(t, 3)
	for _, c := range []struct{ t, n int }{{1, 3}, {0, 3}, {4, 3}, {2, 1}, {2, MaxParticipants + 1}} {
		if _, _, err := DKGPart1(nil, ids[0], c.n, c.t); !errors.Is(err, ErrInvalidParameters) {
			t.Errorf("DKGPart1 %d-of-%d: %v", c.t, c.n, err)
		}
	}
	if _, _, err := TrustedDealerKeygen(nil, nil, ids, 1); !errors.Is(err, ErrInvalidParameters) {
		t.Errorf("dealer 1-of-3: %v", err)
	}
	if _, _, err := TrustedDealerKeygen(nil, nil, []Identifier{ids[0], ids[1], ids[0]}, 2); !errors.Is(err, ErrDuplicateIdentifier) {
		t.Errorf("dealer duplicate: %v", err)
	}
	if _, err := IdentifierFromUint16(0); !errors.Is(err, ErrInvalidIdentifier) {
		t.Errorf("identifier 0: %v", err)
	}
	if _, _, err := DKGPart1(nil, Identifier{}, 3, 2); !errors.Is(err, ErrInvalidIdentifier) {
		t.Errorf("zero identifier: %v", err)
	}
	// Wrong number of round-1 packages.
	s, _, _ := DKGPart1(nil, ids[0], 3, 2)
	_, p2, _ := DKGPart1(nil, ids[1], 3, 2)
	if _, _, err := DKGPart2(s, map[Identifier]*DKGRound1Package{ids[1]: p2}); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("too few round-1 packages: %v", err)
	}
	// A package with the wrong commitment length is blamed on its sender.
	_, p3, _ := DKGPart1(nil, ids[2], 3, 3)
	var ce *CheaterError
	if _, _, err := DKGPart2(s, map[Identifier]*DKGRound1Package{ids[1]: p2, ids[2]: p3}); !errors.As(err, &ce) || !errors.Is(err, ErrInvalidCommitment) || ce.Identifiers[0] != ids[2] {
		t.Errorf("wrong commitment length: %v", err)
	}
}

func TestLagrangeAllMatchesSingle(t *testing.T) {
	small := []Identifier{mustID(t, 3), mustID(t, 1), mustID(t, 65535), mustID(t, 200), mustID(t, 7), mustID(t, 9)}
	var derived []Identifier
	for i := 0; i < 6; i++ {
		id, _ := DeriveIdentifier([]byte{byte(i)})
		derived = append(derived, id)
	}
	for _, ids := range [][]Identifier{small, derived, append(small[:3:3], derived[:3]...)} {
		all := lagrangeAll(ids)
		for i := range ids {
			if all[i].Equal(lagrange(ids, i)) != 1 {
				t.Fatalf("λ_%v differs", ids[i])
			}
		}
	}
}
