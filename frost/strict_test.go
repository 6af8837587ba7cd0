package frost

import (
	"bytes"
	"crypto/ed25519"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
)

// Non-canonical encodings of valid points (y ≥ p, or x = 0 with the sign bit).
var nonCanonicalPoints = []string{
	"0100000000000000000000000000000000000000000000000000000000000080", // -0 identity
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p, sign
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p-1, -0
}

func TestStrictElementDecoding(t *testing.T) {
	for _, h := range append(slices.Clone(testkit.SmallOrderPoints), nonCanonicalPoints...) {
		if _, err := NewVerifyingKey(testkit.Unhex(t, h)); !errors.Is(err, ErrInvalidElement) {
			t.Errorf("%s accepted (%v)", h, err)
		}
	}
	// Mixed order: a prime-order point plus each torsion point.
	b := edwards25519.NewGeneratorPoint()
	for _, h := range testkit.SmallOrderPoints[1:] {
		tp, err := new(edwards25519.Point).SetBytes(testkit.Unhex(t, h))
		if err != nil {
			t.Fatal(err)
		}
		mixed := new(edwards25519.Point).Add(b, tp).Bytes()
		if _, err := NewVerifyingShare(mixed); !errors.Is(err, ErrInvalidElement) {
			t.Errorf("mixed-order %x accepted (%v)", mixed, err)
		}
	}
	if _, err := NewVerifyingKey(b.Bytes()); err != nil {
		t.Errorf("generator refused: %v", err)
	}
	for _, l := range []int{0, 31, 33} {
		if _, err := NewVerifyingKey(make([]byte, l)); !errors.Is(err, ErrInvalidElement) {
			t.Errorf("%d-byte element accepted", l)
		}
	}
}

// TestElementDecodingMatchesReEncoding: decodeElement's byte-level canonical
// check accepts exactly what decoding, re-encoding and comparing accepts.
func TestElementDecodingMatchesReEncoding(t *testing.T) {
	reference := func(b []byte) bool {
		p, err := new(edwards25519.Point).SetBytes(b)
		return err == nil && bytes.Equal(p.Bytes(), b) && p.Equal(edwards25519.NewIdentityPoint()) == 0 && isTorsionFree(p)
	}
	var inputs [][]byte
	for _, h := range append(slices.Clone(testkit.SmallOrderPoints), nonCanonicalPoints...) {
		inputs = append(inputs, testkit.Unhex(t, h))
	}
	// Every y in [p-3, 2^255) with both signs, and random encodings.
	for i := 0xea; i <= 0xff; i++ {
		for _, top := range []byte{0x7f, 0xff} {
			b := bytes.Repeat([]byte{0xff}, 32)
			b[0], b[31] = byte(i), top
			inputs = append(inputs, b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		inputs = append(inputs, b)
		var s [64]byte
		for i := range s {
			s[i] = byte(r.Uint32())
		}
		k, _ := edwards25519.NewScalar().SetUniformBytes(s[:])
		inputs = append(inputs, new(edwards25519.Point).ScalarBaseMult(k).Bytes())
	}
	accepted := 0
	for _, b := range inputs {
		_, err := decodeElement(b)
		if want := reference(b); want != (err == nil) {
			t.Fatalf("%x: decodeElement err = %v, reference accepts: %v", b, err, want)
		}
		if err == nil {
			accepted++
		}
	}
	if accepted < 2000 {
		t.Fatalf("only %d inputs accepted; the comparison is not exercising valid points", accepted)
	}
}

// TestStrictElementCCTV checks the CCTV Ed25519 edge cases: a public key or R
// is accepted exactly when it is canonical and of prime order.
func TestStrictElementCCTV(t *testing.T) {
	raw := readVector(t, "cctv/ed25519vectors.json")
	var cases []struct {
		Number int      `json:"number"`
		Key    string   `json:"key"`
		Sig    string   `json:"sig"`
		Flags  []string `json:"flags"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, part := range []struct {
			enc    []byte
			suffix string
		}{{testkit.Unhex(t, c.Key), "A"}, {testkit.Unhex(t, c.Sig)[:32], "R"}} {
			bad := slices.Contains(c.Flags, "low_order_"+part.suffix) ||
				slices.Contains(c.Flags, "low_order_component_"+part.suffix) ||
				slices.Contains(c.Flags, "non_canonical_"+part.suffix)
			_, err := NewVerifyingKey(part.enc)
			if bad != (err != nil) {
				t.Errorf("case %d %s %x (flags %v): err = %v", c.Number, part.suffix, part.enc, c.Flags, err)
			}
		}
	}
}

func TestStrictScalarDecoding(t *testing.T) {
	for _, h := range []string{
		"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", // L
		"eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", // L+1
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	} {
		var s SignatureShare
		enc := append([]byte{Version, typeSignatureShare}, testkit.Unhex(t, h)...)
		if err := s.UnmarshalBinary(enc); !errors.Is(err, ErrInvalidScalar) {
			t.Errorf("scalar %s accepted (%v)", h, err)
		}
		if _, err := IdentifierFromBytes(testkit.Unhex(t, h)); !errors.Is(err, ErrInvalidIdentifier) {
			t.Errorf("identifier %s accepted", h)
		}
		if _, err := NewSigningShare(testkit.Unhex(t, h)); err == nil {
			t.Errorf("signing share %s accepted", h)
		}
	}
	if _, err := IdentifierFromBytes(make([]byte, 32)); !errors.Is(err, ErrInvalidIdentifier) {
		t.Error("zero identifier accepted")
	}
}

func TestDeriveIdentifier(t *testing.T) {
	fp := []byte(strings.Repeat("ab", 32))
	id, err := DeriveIdentifier(fp)
	if err != nil {
		t.Fatal(err)
	}
	want := hashToScalar([]byte("FROST-ED25519-SHA512-v1id"), fp)
	if !bytes.Equal(id.Bytes(), want.Bytes()) {
		t.Fatal("DeriveIdentifier is not H(contextString || \"id\" || m) mod L")
	}
	id2, _ := DeriveIdentifier(fp)
	if id != id2 {
		t.Fatal("DeriveIdentifier not deterministic")
	}
	one := mustID(t, 1)
	if one.String() != "1" || mustID(t, 257).String() != "257" || id.String() != hex.EncodeToString(id.Bytes()) {
		t.Fatalf("String: %v %v %v", one, mustID(t, 257), id)
	}
	if mustID(t, 256).Compare(mustID(t, 255)) != 1 || one.Compare(one) != 0 || one.Compare(mustID(t, 2)) != -1 {
		t.Fatal("Compare does not order by integer value")
	}
}

func TestSecretsRedacted(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, _, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	kp := kps[ids[0]]
	share := kp.SigningShare()
	secretHex := hex.EncodeToString(share.Bytes())
	nonces, _, _ := Commit(nil, kp)
	nonceHex := hex.EncodeToString(nonces.st.hiding.Bytes())
	s1, r1, _ := DKGPart1(nil, ids[0], 3, 2)
	coefHex := hex.EncodeToString(s1.coefficients[0].Bytes())
	_, r2, _ := DKGPart1(nil, ids[1], 3, 2)
	_, r3, _ := DKGPart1(nil, ids[2], 3, 2)
	_ = r1
	s2, out, err := DKGPart2(s1, map[Identifier]*DKGRound1Package{ids[1]: r2, ids[2]: r3})
	if err != nil {
		t.Fatal(err)
	}
	r2pkg := out[ids[1]]
	r2Hex := hex.EncodeToString(r2pkg.share.Bytes())
	ownHex := hex.EncodeToString(s2.secretShare.Bytes())
	values := []any{share, *share, kp, *kp, nonces, *nonces, s1, *s1, s2, *s2, r2pkg, *r2pkg,
		struct{ K KeyPackage }{*kp}, []*KeyPackage{kp}, map[string]*SigningShare{"x": share}}
	secrets := []string{secretHex, nonceHex, coefHex, r2Hex, ownHex}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range secrets {
				if strings.Contains(strings.ToLower(out), sec) {
					t.Errorf("%T printed with %s leaks a secret: %s", v, verb, out)
				}
			}
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("%T printed with %s: %q, want a redacted form", v, verb, out)
			}
		}
	}
	for _, z := range []interface{ Zero() }{share, kp, s2, r2pkg} {
		z.Zero()
	}
	if !isZeroScalar(&share.s) || !isZeroScalar(&kp.signingShare.s) || !isZeroScalar(&s2.secretShare) || !isZeroScalar(&r2pkg.share) {
		t.Error("Zero left a secret behind")
	}
	for _, c := range s1.coefficients {
		if !isZeroScalar(&c) {
			t.Error("DKGPart2 did not zero the round-1 secret")
		}
	}
}

type codec interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// sampleEncodings returns one valid encoding of every message type, keyed by
// a constructor of an empty value.
func sampleEncodings(t testing.TB) map[string][]byte {
	ids := idsUpTo(t, 3)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	pkg, shares := signSession(t, kps, ids[:2], []byte("encode me"))
	_, r1, _ := DKGPart1(nil, ids[0], 3, 2)
	s1, _, _ := DKGPart1(nil, ids[1], 3, 2)
	_, r1b, _ := DKGPart1(nil, ids[2], 3, 2)
	s1Bytes, err := s1.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s2, out, err := DKGPart2(s1, map[Identifier]*DKGRound1Package{ids[0]: r1, ids[2]: r1b})
	if err != nil {
		t.Fatal(err)
	}
	nonces, _, err := Commit(nil, kps[ids[0]])
	if err != nil {
		t.Fatal(err)
	}
	c, _ := pkg.Commitments(ids[0])
	m := map[string][]byte{"DKGRound1Secret": s1Bytes}
	for name, v := range map[string]encoding.BinaryMarshaler{
		"SigningCommitments": c, "SigningPackage": pkg, "SignatureShare": shares[ids[0]],
		"DKGRound1Package": r1, "DKGRound2Package": out[ids[0]], "KeyPackage": kps[ids[0]],
		"PublicKeyPackage": pub, "DKGRound2Secret": s2, "SigningNonces": nonces,
	} {
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		m[name] = b
	}
	maps.Copy(m, keyChangeEncodings(t))
	return m
}

func newCodec(name string) codec {
	switch name {
	case "SigningCommitments":
		return new(SigningCommitments)
	case "SigningPackage":
		return new(SigningPackage)
	case "SignatureShare":
		return new(SignatureShare)
	case "DKGRound1Package":
		return new(DKGRound1Package)
	case "DKGRound2Package":
		return new(DKGRound2Package)
	case "KeyPackage":
		return new(KeyPackage)
	case "PublicKeyPackage":
		return new(PublicKeyPackage)
	case "DKGRound1Secret":
		return new(DKGRound1Secret)
	case "DKGRound2Secret":
		return new(DKGRound2Secret)
	case "SigningNonces":
		return new(SigningNonces)
	case "RefreshingShare":
		return new(RefreshingShare)
	case "RefreshRound1Package":
		return new(RefreshRound1Package)
	case "RefreshRound1Secret":
		return new(DKGRound1Secret)
	case "RefreshRound2Secret":
		return new(DKGRound2Secret)
	case "RepairDelta":
		return new(RepairDelta)
	case "RepairSigma":
		return new(RepairSigma)
	case "ReshareCommitment":
		return new(ReshareCommitment)
	case "RepairCommitment":
		return new(RepairCommitment)
	case "ReshareShare":
		return new(ReshareShare)
	}
	panic(name)
}

func TestEncodings(t *testing.T) {
	for name, enc := range sampleEncodings(t) {
		v := newCodec(name)
		if err := v.UnmarshalBinary(enc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, _ := v.MarshalBinary()
		if !bytes.Equal(again, enc) {
			t.Fatalf("%s does not round-trip", name)
		}
		bad := map[string][]byte{
			"empty":     {},
			"truncated": enc[:len(enc)-1],
			"trailing":  append(slices.Clone(enc), 0),
			"version":   append([]byte{Version + 1}, enc[1:]...),
			"type":      append([]byte{Version, enc[1] + 1}, enc[2:]...),
		}
		for what, b := range bad {
			v := newCodec(name)
			if err := v.UnmarshalBinary(b); err == nil {
				t.Errorf("%s: %s encoding accepted", name, what)
			}
			if !reflect.ValueOf(v).Elem().IsZero() {
				t.Errorf("%s: %s encoding left a non-zero value", name, what)
			}
		}
	}
}

func TestEncodingRefusesBadElements(t *testing.T) {
	enc := sampleEncodings(t)["SigningCommitments"]
	for _, h := range append(slices.Clone(testkit.SmallOrderPoints), nonCanonicalPoints...) {
		b := append(slices.Clone(enc[:2]), testkit.Unhex(t, h)...)
		b = append(b, enc[34:]...)
		var c SigningCommitments
		if err := c.UnmarshalBinary(b); !errors.Is(err, ErrInvalidElement) {
			t.Errorf("commitment %s accepted (%v)", h, err)
		}
	}
	// Unsorted or duplicated identifiers in a signing package.
	p := sampleEncodings(t)["SigningPackage"]
	swapped := slices.Clone(p)
	copy(swapped[4:4+96], p[4+96:4+192])
	copy(swapped[4+96:4+192], p[4:4+96])
	dup := slices.Clone(p)
	copy(dup[4+96:4+192], p[4:4+96])
	for what, b := range map[string][]byte{"unsorted": swapped, "duplicate": dup} {
		var sp SigningPackage
		if err := sp.UnmarshalBinary(b); err == nil {
			t.Errorf("%s signing package accepted", what)
		}
	}
	// A key package whose verifying share does not match its signing share.
	k := slices.Clone(sampleEncodings(t)["KeyPackage"])
	copy(k[2+64:2+96], edwards25519.NewGeneratorPoint().Bytes())
	var kp KeyPackage
	if err := kp.UnmarshalBinary(k); err == nil {
		t.Error("inconsistent key package accepted")
	}
}

// TestSigningPackageWithOwn: taking the signer's own commitment from Commit
// gives the package UnmarshalBinary gives, and skips no check of the others.
func TestSigningPackageWithOwn(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("own commitment")
	nonces := map[Identifier]*SigningNonces{}
	coms := map[Identifier]*SigningCommitments{}
	for _, id := range ids[:2] {
		if nonces[id], coms[id], err = Commit(nil, kps[id]); err != nil {
			t.Fatal(err)
		}
	}
	pkg, err := NewSigningPackage(coms, msg)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := pkg.MarshalBinary()
	var plain, withOwn, notIn SigningPackage
	if err := plain.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if err := withOwn.UnmarshalBinaryWithOwn(enc, coms[ids[0]]); err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := Commit(nil, kps[ids[2]])
	if err := notIn.UnmarshalBinaryWithOwn(enc, stranger); err != nil {
		t.Fatal(err)
	}
	for _, got := range []*SigningPackage{&withOwn, &notIn} {
		if b, _ := got.MarshalBinary(); !bytes.Equal(b, enc) {
			t.Fatal("UnmarshalBinaryWithOwn decoded another package")
		}
	}
	// The same points, not only the same bytes: a signature over the
	// package decoded with own verifies.
	shares := map[Identifier]*SignatureShare{}
	for _, id := range ids[:2] {
		if shares[id], err = Sign(&withOwn, nonces[id], kps[id]); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := Aggregate(&withOwn, shares, pub, VerifyShares)
	if err != nil || !ed25519.Verify(pub.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatalf("signature from the package decoded with own: %v", err)
	}
	// The other signer's commitment replaced by a bad element: refused
	// though the own one is given.
	i := bytes.Index(enc, coms[ids[1]].Hiding()) // the other signer's hiding commitment
	if i < 0 {
		t.Fatal("the other signer's commitment is not in the package")
	}
	for _, h := range append(slices.Clone(testkit.SmallOrderPoints), nonCanonicalPoints...) {
		bad := slices.Clone(enc)
		copy(bad[i:i+32], testkit.Unhex(t, h))
		var sp SigningPackage
		if err := sp.UnmarshalBinaryWithOwn(bad, coms[ids[0]]); !errors.Is(err, ErrInvalidElement) {
			t.Fatalf("bad element %s accepted with own (%v)", h, err)
		}
	}
}

// timesL computes [L]p by the definition, independently of isTorsionFree:
// L = 2^252 + δ, with [2^252]p as 84 multiplications by the cofactor 8 and
// [δ]p by the constant-time ScalarMult (δ < 2^125 is a canonical scalar).
func timesL(t *testing.T, p *edwards25519.Point) *edwards25519.Point {
	t.Helper()
	var delta [32]byte // 27742317777372353535851937790883648493, little-endian
	copy(delta[:], testkit.Unhex(t, "edd3f55c1a631258d69cf7a2def9de14"))
	d, err := new(edwards25519.Scalar).SetCanonicalBytes(delta[:])
	if err != nil {
		t.Fatal(err)
	}
	hi := new(edwards25519.Point).Set(p)
	for range 252 / 3 {
		hi.MultByCofactor(hi)
	}
	lo := new(edwards25519.Point).ScalarMult(d, p)
	return hi.Add(hi, lo)
}

// TestTorsionCheckMatchesDefinition compares isTorsionFree with [L]P == 0 on
// torsion-free points, on every small-order point, on every prime-order
// point plus torsion combination of a few random points, and on random
// curve points (7 in 8 of which have a torsion component).
func TestTorsionCheckMatchesDefinition(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{'t', 'o', 'r', 's', 'i', 'o', 'n'})
	random := func() *edwards25519.Point {
		var b [64]byte
		rng.Read(b[:])
		s, _ := new(edwards25519.Scalar).SetUniformBytes(b[:])
		return new(edwards25519.Point).ScalarBaseMult(s)
	}
	var points []*edwards25519.Point
	var torsion []*edwards25519.Point
	for _, h := range testkit.SmallOrderPoints {
		p, err := new(edwards25519.Point).SetBytes(testkit.Unhex(t, h))
		if err != nil {
			t.Fatal(err)
		}
		torsion = append(torsion, p)
	}
	points = append(points, torsion...)
	points = append(points, edwards25519.NewGeneratorPoint())
	for range 8 {
		p := random()
		for _, tp := range torsion {
			points = append(points, new(edwards25519.Point).Add(p, tp))
		}
	}
	for len(points) < 256 {
		var b [32]byte
		rng.Read(b[:])
		if p, err := new(edwards25519.Point).SetBytes(b[:]); err == nil {
			points = append(points, p)
		}
	}
	var free, notFree int
	for _, p := range points {
		want := timesL(t, p).Equal(edwards25519.NewIdentityPoint()) == 1
		if got := isTorsionFree(p); got != want {
			t.Errorf("isTorsionFree(%x) = %v, [L]P == 0 is %v", p.Bytes(), got, want)
		}
		if want {
			free++
		} else {
			notFree++
		}
	}
	if free < 16 || notFree < 16 {
		t.Fatalf("too few cases of a kind: %d torsion-free, %d not", free, notFree)
	}
}
