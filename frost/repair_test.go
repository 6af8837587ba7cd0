package frost

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
)

// repair runs the three repair parts: helpers restore lost's share from
// their key packages, every delta and sigma crossing the wire encoded. lie,
// if not nil, changes helper 0's sigma.
func repair(t *testing.T, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, helpers []Identifier, lost Identifier, lie func(*RepairSigma)) (*KeyPackage, error) {
	t.Helper()
	inbox := map[Identifier][]*RepairDelta{}
	for _, h := range helpers {
		deltas, err := RepairSharePart1(nil, helpers, kps[h], lost)
		if err != nil {
			t.Fatalf("helper %v: %v", h, err)
		}
		if len(deltas) != len(helpers) {
			t.Fatalf("helper %v made %d deltas for %d helpers", h, len(deltas), len(helpers))
		}
		// frost-core's check_repair_share_part1: Σ deltas = ζ_i·s_i.
		sum := edwards25519.NewScalar()
		for to, d := range deltas {
			sum.Add(sum, &d.s)
			wire := new(RepairDelta)
			reloaded(t, d, wire)
			inbox[to] = append(inbox[to], wire)
		}
		i := slices.Index(helpers, h)
		if want := new(edwards25519.Scalar).Multiply(lagrangeAt(helpers, i, lost.scalar()), &kps[h].signingShare.s); want.Equal(sum) != 1 {
			t.Fatalf("helper %v: deltas do not sum to ζ·s", h)
		}
	}
	var sigmas []*RepairSigma
	for i, h := range helpers {
		sigma, err := RepairSharePart2(inbox[h])
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && lie != nil {
			lie(sigma)
		}
		wire := new(RepairSigma)
		reloaded(t, sigma, wire)
		sigmas = append(sigmas, wire)
	}
	return RepairSharePart3(sigmas, lost, pub)
}

func TestRepairShare(t *testing.T) {
	ids := idsUpTo(t, 5)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	lost := ids[1]
	helpers := []Identifier{ids[0], ids[3], ids[4]} // as frost-core's check_rts
	kp, err := repair(t, kps, pub, helpers, lost, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustMarshal(t, kp), mustMarshal(t, kps[lost])) {
		t.Fatal("repaired key package differs from the lost one")
	}
	repaired := map[Identifier]*KeyPackage{lost: kp, ids[0]: kps[ids[0]], ids[2]: kps[ids[2]]}
	if err := trySign(t, repaired, pub, []Identifier{ids[0], lost, ids[2]}); err != nil {
		t.Fatalf("repaired share cannot sign: %v", err)
	}
	if _, err := repair(t, kps, pub, helpers, lost, func(s *RepairSigma) { s.s.Add(&s.s, scalarOne) }); !errors.Is(err, ErrRepairMismatch) {
		t.Fatalf("a lying helper: got %v, want ErrRepairMismatch", err)
	}
	other, otherPub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repair(t, other, pub, helpers, lost, nil); !errors.Is(err, ErrRepairMismatch) {
		t.Fatalf("shares of another key: got %v, want ErrRepairMismatch", err)
	}
	if _, err := repair(t, other, otherPub, helpers, lost, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRepairShareRefused(t *testing.T) {
	ids := idsUpTo(t, 5)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	kp := kps[ids[0]]
	for name, tc := range map[string]struct {
		helpers []Identifier
		lost    Identifier
		want    error
	}{
		"too few helpers":   {ids[:2], ids[4], ErrInvalidParameters},
		"duplicate helper":  {[]Identifier{ids[0], ids[2], ids[2]}, ids[4], ErrDuplicateIdentifier},
		"lost among them":   {ids[:3], ids[2], ErrWrongParticipants},
		"self not a helper": {ids[1:4], ids[4], ErrUnknownParticipant},
		"zero lost":         {ids[:3], Identifier{}, ErrInvalidIdentifier},
		"zero helper":       {[]Identifier{ids[0], ids[1], {}}, ids[4], ErrInvalidIdentifier},
	} {
		if _, err := RepairSharePart1(nil, tc.helpers, kp, tc.lost); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	if _, err := RepairSharePart2(nil); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("no deltas: got %v", err)
	}
	sigma := &RepairSigma{}
	if _, err := RepairSharePart3([]*RepairSigma{sigma, sigma}, ids[1], pub); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("fewer sigmas than the threshold: got %v", err)
	}
	if _, err := RepairSharePart3([]*RepairSigma{sigma, sigma, sigma}, mustID(t, 9), pub); !errors.Is(err, ErrUnknownParticipant) {
		t.Errorf("not a member: got %v", err)
	}
	if _, err := RepairSharePart3([]*RepairSigma{sigma, sigma, sigma}, ids[1], pub); !errors.Is(err, ErrRepairMismatch) {
		t.Errorf("zero share: got %v", err)
	}
}

// TestKeyChangeSecretsRedacted checks that the secret values of refresh,
// repair and reshare print redacted and zero.
func TestKeyChangeSecretsRedacted(t *testing.T) {
	d := &RepairDelta{secretScalar{s: *scalarOne}}
	s := &RepairSigma{secretScalar{s: *scalarOne}}
	r := &ReshareShare{secretScalar{s: *scalarOne}}
	f := &RefreshingShare{share: *scalarOne}
	for _, v := range []any{d, *d, s, *s, r, *r, f, *f} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			if out := fmt.Sprintf(verb, v); !bytes.Contains([]byte(out), []byte("REDACTED")) || bytes.Contains([]byte(out), []byte("01")) {
				t.Errorf("%s of %T printed %q", verb, v, out)
			}
		}
	}
	d.Zero()
	s.Zero()
	r.Zero()
	f.Zero()
	if !isZeroScalar(&d.s) || !isZeroScalar(&s.s) || !isZeroScalar(&r.s) || !isZeroScalar(&f.share) {
		t.Fatal("Zero left the secret")
	}
}

// repairVector is ../shared/vectors/repair-share.json from frost-ed25519.
type repairVector struct {
	ScalarGeneration map[string]string `json:"scalar_generation"`
	SigmaGeneration  map[string]string `json:"sigma_generation"`
}

// TestVectorRepairShare reproduces frost-core's check_repair_share_part2
// and check_repair_share_part3 with the published Ed25519 values: the sum of
// three deltas and the share recovered from four sigmas, byte for byte.
func TestVectorRepairShare(t *testing.T) {
	var v repairVector
	if err := json.Unmarshal(readVector(t, "repair-share.json"), &v); err != nil {
		t.Fatal(err)
	}
	scalarMsg := func(typ byte, h string) []byte {
		return append([]byte{Version, typ}, testkit.Unhex(t, h)...)
	}
	var deltas []*RepairDelta
	for _, k := range []string{"random_scalar_1", "random_scalar_2", "random_scalar_3"} {
		d := new(RepairDelta)
		if err := d.UnmarshalBinary(scalarMsg(typeRepairDelta, v.ScalarGeneration[k])); err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, d)
	}
	sigma, err := RepairSharePart2(deltas)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(mustMarshal(t, sigma)[2:]), v.ScalarGeneration["random_scalar_sum"]; got != want {
		t.Fatalf("part 2: sigma %s, want %s", got, want)
	}

	var sigmas []*RepairSigma
	for _, k := range []string{"sigma_1", "sigma_2", "sigma_3", "sigma_4"} {
		s := new(RepairSigma)
		if err := s.UnmarshalBinary(scalarMsg(typeRepairSigma, v.SigmaGeneration[k])); err != nil {
			t.Fatal(err)
		}
		sigmas = append(sigmas, s)
	}
	// A 3-of-5 public key package in which participant 2's verifying share
	// is the vector's expected share times G (frost-core uses a random
	// package and compares the scalar; part 3 here also checks the image).
	want := testkit.Unhex(t, v.SigmaGeneration["sigma_sum"])
	wantShare, err := NewSigningShare(want)
	if err != nil {
		t.Fatal(err)
	}
	ids := idsUpTo(t, 5)
	_, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	shares := map[Identifier]VerifyingShare{}
	for _, id := range ids {
		shares[id], _ = pub.VerifyingShare(id)
	}
	shares[ids[1]] = wantShare.VerifyingShare()
	vpub, err := NewPublicKeyPackage(pub.VerifyingKey(), shares, 3)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := RepairSharePart3(sigmas, ids[1], vpub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kp.SigningShare().Bytes(), want) {
		t.Fatalf("part 3: share %x, want %x", kp.SigningShare().Bytes(), want)
	}
	if _, err := RepairSharePart3(sigmas[:3], ids[1], vpub); !errors.Is(err, ErrRepairMismatch) {
		t.Fatalf("three of the four sigmas: got %v, want ErrRepairMismatch", err)
	}
}
