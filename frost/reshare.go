package frost

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/edwards25519"
)

// ErrInvalidReshareCommitment reports a reshare dealer's commitment that
// does not have t′ points, or whose constant term is not λ_i·Y_i: the
// dealer would not be dealing its own share of the group secret.
var ErrInvalidReshareCommitment = errors.New("frost: reshare commitment does not commit to the dealer's share")

// ReshareParams fixes a reshare up front; every dealer, every new holder and
// the coordinator must use the same values (the order of the identifiers
// does not matter).
type ReshareParams struct {
	// Dealers are the old holders who deal: at least the old threshold t of
	// them, all members of the old key, distinct.
	Dealers []Identifier
	// NewIdentifiers are the n′ holders of the new key, distinct and
	// non-zero; they may include old holders or not.
	NewIdentifiers []Identifier
	// NewMinSigners is the new threshold t′, 2 ≤ t′ ≤ n′ ≤ MaxParticipants.
	NewMinSigners int
}

// dealers checks p for a key of threshold oldMin (and, if old is not nil,
// that every dealer is a member of old) and returns the dealers sorted.
func (p ReshareParams) dealers(oldMin int, old *PublicKeyPackage) ([]Identifier, error) {
	if err := checkIdentifiers(p.NewIdentifiers, p.NewMinSigners); err != nil {
		return nil, fmt.Errorf("reshare, new holders: %w", err)
	}
	if err := checkIdentifiers(p.Dealers, oldMin); err != nil {
		return nil, fmt.Errorf("reshare, dealers (at least the old threshold %d): %w", oldMin, err)
	}
	for _, id := range p.Dealers {
		if old == nil {
			break
		}
		if _, ok := old.shares[id]; !ok {
			return nil, fmt.Errorf("%w: dealer %v is not a holder of the old key", ErrUnknownParticipant, id)
		}
	}
	return slices.SortedFunc(slices.Values(p.Dealers), Identifier.Compare), nil
}

// ReshareCommitment is what a reshare dealer i broadcasts: the Feldman
// commitment C_{i,k} = g_{i,k}·G (k = 0 … t′-1) to its polynomial g_i, with
// C_{i,0} = λ_i·s_i·G. It is public.
type ReshareCommitment struct {
	commitment []element
}

// String describes the commitment.
func (c *ReshareCommitment) String() string {
	return fmt.Sprintf("frost.ReshareCommitment{t: %d}", len(c.commitment))
}

// MarshalBinary encodes the commitment: version, type, uint16 t′, the t′
// points.
func (c *ReshareCommitment) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+32*len(c.commitment))
	return appendPoints(appendHeader(b, typeReshareCommitment), c.commitment), nil
}

// UnmarshalBinary decodes a commitment strictly (2 ≤ t′ ≤ MaxParticipants,
// every point valid). VerifyReshareCommitment checks it against the old key.
// On error c is left zero.
func (c *ReshareCommitment) UnmarshalBinary(data []byte) error {
	*c = ReshareCommitment{}
	d := newDecoder(data, typeReshareCommitment)
	com := d.points(2, MaxParticipants)
	if err := d.finish(); err != nil {
		return err
	}
	c.commitment = com
	return nil
}

// ReshareShare is the value g_i(j) that reshare dealer i sends new holder j.
// It is secret: the caller sends it confidentially and authenticated. It
// never prints its value; Zero overwrites it.
type ReshareShare struct{ secretScalar }

// String returns a redacted placeholder.
func (s ReshareShare) String() string { return "frost.ReshareShare{REDACTED}" }

// GoString returns a redacted placeholder.
func (s ReshareShare) GoString() string { return s.String() }

// Format prints a redacted placeholder for every verb.
func (s ReshareShare) Format(f fmt.State, _ rune) { redact(f, "frost.ReshareShare") }

// MarshalBinary encodes the share (secret!): version, type, scalar.
func (s *ReshareShare) MarshalBinary() ([]byte, error) { return s.marshal(typeReshareShare) }

// UnmarshalBinary decodes a share (canonical scalar). On error s is left
// zero.
func (s *ReshareShare) UnmarshalBinary(data []byte) error {
	return s.unmarshal(data, typeReshareShare)
}

// ReshareDeal is dealer i's step of a reshare (verifiable secret
// redistribution, see the package documentation): with w_i = λ_i·s_i (λ_i
// its Lagrange coefficient over p.Dealers) it draws a random polynomial g_i
// of degree t′-1 with g_i(0) = w_i, and returns the commitment to broadcast
// and the share g_i(j) for each new holder j, keyed by j (its own too if it
// is a new holder). kp must be one of the dealers' key packages. rand nil
// means crypto/rand.
func ReshareDeal(rand io.Reader, kp *KeyPackage, p ReshareParams) (*ReshareCommitment, map[Identifier]*ReshareShare, error) {
	if kp == nil {
		return nil, nil, ErrInvalidParameters
	}
	dealers, err := p.dealers(kp.minSigners, nil)
	if err != nil {
		return nil, nil, err
	}
	i, found := slices.BinarySearchFunc(dealers, kp.identifier, Identifier.Compare)
	if !found {
		return nil, nil, fmt.Errorf("%w: %v is not a dealer", ErrUnknownParticipant, kp.identifier)
	}
	coeffs := make([]edwards25519.Scalar, p.NewMinSigners)
	defer clear(coeffs)
	coeffs[0].Multiply(lagrange(dealers, i), &kp.signingShare.s)
	if err := randomScalars(rand, coeffs[1:]); err != nil {
		return nil, nil, err
	}
	com, err := commitCoefficients(coeffs)
	if err != nil {
		return nil, nil, err
	}
	shares := make(map[Identifier]*ReshareShare, len(p.NewIdentifiers))
	for _, j := range p.NewIdentifiers {
		shares[j] = &ReshareShare{secretScalar{s: *evalPolynomial(coeffs, j.scalar())}}
	}
	return &ReshareCommitment{commitment: com}, shares, nil
}

// commitmentPinned reports whether c has t points and C_0 = λ·Y.
func commitmentPinned(c *ReshareCommitment, t int, lambda *edwards25519.Scalar, y VerifyingShare) bool {
	if len(c.commitment) != t {
		return false
	}
	want := new(edwards25519.Point).ScalarMult(lambda, &y.e.p)
	return want.Equal(&c.commitment[0].p) == 1
}

// VerifyReshareCommitment checks, without secrets, the commitment broadcast
// by dealer for the reshare p of the key oldPub: p is valid, dealer is one of
// p.Dealers, and the commitment has t′ points with C_0 = λ_i·Y_i (Y_i the
// dealer's verifying share in oldPub). The coordinator runs it on every
// commitment it relays. A bad commitment is a *CheaterError naming dealer
// and wrapping ErrInvalidReshareCommitment.
func VerifyReshareCommitment(oldPub *PublicKeyPackage, p ReshareParams, dealer Identifier, c *ReshareCommitment) error {
	if oldPub == nil {
		return ErrInvalidParameters
	}
	dealers, err := p.dealers(oldPub.minSigners, oldPub)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(dealers, dealer, Identifier.Compare)
	if !found {
		return fmt.Errorf("%w: %v is not a dealer", ErrUnknownParticipant, dealer)
	}
	if c == nil || !commitmentPinned(c, p.NewMinSigners, lagrange(dealers, i), oldPub.shares[dealer]) {
		return &CheaterError{Identifiers: []Identifier{dealer}, Err: ErrInvalidReshareCommitment}
	}
	return nil
}

// ReshareReceive is new holder self's step of the reshare p of the key
// oldPub: given every dealer's commitment and the share it sent self, both
// keyed by authenticated dealer, it checks each commitment as
// VerifyReshareCommitment does (a *CheaterError wrapping
// ErrInvalidReshareCommitment names every bad dealer) and each share
// against its commitment (a *CheaterError wrapping ErrInvalidSecretShare
// names every bad dealer). It then returns its new KeyPackage
// (s′ = Σ_i g_i(self), threshold t′) and the new PublicKeyPackage: the same
// group key, a verifying share for each of the n′ new holders, derived from
// the summed commitments. The caller must make sure that every new holder
// received the same commitments, for example by comparing the new
// PublicKeyPackage in signed confirmations, before anyone relies on the new
// key or deletes an old share.
func ReshareReceive(self Identifier, oldPub *PublicKeyPackage, p ReshareParams, commitments map[Identifier]*ReshareCommitment, shares map[Identifier]*ReshareShare) (*KeyPackage, *PublicKeyPackage, error) {
	if oldPub == nil {
		return nil, nil, ErrInvalidParameters
	}
	dealers, err := p.dealers(oldPub.minSigners, oldPub)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(p.NewIdentifiers, self) {
		return nil, nil, fmt.Errorf("%w: %v is not a new holder", ErrUnknownParticipant, self)
	}
	if len(commitments) != len(dealers) || len(shares) != len(dealers) {
		return nil, nil, fmt.Errorf("%w: want a commitment and a share from each of %d dealers, got %d and %d",
			ErrWrongParticipants, len(dealers), len(commitments), len(shares))
	}
	coms := make(map[Identifier][]element, len(dealers))
	vals := make(map[Identifier]*edwards25519.Scalar, len(dealers))
	all := make([][]element, 0, len(dealers))
	var bad []Identifier
	for i, lambda := range lagrangeAll(dealers) {
		d := dealers[i]
		c, s := commitments[d], shares[d]
		if c == nil || s == nil {
			return nil, nil, fmt.Errorf("%w: nothing from dealer %v", ErrWrongParticipants, d)
		}
		if !commitmentPinned(c, p.NewMinSigners, &lambda, oldPub.shares[d]) {
			bad = append(bad, d)
		}
		coms[d], vals[d] = c.commitment, &s.s
		all = append(all, c.commitment)
	}
	if len(bad) > 0 {
		return nil, nil, &CheaterError{Identifiers: bad, Err: ErrInvalidReshareCommitment}
	}
	sum := edwards25519.NewScalar()
	defer sum.Set(edwards25519.NewScalar())
	if bad := addVerifiedShares(sum, self, vals, coms); len(bad) > 0 {
		return nil, nil, &CheaterError{Identifiers: bad, Err: ErrInvalidSecretShare}
	}
	summed := sumCommitments(p.NewMinSigners, all)
	if summed[0].p.Equal(&oldPub.verifyingKey.e.p) != 1 {
		// Only an old PublicKeyPackage whose verifying shares are not
		// shares of its group key gets here.
		return nil, nil, fmt.Errorf("%w: the dealt constant terms do not add up to the group key", ErrInvalidReshareCommitment)
	}
	newShares, err := verifyingShares(summed, p.NewIdentifiers, nil)
	if err != nil {
		return nil, nil, err
	}
	return finishKey(self, sum, oldPub.verifyingKey, p.NewMinSigners, newShares)
}
