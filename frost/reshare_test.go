package frost

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/edwards25519"
)

func idList(t testing.TB, ns ...uint16) []Identifier {
	t.Helper()
	out := make([]Identifier, len(ns))
	for i, n := range ns {
		out[i] = mustID(t, n)
	}
	return out
}

func derived(t testing.TB, names ...string) []Identifier {
	t.Helper()
	out := make([]Identifier, len(names))
	for i, n := range names {
		id, err := DeriveIdentifier([]byte(n))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = id
	}
	return out
}

// dealing is what the reshare dealers produced: commitments by dealer and
// shares by recipient, then dealer.
type dealing struct {
	commitments map[Identifier]*ReshareCommitment
	shares      map[Identifier]map[Identifier]*ReshareShare
}

// deal runs ReshareDeal for every dealer of p, every commitment and share
// crossing the wire encoded.
func deal(t *testing.T, old map[Identifier]*KeyPackage, p ReshareParams) dealing {
	t.Helper()
	dl := dealing{map[Identifier]*ReshareCommitment{}, map[Identifier]map[Identifier]*ReshareShare{}}
	for _, d := range p.Dealers {
		c, shares, err := ReshareDeal(nil, old[d], p)
		if err != nil {
			t.Fatalf("dealer %v: %v", d, err)
		}
		if len(shares) != len(p.NewIdentifiers) {
			t.Fatalf("dealer %v: %d shares for %d new holders", d, len(shares), len(p.NewIdentifiers))
		}
		wire := new(ReshareCommitment)
		reloaded(t, zeroable{c}, wire)
		dl.commitments[d] = wire
		for to, s := range shares {
			if dl.shares[to] == nil {
				dl.shares[to] = map[Identifier]*ReshareShare{}
			}
			w := new(ReshareShare)
			reloaded(t, s, w)
			dl.shares[to][d] = w
		}
	}
	return dl
}

// receive has the coordinator check every commitment and every new holder
// run ReshareReceive; it returns the new key packages and the public key
// package all agree on, or the first error.
func receive(t *testing.T, oldPub *PublicKeyPackage, p ReshareParams, dl dealing) (map[Identifier]*KeyPackage, *PublicKeyPackage, error) {
	t.Helper()
	for d, c := range dl.commitments {
		if err := VerifyReshareCommitment(oldPub, p, d, c); err != nil {
			return nil, nil, err
		}
	}
	fresh := map[Identifier]*KeyPackage{}
	var pub *PublicKeyPackage
	for _, j := range p.NewIdentifiers {
		kp, pj, err := ReshareReceive(j, oldPub, p, dl.commitments, dl.shares[j])
		if err != nil {
			return nil, nil, err
		}
		fresh[j] = kp
		if pub == nil {
			pub = pj
		} else if !bytes.Equal(mustMarshal(t, pub), mustMarshal(t, pj)) {
			t.Fatal("new holders disagree on the public key package")
		}
	}
	return fresh, pub, nil
}

// checkReshared checks a reshare's result: the same group key, threshold t′
// and exactly the new holders; any t′ new shares interpolate to the old
// secret; the new group signs under the old group key; two old shares and a
// new one neither interpolate to the secret nor sign.
func checkReshared(t *testing.T, secret *edwards25519.Scalar, old, fresh map[Identifier]*KeyPackage, oldPub, pub *PublicKeyPackage, p ReshareParams) {
	t.Helper()
	if !pub.VerifyingKey().Equal(oldPub.VerifyingKey()) || pub.MinSigners() != p.NewMinSigners || pub.MaxSigners() != len(p.NewIdentifiers) {
		t.Fatalf("reshared package %v, want the old key %d-of-%d", pub, p.NewMinSigners, len(p.NewIdentifiers))
	}
	tn, n := p.NewMinSigners, len(p.NewIdentifiers)
	for _, j := range p.NewIdentifiers {
		if vs, ok := pub.VerifyingShare(j); !ok || !vs.Equal(fresh[j].VerifyingShare()) || fresh[j].MinSigners() != tn {
			t.Fatalf("%v: new key package and public key package disagree", j)
		}
	}
	for _, set := range [][]Identifier{p.NewIdentifiers[:tn], p.NewIdentifiers[n-tn:]} {
		if interpolate(t, fresh, set).Equal(secret) != 1 {
			t.Fatalf("new shares %v do not interpolate to the group secret", set)
		}
	}
	if tn > 2 && interpolate(t, fresh, p.NewIdentifiers[:tn-1]).Equal(secret) == 1 {
		t.Fatal("t′-1 new shares interpolate to the group secret")
	}
	msg := []byte("signed by the new group")
	pkg, shares := signSession(t, fresh, p.NewIdentifiers[n-tn:], msg)
	sig, err := Aggregate(pkg, shares, pub, VerifyShares)
	if err != nil {
		t.Fatal(err)
	}
	checkEd25519(t, oldPub, msg, sig)

	// Two old shares and a new one, of distinct holders.
	oldIDs := oldPub.Identifiers()
	var newOne Identifier
	for _, j := range p.NewIdentifiers {
		if j != oldIDs[0] && j != oldIDs[1] {
			newOne = j
			break
		}
	}
	mixed := map[Identifier]*KeyPackage{oldIDs[0]: old[oldIDs[0]], oldIDs[1]: old[oldIDs[1]], newOne: fresh[newOne]}
	set := []Identifier{oldIDs[0], oldIDs[1], newOne}
	if interpolate(t, mixed, set).Equal(secret) == 1 {
		t.Fatal("two old shares and a new one interpolate to the group secret")
	}
	for _, pp := range []*PublicKeyPackage{pub, oldPub} {
		var ce *CheaterError
		if err := trySign(t, mixed, pp, set); !errors.As(err, &ce) && !errors.Is(err, ErrUnknownParticipant) {
			t.Fatalf("two old shares and a new one: got %v, want a *CheaterError or ErrUnknownParticipant", err)
		}
	}
}

func TestReshare(t *testing.T) {
	for name, tc := range map[string]struct {
		oldIDs []Identifier
		oldT   int
		p      ReshareParams
	}{
		// 2-of-3 → 3-of-5: holders 2 and 3 stay (2 also deals), 10–12 join.
		"grow 2-of-3 to 3-of-5": {idList(t, 1, 2, 3), 2, ReshareParams{idList(t, 1, 2), idList(t, 2, 3, 10, 11, 12), 3}},
		// 3-of-5 → 2-of-3: holder 1 stays, 20 and 21 join.
		"shrink 3-of-5 to 2-of-3": {idList(t, 1, 2, 3, 4, 5), 3, ReshareParams{idList(t, 1, 3, 5), idList(t, 1, 20, 21), 2}},
		// 3-of-5 → 3-of-5: 4 and 5 replaced by 6 and 7; all five deal.
		"replace two of 3-of-5": {idList(t, 1, 2, 3, 4, 5), 3, ReshareParams{idList(t, 5, 4, 3, 2, 1), idList(t, 1, 2, 3, 6, 7), 3}},
		// Identifiers derived from names take the generic Lagrange path.
		"derived identifiers": {derived(t, "a", "b", "c"), 2, ReshareParams{derived(t, "c", "a"), derived(t, "a", "b", "d", "e"), 2}},
	} {
		t.Run(name, func(t *testing.T) {
			secret, old, oldPub := dealKnown(t, tc.oldIDs, tc.oldT)
			fresh, pub, err := receive(t, oldPub, tc.p, deal(t, old, tc.p))
			if err != nil {
				t.Fatal(err)
			}
			checkReshared(t, secret, old, fresh, oldPub, pub, tc.p)
		})
	}
}

func TestReshareCheatersNamed(t *testing.T) {
	_, old, oldPub := dealKnown(t, idList(t, 1, 2, 3, 4), 2)
	p := ReshareParams{idList(t, 1, 2, 3), idList(t, 3, 4, 5, 6, 7), 3}
	one, two, three, four := p.Dealers[0], p.Dealers[1], p.Dealers[2], p.NewIdentifiers[1]

	t.Run("bad shares", func(t *testing.T) {
		dl := deal(t, old, p)
		for _, d := range []Identifier{one, three} {
			s := dl.shares[four][d]
			s.s.Add(&s.s, scalarOne)
		}
		_, _, err := receive(t, oldPub, p, dl)
		wantCheaters(t, err, ErrInvalidSecretShare, one, three)
	})
	t.Run("shifted constant", func(t *testing.T) {
		// Dealer two deals g+1, a consistent polynomial whose constant is
		// not its share: every share opens the commitment, but C_0 is not
		// λ·Y.
		dl := deal(t, old, p)
		c := dl.commitments[two].commitment
		c[0] = newElement(new(edwards25519.Point).Add(&c[0].p, generatorPoint))
		for _, j := range p.NewIdentifiers {
			s := dl.shares[j][two]
			s.s.Add(&s.s, scalarOne)
		}
		for _, j := range p.NewIdentifiers {
			_, _, err := ReshareReceive(j, oldPub, p, dl.commitments, dl.shares[j])
			wantCheaters(t, err, ErrInvalidReshareCommitment, two)
		}
		wantCheaters(t, VerifyReshareCommitment(oldPub, p, two, dl.commitments[two]), ErrInvalidReshareCommitment, two)
		if err := VerifyReshareCommitment(oldPub, p, one, dl.commitments[one]); err != nil {
			t.Fatalf("honest dealer: %v", err)
		}
	})
	t.Run("wrong degree", func(t *testing.T) {
		dl := deal(t, old, p)
		dl.commitments[one].commitment = dl.commitments[one].commitment[:2]
		_, _, err := ReshareReceive(four, oldPub, p, dl.commitments, dl.shares[four])
		wantCheaters(t, err, ErrInvalidReshareCommitment, one)
	})
	t.Run("another key's share", func(t *testing.T) {
		_, other, _ := dealKnown(t, idList(t, 1, 2, 3, 4), 2)
		mixed := map[Identifier]*KeyPackage{one: old[one], two: other[two], three: old[three]}
		_, _, err := receive(t, oldPub, p, deal(t, mixed, p))
		wantCheaters(t, err, ErrInvalidReshareCommitment, two)
	})
}

func TestReshareRefused(t *testing.T) {
	_, old, oldPub := dealKnown(t, idList(t, 1, 2, 3, 4, 5), 3)
	good := ReshareParams{idList(t, 1, 2, 3), idList(t, 1, 6, 7), 2}
	dl := deal(t, old, good)
	for name, tc := range map[string]struct {
		p    ReshareParams
		want error
	}{
		"dealers below t":      {ReshareParams{idList(t, 1, 2), good.NewIdentifiers, 2}, ErrInvalidParameters},
		"duplicate dealer":     {ReshareParams{idList(t, 1, 2, 2), good.NewIdentifiers, 2}, ErrDuplicateIdentifier},
		"dealer not a holder":  {ReshareParams{idList(t, 1, 2, 9), good.NewIdentifiers, 2}, ErrUnknownParticipant},
		"zero dealer":          {ReshareParams{[]Identifier{good.Dealers[0], good.Dealers[1], {}}, good.NewIdentifiers, 2}, ErrInvalidIdentifier},
		"t′ above n′":          {ReshareParams{good.Dealers, good.NewIdentifiers, 4}, ErrInvalidParameters},
		"t′ of one":            {ReshareParams{good.Dealers, good.NewIdentifiers, 1}, ErrInvalidParameters},
		"duplicate new holder": {ReshareParams{good.Dealers, idList(t, 1, 6, 6), 2}, ErrDuplicateIdentifier},
	} {
		if err := VerifyReshareCommitment(oldPub, tc.p, good.Dealers[0], dl.commitments[good.Dealers[0]]); !errors.Is(err, tc.want) {
			t.Errorf("%s: VerifyReshareCommitment: got %v, want %v", name, err, tc.want)
		}
		if _, _, err := ReshareReceive(good.NewIdentifiers[0], oldPub, tc.p, dl.commitments, dl.shares[good.NewIdentifiers[0]]); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReshareReceive: got %v, want %v", name, err, tc.want)
		}
		if tc.want == ErrUnknownParticipant {
			continue // the dealer cannot know the old holders
		}
		if _, _, err := ReshareDeal(nil, old[good.Dealers[0]], tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReshareDeal: got %v, want %v", name, err, tc.want)
		}
	}
	if _, _, err := ReshareDeal(nil, old[idList(t, 4)[0]], good); !errors.Is(err, ErrUnknownParticipant) {
		t.Errorf("not a dealer dealing: got %v", err)
	}
	if err := VerifyReshareCommitment(oldPub, good, idList(t, 4)[0], dl.commitments[good.Dealers[0]]); !errors.Is(err, ErrUnknownParticipant) {
		t.Errorf("commitment of a non-dealer: got %v", err)
	}
	if _, _, err := ReshareReceive(idList(t, 2)[0], oldPub, good, dl.commitments, dl.shares[good.NewIdentifiers[0]]); !errors.Is(err, ErrUnknownParticipant) {
		t.Errorf("not a new holder receiving: got %v", err)
	}
	self := good.NewIdentifiers[0]
	partial := map[Identifier]*ReshareShare{}
	for d, s := range dl.shares[self] {
		if d != good.Dealers[2] {
			partial[d] = s
		}
	}
	if _, _, err := ReshareReceive(self, oldPub, good, dl.commitments, partial); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("a dealer's share missing: got %v", err)
	}
	swapped := map[Identifier]*ReshareShare{idList(t, 5)[0]: dl.shares[self][good.Dealers[2]]}
	for d, s := range partial {
		swapped[d] = s
	}
	if _, _, err := ReshareReceive(self, oldPub, good, dl.commitments, swapped); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("a share from a non-dealer: got %v", err)
	}
	if _, _, err := ReshareReceive(self, oldPub, good, dl.commitments, dl.shares[self]); err != nil {
		t.Fatalf("the untouched dealing: %v", err)
	}
}
