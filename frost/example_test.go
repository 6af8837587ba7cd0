package frost_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/chusme/chusme/frost"
)

// Example_dkg runs the three-part distributed key generation for a 2-of-3
// key. In ChusMe the packages travel through the server; here they are
// passed in memory.
func Example_dkg() {
	const n, t = 3, 2
	var ids []frost.Identifier
	for i := 1; i <= n; i++ {
		id, _ := frost.IdentifierFromUint16(uint16(i))
		ids = append(ids, id)
	}

	// Part 1: everyone broadcasts a commitment and proof of knowledge.
	secrets1 := map[frost.Identifier]*frost.DKGRound1Secret{}
	round1 := map[frost.Identifier]*frost.DKGRound1Package{}
	for _, id := range ids {
		s, p, err := frost.DKGPart1(nil, id, n, t)
		if err != nil {
			panic(err)
		}
		secrets1[id], round1[id] = s, p
		// The coordinator checks each package before relaying it.
		if err := frost.VerifyDKGRound1Package(id, p, t); err != nil {
			panic(err)
		}
	}
	othersRound1 := func(self frost.Identifier) map[frost.Identifier]*frost.DKGRound1Package {
		m := map[frost.Identifier]*frost.DKGRound1Package{}
		for id, p := range round1 {
			if id != self {
				m[id] = p
			}
		}
		return m
	}

	// Part 2: everyone sends a secret share to each other participant.
	secrets2 := map[frost.Identifier]*frost.DKGRound2Secret{}
	inbox := map[frost.Identifier]map[frost.Identifier]*frost.DKGRound2Package{}
	for _, id := range ids {
		s, out, err := frost.DKGPart2(secrets1[id], othersRound1(id))
		if err != nil {
			panic(err)
		}
		secrets2[id] = s
		for to, p := range out {
			if inbox[to] == nil {
				inbox[to] = map[frost.Identifier]*frost.DKGRound2Package{}
			}
			inbox[to][id] = p // encrypted to the recipient in real life
		}
	}

	// Part 3: everyone derives its key package and the public key package.
	var groupKeys []string
	for _, id := range ids {
		kp, pub, err := frost.DKGPart3(secrets2[id], othersRound1(id), inbox[id])
		if err != nil {
			panic(err)
		}
		groupKeys = append(groupKeys, kp.VerifyingKey().String())
		fmt.Printf("participant %v: %d-of-%d, secret printed as %v\n", kp.Identifier(), kp.MinSigners(), pub.MaxSigners(), kp.SigningShare())
	}
	fmt.Println("same group key:", groupKeys[0] == groupKeys[1] && groupKeys[1] == groupKeys[2])
	// Output:
	// participant 1: 2-of-3, secret printed as frost.SigningShare{REDACTED}
	// participant 2: 2-of-3, secret printed as frost.SigningShare{REDACTED}
	// participant 3: 2-of-3, secret printed as frost.SigningShare{REDACTED}
	// same group key: true
}

// Example_signing runs a 2-of-3 signing session: round one, the signing
// package, round two and aggregation by the coordinator.
func Example_signing() {
	var ids []frost.Identifier
	for i := 1; i <= 3; i++ {
		id, _ := frost.IdentifierFromUint16(uint16(i))
		ids = append(ids, id)
	}
	// A trusted dealer stands in for the DKG here.
	keys, pub, err := frost.TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		panic(err)
	}
	signers := []frost.Identifier{ids[0], ids[2]}
	msg := []byte("hello, FROST")

	// Round one: each signer commits.
	nonces := map[frost.Identifier]*frost.SigningNonces{}
	commitments := map[frost.Identifier]*frost.SigningCommitments{}
	for _, id := range signers {
		n, c, err := frost.Commit(nil, keys[id])
		if err != nil {
			panic(err)
		}
		nonces[id], commitments[id] = n, c
	}

	// The coordinator builds the signing package.
	pkg, err := frost.NewSigningPackage(commitments, msg)
	if err != nil {
		panic(err)
	}

	// Round two: each signer signs once.
	shares := map[frost.Identifier]*frost.SignatureShare{}
	for _, id := range signers {
		s, err := frost.Sign(pkg, nonces[id], keys[id])
		if err != nil {
			panic(err)
		}
		shares[id] = s
	}
	_, err = frost.Sign(pkg, nonces[signers[0]], keys[signers[0]])
	fmt.Println("second use of nonces:", err)

	// The coordinator verifies every share and aggregates.
	sig, err := frost.Aggregate(pkg, shares, pub, frost.VerifyShares)
	if err != nil {
		panic(err)
	}
	fmt.Println("crypto/ed25519 verifies:", ed25519.Verify(pub.VerifyingKey().Ed25519(), msg, sig))
	// Output:
	// second use of nonces: frost: signing nonces already used
	// crypto/ed25519 verifies: true
}

// Example_reshare moves a 2-of-3 key to a 3-of-4 group that keeps holder 3
// and adds holders 4–6, with holders 1 and 2 dealing. The group key does not
// change.
func Example_reshare() {
	id := func(n uint16) frost.Identifier { i, _ := frost.IdentifierFromUint16(n); return i }
	old := []frost.Identifier{id(1), id(2), id(3)}
	oldKeys, oldPub, err := frost.TrustedDealerKeygen(nil, nil, old, 2)
	if err != nil {
		panic(err)
	}
	p := frost.ReshareParams{
		Dealers:        []frost.Identifier{id(1), id(2)},
		NewIdentifiers: []frost.Identifier{id(3), id(4), id(5), id(6)},
		NewMinSigners:  3,
	}

	// Each dealer broadcasts a commitment, which the coordinator checks, and
	// sends each new holder a share (sealed to it in real life).
	commitments := map[frost.Identifier]*frost.ReshareCommitment{}
	inbox := map[frost.Identifier]map[frost.Identifier]*frost.ReshareShare{}
	for _, d := range p.Dealers {
		c, shares, err := frost.ReshareDeal(nil, oldKeys[d], p)
		if err != nil {
			panic(err)
		}
		if err := frost.VerifyReshareCommitment(oldPub, p, d, c); err != nil {
			panic(err)
		}
		commitments[d] = c
		for to, s := range shares {
			if inbox[to] == nil {
				inbox[to] = map[frost.Identifier]*frost.ReshareShare{}
			}
			inbox[to][d] = s
		}
	}

	// Each new holder checks what it got and derives its key package. The
	// caller then compares the new public key packages (ChusMe does so in
	// signed confirmations) before the old holders wipe their shares.
	for _, j := range p.NewIdentifiers {
		kp, pub, err := frost.ReshareReceive(j, oldPub, p, commitments, inbox[j])
		if err != nil {
			panic(err)
		}
		fmt.Printf("holder %v: %d-of-%d, same group key: %v\n", kp.Identifier(), kp.MinSigners(), pub.MaxSigners(), pub.VerifyingKey().Equal(oldPub.VerifyingKey()))
	}
	// Output:
	// holder 3: 3-of-4, same group key: true
	// holder 4: 3-of-4, same group key: true
	// holder 5: 3-of-4, same group key: true
	// holder 6: 3-of-4, same group key: true
}
