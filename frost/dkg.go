package frost

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"filippo.io/edwards25519"
)

// ErrInvalidCommitment reports a DKG round-1 commitment with the wrong number
// of coefficients (it must have exactly t).
var ErrInvalidCommitment = errors.New("frost: DKG commitment has the wrong number of coefficients")

// DKGRound1Package is what each participant broadcasts after DKGPart1: the
// commitment to its secret polynomial (t points, φ_0 … φ_{t-1}) and a Schnorr
// proof of knowledge of the constant term. It is compatible with frost-core's
// dkg::round1::Package.
type DKGRound1Package struct {
	commitment []element
	proofR     element
	proofZ     edwards25519.Scalar
}

// Commitment returns the encodings of the t commitment points.
func (p *DKGRound1Package) Commitment() [][]byte {
	out := make([][]byte, len(p.commitment))
	for i := range p.commitment {
		b := p.commitment[i].enc
		out[i] = b[:]
	}
	return out
}

// ProofOfKnowledge returns the 64-byte proof R || μ.
func (p *DKGRound1Package) ProofOfKnowledge() []byte {
	return append(append(make([]byte, 0, 64), p.proofR.enc[:]...), p.proofZ.Bytes()...)
}

// String describes the package.
func (p *DKGRound1Package) String() string {
	return fmt.Sprintf("frost.DKGRound1Package{t: %d}", len(p.commitment))
}

// MarshalBinary encodes the package: version, type, uint16 t, t points,
// proof R, proof μ.
func (p *DKGRound1Package) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+32*len(p.commitment)+64)
	b = appendHeader(b, typeDKGRound1Package)
	b = appendU16(b, len(p.commitment))
	for i := range p.commitment {
		b = append(b, p.commitment[i].enc[:]...)
	}
	b = append(b, p.proofR.enc[:]...)
	return appendScalar(b, &p.proofZ), nil
}

// UnmarshalBinary decodes a package strictly (2 ≤ t ≤ MaxParticipants, every
// point valid, canonical μ). It does not check the proof: use
// VerifyDKGRound1Package. On error p is left zero.
func (p *DKGRound1Package) UnmarshalBinary(data []byte) error {
	*p = DKGRound1Package{}
	d := newDecoder(data, typeDKGRound1Package)
	t := d.count(2, MaxParticipants, 32)
	com := make([]element, 0, t)
	for i := 0; i < t && d.err == nil; i++ {
		com = append(com, d.element())
	}
	r := d.element()
	z := d.scalar()
	if err := d.finish(); err != nil {
		return err
	}
	p.commitment, p.proofR, p.proofZ = com, r, z
	return nil
}

// DKGRound1Secret is what a participant keeps between DKGPart1 and DKGPart2:
// its secret polynomial. It never prints its secrets.
type DKGRound1Secret struct {
	identifier   Identifier
	coefficients []edwards25519.Scalar
	commitment   []element
	minSigners   int
	maxSigners   int
	refresh      bool // from RefreshDKGPart1: coefficients[0] is zero
}

// Zero overwrites the polynomial coefficients.
func (s *DKGRound1Secret) Zero() {
	for i := range s.coefficients {
		s.coefficients[i] = edwards25519.Scalar{}
	}
}

// String returns a redacted description.
func (s DKGRound1Secret) String() string {
	return fmt.Sprintf("frost.DKGRound1Secret{identifier: %v, coefficients: REDACTED, %d-of-%d}", s.identifier, s.minSigners, s.maxSigners)
}

// GoString returns the redacted description.
func (s DKGRound1Secret) GoString() string { return s.String() }

// Format prints the redacted description for every verb.
func (s DKGRound1Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// DKGRound2Package is the secret share f_i(ℓ) that participant i sends to
// participant ℓ after DKGPart2. The caller must send it confidentially and
// authenticated (ChusMe encrypts it with HPKE). It never prints its secret.
type DKGRound2Package struct {
	share edwards25519.Scalar
}

// Zero overwrites the share.
func (p *DKGRound2Package) Zero() { p.share = edwards25519.Scalar{} }

// String returns a redacted placeholder.
func (p DKGRound2Package) String() string { return "frost.DKGRound2Package{REDACTED}" }

// GoString returns a redacted placeholder.
func (p DKGRound2Package) GoString() string { return p.String() }

// Format prints a redacted placeholder for every verb.
func (p DKGRound2Package) Format(f fmt.State, _ rune) { redact(f, "frost.DKGRound2Package") }

// MarshalBinary encodes the package (secret!): version, type, share.
func (p *DKGRound2Package) MarshalBinary() ([]byte, error) {
	return appendScalar(appendHeader(make([]byte, 0, 34), typeDKGRound2Package), &p.share), nil
}

// UnmarshalBinary decodes a package (canonical scalar). On error p is left
// zero.
func (p *DKGRound2Package) UnmarshalBinary(data []byte) error {
	*p = DKGRound2Package{}
	d := newDecoder(data, typeDKGRound2Package)
	s := d.scalar()
	if err := d.finish(); err != nil {
		return err
	}
	p.share = s
	return nil
}

// DKGRound2Secret is what a participant keeps between DKGPart2 and DKGPart3:
// its own commitment and its share f_i(i) of its own polynomial. It never
// prints its secret.
type DKGRound2Secret struct {
	identifier  Identifier
	commitment  []element
	secretShare edwards25519.Scalar
	minSigners  int
	maxSigners  int
	refresh     bool // from RefreshDKGPart2: commitment[0] is the identity
}

// Zero overwrites the secret share.
func (s *DKGRound2Secret) Zero() { s.secretShare = edwards25519.Scalar{} }

// String returns a redacted description.
func (s DKGRound2Secret) String() string {
	return fmt.Sprintf("frost.DKGRound2Secret{identifier: %v, secretShare: REDACTED, %d-of-%d}", s.identifier, s.minSigners, s.maxSigners)
}

// GoString returns the redacted description.
func (s DKGRound2Secret) GoString() string { return s.String() }

// Format prints the redacted description for every verb.
func (s DKGRound2Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// DKGPart1 starts the Pedersen DKG with proofs of knowledge (FROST KeyGen,
// as in frost-core's dkg::part1) for participant id of an minSigners-of-
// maxSigners key. It draws a random polynomial of degree t-1 and returns the
// secret to keep and the package to broadcast. rand nil means crypto/rand.
func DKGPart1(rand io.Reader, id Identifier, maxSigners, minSigners int) (*DKGRound1Secret, *DKGRound1Package, error) {
	if err := checkParameters(minSigners, maxSigners); err != nil {
		return nil, nil, err
	}
	if id.IsZero() {
		return nil, nil, ErrInvalidIdentifier
	}
	coeffs := make([]edwards25519.Scalar, minSigners)
	for k := range coeffs {
		s, err := randomScalar(rand)
		if err != nil {
			return nil, nil, err
		}
		coeffs[k] = *s
	}
	k, err := randomScalar(rand)
	if err != nil {
		return nil, nil, err
	}
	defer k.Set(edwards25519.NewScalar())
	return dkgPart1With(id, coeffs, k, maxSigners)
}

// dkgPart1With is DKGPart1 with the coefficients and proof nonce given.
func dkgPart1With(id Identifier, coeffs []edwards25519.Scalar, k *edwards25519.Scalar, maxSigners int) (*DKGRound1Secret, *DKGRound1Package, error) {
	com, err := commitCoefficients(coeffs)
	if err != nil {
		return nil, nil, err
	}
	pkg := &DKGRound1Package{commitment: com}
	pkg.proofR = newElement(new(edwards25519.Point).ScalarBaseMult(k))
	c := dkgChallenge(id, &com[0], &pkg.proofR)
	pkg.proofZ.MultiplyAdd(&coeffs[0], c, k) // μ = k + a_0·c
	secret := &DKGRound1Secret{
		identifier:   id,
		coefficients: coeffs,
		commitment:   com,
		minSigners:   len(coeffs),
		maxSigners:   maxSigners,
	}
	return secret, pkg, nil
}

// commitCoefficients returns a_k·G for every coefficient, refusing a zero
// one (negligible for random coefficients).
func commitCoefficients(coeffs []edwards25519.Scalar) ([]element, error) {
	com := make([]element, len(coeffs))
	for i := range coeffs {
		p := new(edwards25519.Point).ScalarBaseMult(&coeffs[i])
		if p.Equal(identityPoint) == 1 {
			return nil, ErrInvalidScalar
		}
		com[i] = newElement(p)
	}
	return com, nil
}

// dkgChallenge is frost-core's proof-of-knowledge challenge:
// HDKG(identifier || φ_0 || R).
func dkgChallenge(id Identifier, phi0, r *element) *edwards25519.Scalar {
	return hdkg(id.b[:], phi0.enc[:], r.enc[:])
}

// VerifyDKGRound1Package checks the round-1 package broadcast by participant
// id for a key with threshold minSigners: the commitment has exactly t points
// and the proof of knowledge verifies. The coordinator calls it on every
// package it relays. Failures are a *CheaterError naming id and wrapping
// ErrInvalidCommitment or ErrInvalidProofOfKnowledge.
func VerifyDKGRound1Package(id Identifier, pkg *DKGRound1Package, minSigners int) error {
	if id.IsZero() {
		return ErrInvalidIdentifier
	}
	if pkg == nil || len(pkg.commitment) != minSigners {
		return &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidCommitment}
	}
	if !verifyProof(id, pkg) {
		return &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidProofOfKnowledge}
	}
	return nil
}

// verifyProof checks R == μ·G − c·φ_0.
func verifyProof(id Identifier, pkg *DKGRound1Package) bool {
	if len(pkg.commitment) == 0 || pkg.proofR.isZero() {
		return false
	}
	c := dkgChallenge(id, &pkg.commitment[0], &pkg.proofR)
	c.Negate(c)
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(c, &pkg.commitment[0].p, &pkg.proofZ)
	return r.Equal(&pkg.proofR.p) == 1
}

// checkRound1Set requires exactly the other n-1 participants' packages, each
// with t commitment points; wrong lengths are blamed on their senders.
func checkRound1Set(self Identifier, maxSigners, minSigners int, round1 map[Identifier]*DKGRound1Package) error {
	if len(round1) != maxSigners-1 {
		return fmt.Errorf("%w: want %d round-1 packages, got %d", ErrWrongParticipants, maxSigners-1, len(round1))
	}
	if _, ok := round1[self]; ok {
		return fmt.Errorf("%w: own round-1 package included", ErrWrongParticipants)
	}
	var bad []Identifier
	for id, p := range round1 {
		if id.IsZero() {
			return ErrInvalidIdentifier
		}
		if p == nil || len(p.commitment) != minSigners {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, Identifier.Compare)
		return &CheaterError{Identifiers: bad, Err: ErrInvalidCommitment}
	}
	return nil
}

// DKGPart2 verifies the other n-1 participants' round-1 packages (keyed by
// authenticated sender) and computes the secret share f_i(ℓ) for each of
// them, as frost-core's dkg::part2. Bad proofs of knowledge yield a
// *CheaterError naming every culprit. On success the round-1 secret is zeroed;
// keep the returned round-2 secret for DKGPart3 and send each round-2 package
// to the participant it is keyed by.
func DKGPart2(secret *DKGRound1Secret, round1 map[Identifier]*DKGRound1Package) (*DKGRound2Secret, map[Identifier]*DKGRound2Package, error) {
	if secret == nil || len(secret.coefficients) == 0 {
		return nil, nil, ErrInvalidScalar
	}
	if secret.refresh {
		return nil, nil, ErrWrongKind
	}
	if err := checkRound1Set(secret.identifier, secret.maxSigners, secret.minSigners, round1); err != nil {
		return nil, nil, err
	}
	var bad []Identifier
	for id, p := range round1 {
		if !verifyProof(id, p) {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, Identifier.Compare)
		return nil, nil, &CheaterError{Identifiers: bad, Err: ErrInvalidProofOfKnowledge}
	}
	r2, out := round2Shares(secret, mapKeys(round1))
	return r2, out, nil
}

// round2Shares evaluates the secret polynomial at every recipient and at the
// participant itself, then zeroes the round-1 secret.
func round2Shares(secret *DKGRound1Secret, recipients []Identifier) (*DKGRound2Secret, map[Identifier]*DKGRound2Package) {
	out := make(map[Identifier]*DKGRound2Package, len(recipients))
	for _, id := range recipients {
		out[id] = &DKGRound2Package{share: *evalPolynomial(secret.coefficients, id.scalar())}
	}
	r2 := &DKGRound2Secret{
		identifier:  secret.identifier,
		commitment:  slices.Clone(secret.commitment),
		secretShare: *evalPolynomial(secret.coefficients, secret.identifier.scalar()),
		minSigners:  secret.minSigners,
		maxSigners:  secret.maxSigners,
		refresh:     secret.refresh,
	}
	secret.Zero()
	return r2, out
}

// DKGPart3 finishes the DKG as frost-core's dkg::part3: it checks every
// received share f_ℓ(i) against its sender's commitment, sums them with its
// own share into the signing share, and derives the group key (the sum of the
// constant-term commitments) and every participant's verifying share from the
// summed commitments. round1 must be the packages given to DKGPart2 and
// round2 the shares received, both keyed by authenticated sender. Bad shares
// yield a *CheaterError wrapping ErrInvalidSecretShare naming every sender.
func DKGPart3(secret *DKGRound2Secret, round1 map[Identifier]*DKGRound1Package, round2 map[Identifier]*DKGRound2Package) (*KeyPackage, *PublicKeyPackage, error) {
	if secret == nil || len(secret.commitment) == 0 {
		return nil, nil, ErrInvalidScalar
	}
	if secret.refresh {
		return nil, nil, ErrWrongKind
	}
	sum, summed, err := dkgCombine(secret, round1, round2)
	if err != nil {
		return nil, nil, err
	}
	defer sum.Set(edwards25519.NewScalar())
	if summed[0].p.Equal(identityPoint) == 1 {
		return nil, nil, ErrInvalidElement
	}
	vk := VerifyingKey{e: newElement(&summed[0].p)}
	shares, err := verifyingShares(summed, append([]Identifier{secret.identifier}, mapKeys(round1)...), nil)
	if err != nil {
		return nil, nil, err
	}
	return finishKey(secret.identifier, sum, vk, secret.minSigners, shares)
}

// dkgCombine checks the round-1 and round-2 sets and every received share
// against its sender's commitment, and returns the signing share (the sum of
// the received shares and the own one) and the summed commitment
// C_k = Σ_ℓ φ_ℓk over all n participants.
func dkgCombine(secret *DKGRound2Secret, round1 map[Identifier]*DKGRound1Package, round2 map[Identifier]*DKGRound2Package) (*edwards25519.Scalar, []element, error) {
	if err := checkRound1Set(secret.identifier, secret.maxSigners, secret.minSigners, round1); err != nil {
		return nil, nil, err
	}
	if len(round2) != len(round1) {
		return nil, nil, fmt.Errorf("%w: want %d round-2 packages, got %d", ErrWrongParticipants, len(round1), len(round2))
	}
	coms := make(map[Identifier][]element, len(round1))
	shares := make(map[Identifier]*edwards25519.Scalar, len(round2))
	for id, p := range round2 {
		if _, ok := round1[id]; !ok || p == nil {
			return nil, nil, fmt.Errorf("%w: unexpected round-2 package from %v", ErrWrongParticipants, id)
		}
		coms[id], shares[id] = round1[id].commitment, &p.share
	}
	sum := new(edwards25519.Scalar).Set(&secret.secretShare)
	if bad := addVerifiedShares(sum, secret.identifier, shares, coms); len(bad) > 0 {
		sum.Set(edwards25519.NewScalar())
		return nil, nil, &CheaterError{Identifiers: bad, Err: ErrInvalidSecretShare}
	}
	all := append([][]element{secret.commitment}, slices.Collect(maps.Values(coms))...)
	return sum, sumCommitments(secret.minSigners, all), nil
}

// addVerifiedShares adds to sum every share that opens its sender's
// commitment at self (share·G = Σ_k self^k·C_k) and returns, sorted, the
// senders whose share does not. shares and commitments have the same keys.
func addVerifiedShares(sum *edwards25519.Scalar, self Identifier, shares map[Identifier]*edwards25519.Scalar, commitments map[Identifier][]element) []Identifier {
	var bad []Identifier
	for id, s := range shares {
		if !opens(commitments[id], self, s) {
			bad = append(bad, id)
			continue
		}
		sum.Add(sum, s)
	}
	slices.SortFunc(bad, Identifier.Compare)
	return bad
}

// opens reports whether s·G = Σ_k x^k·C_k for identifier x.
func opens(commitment []element, x Identifier, s *edwards25519.Scalar) bool {
	return evalCommitment(commitment, x.scalar()).Equal(new(edwards25519.Point).ScalarBaseMult(s)) == 1
}

// sumCommitments returns the coefficient-wise sum of commitments of t points
// each.
func sumCommitments(t int, commitments [][]element) []element {
	pts := make([]edwards25519.Point, t)
	for k := range pts {
		pts[k].Set(identityPoint)
	}
	for _, c := range commitments {
		for k := range pts {
			pts[k].Add(&pts[k], &c[k].p)
		}
	}
	summed := make([]element, t)
	for k := range pts {
		summed[k].p.Set(&pts[k])
	}
	return summed
}

// verifyingShares evaluates the summed commitment at every identifier, adding
// the identifier's verifying share in old if old is not nil (a refresh).
func verifyingShares(summed []element, ids []Identifier, old *PublicKeyPackage) (map[Identifier]VerifyingShare, error) {
	shares := make(map[Identifier]VerifyingShare, len(ids))
	for _, id := range ids {
		y := evalCommitment(summed, id.scalar())
		if old != nil {
			o, ok := old.shares[id]
			if !ok {
				return nil, fmt.Errorf("%w: %v is not in the old public key package", ErrUnknownParticipant, id)
			}
			y.Add(y, &o.e.p)
		}
		if y.Equal(identityPoint) == 1 {
			return nil, ErrInvalidElement
		}
		shares[id] = VerifyingShare{e: newElement(y)}
	}
	return shares, nil
}

// finishKey builds participant id's KeyPackage from its signing share and the
// PublicKeyPackage of threshold t, checking that the own verifying share in
// shares is the one the signing share gives.
func finishKey(id Identifier, sum *edwards25519.Scalar, vk VerifyingKey, t int, shares map[Identifier]VerifyingShare) (*KeyPackage, *PublicKeyPackage, error) {
	share := SigningShare{s: *sum}
	kp, err := NewKeyPackage(id, &share, vk, t)
	share.Zero()
	if err != nil {
		return nil, nil, err
	}
	if !kp.verifyingShare.Equal(shares[id]) {
		kp.Zero()
		return nil, nil, fmt.Errorf("%w: own verifying share inconsistent", ErrInvalidSecretShare)
	}
	pub, err := NewPublicKeyPackage(vk, shares, t)
	if err != nil {
		kp.Zero()
		return nil, nil, err
	}
	return kp, pub, nil
}

func mapKeys[V any](m map[Identifier]V) []Identifier {
	out := make([]Identifier, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}
