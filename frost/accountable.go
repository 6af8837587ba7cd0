package frost

import (
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
)

// Accountable secrets: the checks a coordinator runs when a recipient
// reveals one secret it was sent (a complaint), so that the sender of a bad
// share, delta or sigma is named from public values alone, without trusting
// the recipient. Each is the check the recipient's own step makes on that
// one value, against the sender's public Feldman commitment (Feldman, "A
// Practical Scheme for Non-interactive Verifiable Secret Sharing", FOCS
// 1987): a revealed value that opens the commitment was good, one that does
// not was bad. That the sender sent that value is the caller's to show (the
// sender's signature over it).

// ErrInvalidRepairCommitment reports a repair helper's commitment to its
// deltas that does not have one point per helper or does not add up to
// ζ_i·Y_i, the helper's part of the lost share.
var ErrInvalidRepairCommitment = errors.New("frost: invalid repair commitment")

// VerifyDKGShare checks the share a DKG participant sent recipient in round
// 2 against that sender's round-1 package: share·G = Σ_k recipient^k·φ_k.
// A share that does not open it is ErrInvalidSecretShare.
func VerifyDKGShare(round1 *DKGRound1Package, recipient Identifier, share *DKGRound2Package) error {
	if round1 == nil || share == nil || recipient.IsZero() {
		return ErrInvalidParameters
	}
	return openOrBad(round1.commitment, recipient, &share.share)
}

// VerifyRefreshShare checks the share a DKG refresh participant sent
// recipient in round 2 against that sender's RefreshRound1Package (whose
// constant term is zero). A share that does not open it is
// ErrInvalidSecretShare.
func VerifyRefreshShare(round1 *RefreshRound1Package, recipient Identifier, share *DKGRound2Package) error {
	if round1 == nil || share == nil || recipient.IsZero() {
		return ErrInvalidParameters
	}
	return openOrBad(withZeroConstant(round1.commitment), recipient, &share.share)
}

// VerifyReshareShare checks the share a reshare dealer sent new holder
// recipient against the dealer's commitment: share·G = Σ_k recipient^k·C_k.
// A share that does not open it is ErrInvalidSecretShare.
func VerifyReshareShare(c *ReshareCommitment, recipient Identifier, share *ReshareShare) error {
	if c == nil || share == nil || recipient.IsZero() {
		return ErrInvalidParameters
	}
	return openOrBad(c.commitment, recipient, &share.s)
}

func openOrBad(commitment []element, x Identifier, s *edwards25519.Scalar) error {
	if !opens(commitment, x, s) {
		return ErrInvalidSecretShare
	}
	return nil
}

// RepairCommitment is what repair helper i broadcasts before it sends its
// deltas: D_{i,j} = δ_{i,j}·G for every helper j, in the helpers'
// identifier order. It is public. Σ_j D_{i,j} = ζ_i·Y_i (ζ_i the helper's
// Lagrange coefficient at the lost identifier, Y_i its verifying share), so
// a coordinator checks it without secrets (VerifyRepairCommitment); each
// helper j checks the delta it received against D_{i,j}
// (VerifyRepairDelta), and the repaired participant each sigma σ_j against
// Σ_i D_{i,j} (VerifyRepairSigma). Frost-core's repair has no commitments:
// they are what lets the coordinator name the helper that sent a bad delta
// or sigma instead of only failing (ErrRepairMismatch).
type RepairCommitment struct {
	points []element
}

// String describes the commitment.
func (c *RepairCommitment) String() string {
	return fmt.Sprintf("frost.RepairCommitment{helpers: %d}", len(c.points))
}

// MarshalBinary encodes the commitment: version, type, uint16 number of
// helpers, the points.
func (c *RepairCommitment) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+32*len(c.points))
	return appendPoints(appendHeader(b, typeRepairCommitment), c.points), nil
}

// UnmarshalBinary decodes a commitment strictly (2 to MaxParticipants
// points, every point valid). On error c is left zero.
func (c *RepairCommitment) UnmarshalBinary(data []byte) error {
	*c = RepairCommitment{}
	d := newDecoder(data, typeRepairCommitment)
	pts := d.points(2, MaxParticipants)
	if err := d.finish(); err != nil {
		return err
	}
	c.points = pts
	return nil
}

// CommitRepairDeltas returns the commitment to deltas, as
// RepairSharePart1 returned them (one per helper, keyed by helper).
func CommitRepairDeltas(deltas map[Identifier]*RepairDelta) (*RepairCommitment, error) {
	if len(deltas) < 2 {
		return nil, fmt.Errorf("%w: %d deltas", ErrWrongParticipants, len(deltas))
	}
	c := &RepairCommitment{points: make([]element, 0, len(deltas))}
	ids := mapKeys(deltas)
	slices.SortFunc(ids, Identifier.Compare)
	for _, id := range ids {
		d := deltas[id]
		if d == nil {
			return nil, ErrInvalidParameters
		}
		c.points = append(c.points, newElement(new(edwards25519.Point).ScalarBaseMult(&d.s)))
	}
	return c, nil
}

// repairPosition sorts helpers, checks that c has one point per helper and
// returns the position of who among them.
func repairPosition(helpers []Identifier, who Identifier, c *RepairCommitment) ([]Identifier, int, error) {
	sorted := slices.SortedFunc(slices.Values(helpers), Identifier.Compare)
	j, found := slices.BinarySearchFunc(sorted, who, Identifier.Compare)
	if !found {
		return nil, 0, fmt.Errorf("%w: %v is not a helper", ErrUnknownParticipant, who)
	}
	if c == nil || len(c.points) != len(sorted) {
		return nil, 0, ErrInvalidRepairCommitment
	}
	return sorted, j, nil
}

// VerifyRepairCommitment checks, without secrets, the commitment broadcast
// by helper for the repair of lost's share of the key pub by helpers (at
// least t, lost not among them): one point per helper, adding up to
// ζ_helper·Y_helper. A bad commitment is a *CheaterError naming helper and
// wrapping ErrInvalidRepairCommitment.
func VerifyRepairCommitment(pub *PublicKeyPackage, helpers []Identifier, lost, helper Identifier, c *RepairCommitment) error {
	if pub == nil || lost.IsZero() {
		return ErrInvalidParameters
	}
	if err := checkIdentifiers(helpers, pub.minSigners); err != nil {
		return fmt.Errorf("repair helpers: %w", err)
	}
	if slices.Contains(helpers, lost) {
		return fmt.Errorf("%w: %v cannot help repair its own share", ErrWrongParticipants, lost)
	}
	y, ok := pub.shares[helper]
	if !ok {
		return fmt.Errorf("%w: %v", ErrUnknownParticipant, helper)
	}
	sorted, i, err := repairPosition(helpers, helper, c)
	if err != nil {
		return &CheaterError{Identifiers: []Identifier{helper}, Err: ErrInvalidRepairCommitment}
	}
	sum := new(edwards25519.Point).Set(identityPoint)
	for k := range c.points {
		sum.Add(sum, &c.points[k].p)
	}
	want := new(edwards25519.Point).ScalarMult(lagrangeAt(sorted, i, lost.scalar()), &y.e.p)
	if want.Equal(sum) != 1 {
		return &CheaterError{Identifiers: []Identifier{helper}, Err: ErrInvalidRepairCommitment}
	}
	return nil
}

// VerifyRepairDelta checks the delta a helper sent recipient (another
// helper of helpers) against the sender's commitment c: δ·G = D_{sender,
// recipient}. A delta that does not open it is ErrInvalidSecretShare.
func VerifyRepairDelta(c *RepairCommitment, helpers []Identifier, recipient Identifier, d *RepairDelta) error {
	if d == nil {
		return ErrInvalidParameters
	}
	_, j, err := repairPosition(helpers, recipient, c)
	if err != nil {
		return err
	}
	if new(edwards25519.Point).ScalarBaseMult(&d.s).Equal(&c.points[j].p) != 1 {
		return ErrInvalidSecretShare
	}
	return nil
}

// VerifyRepairSigma checks the sigma helper sent the repaired participant
// against every helper's commitment (commitments keyed by helper):
// σ·G = Σ_i D_{i,helper}. A sigma that does not open them is
// ErrInvalidSecretShare.
func VerifyRepairSigma(commitments map[Identifier]*RepairCommitment, helpers []Identifier, helper Identifier, s *RepairSigma) error {
	if s == nil || len(commitments) != len(helpers) {
		return ErrInvalidParameters
	}
	sum := new(edwards25519.Point).Set(identityPoint)
	for _, i := range helpers {
		_, j, err := repairPosition(helpers, helper, commitments[i])
		if err != nil {
			return err
		}
		sum.Add(sum, &commitments[i].points[j].p)
	}
	if new(edwards25519.Point).ScalarBaseMult(&s.s).Equal(sum) != 1 {
		return ErrInvalidSecretShare
	}
	return nil
}
