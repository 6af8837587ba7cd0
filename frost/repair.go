package frost

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/edwards25519"
)

// ErrRepairMismatch reports a repaired share whose image is not the
// participant's verifying share in the PublicKeyPackage: a helper sent a
// wrong delta or sigma, or the helpers disagree on the helper set or on who
// is repaired. Nothing tells which helper: the caller reports the repair as
// failed and may run it again with other helpers.
var ErrRepairMismatch = errors.New("frost: repaired share does not match the verifying share")

// secretScalar is the body of a message that is one secret scalar; it
// encodes as version, type, the 32-byte scalar (zero allowed).
type secretScalar struct {
	s edwards25519.Scalar
}

// Zero overwrites the secret.
func (m *secretScalar) Zero() { m.s = edwards25519.Scalar{} }

func (m *secretScalar) marshal(typ byte) ([]byte, error) {
	return appendScalar(appendHeader(make([]byte, 0, 34), typ), &m.s), nil
}

func (m *secretScalar) unmarshal(data []byte, typ byte) error {
	*m = secretScalar{}
	d := newDecoder(data, typ)
	s := d.scalar()
	if err := d.finish(); err != nil {
		return err
	}
	m.s = s
	return nil
}

// RepairDelta is a value δ that a repair helper sends another helper (or
// keeps) after RepairSharePart1. It is secret: the caller sends it
// confidentially and authenticated. It never prints its value; Zero
// overwrites it.
type RepairDelta struct{ secretScalar }

// String returns a redacted placeholder.
func (d RepairDelta) String() string { return "frost.RepairDelta{REDACTED}" }

// GoString returns a redacted placeholder.
func (d RepairDelta) GoString() string { return d.String() }

// Format prints a redacted placeholder for every verb.
func (d RepairDelta) Format(f fmt.State, _ rune) { redact(f, "frost.RepairDelta") }

// MarshalBinary encodes the delta (secret!): version, type, scalar.
func (d *RepairDelta) MarshalBinary() ([]byte, error) { return d.marshal(typeRepairDelta) }

// UnmarshalBinary decodes a delta (canonical scalar). On error d is left
// zero.
func (d *RepairDelta) UnmarshalBinary(data []byte) error {
	return d.unmarshal(data, typeRepairDelta)
}

// RepairSigma is the value σ a repair helper sends the participant being
// repaired after RepairSharePart2. It is secret: the caller sends it
// confidentially and authenticated. It never prints its value; Zero
// overwrites it.
type RepairSigma struct{ secretScalar }

// String returns a redacted placeholder.
func (s RepairSigma) String() string { return "frost.RepairSigma{REDACTED}" }

// GoString returns a redacted placeholder.
func (s RepairSigma) GoString() string { return s.String() }

// Format prints a redacted placeholder for every verb.
func (s RepairSigma) Format(f fmt.State, _ rune) { redact(f, "frost.RepairSigma") }

// MarshalBinary encodes the sigma (secret!): version, type, scalar.
func (s *RepairSigma) MarshalBinary() ([]byte, error) { return s.marshal(typeRepairSigma) }

// UnmarshalBinary decodes a sigma (canonical scalar). On error s is left
// zero.
func (s *RepairSigma) UnmarshalBinary(data []byte) error {
	return s.unmarshal(data, typeRepairSigma)
}

// lagrangeAt returns the Lagrange coefficient of ids[i] for evaluation at x:
// Π_{j≠i} (x − x_j) / (x_i − x_j).
func lagrangeAt(ids []Identifier, i int, x *edwards25519.Scalar) *edwards25519.Scalar {
	xi := ids[i].scalar()
	num := new(edwards25519.Scalar).Set(scalarOne)
	den := new(edwards25519.Scalar).Set(scalarOne)
	var diff edwards25519.Scalar
	for j := range ids {
		if j == i {
			continue
		}
		xj := ids[j].scalar()
		num.Multiply(num, diff.Subtract(x, xj))
		den.Multiply(den, diff.Subtract(xi, xj))
	}
	return num.Multiply(num, den.Invert(den))
}

// RepairSharePart1 is a helper's first step in repairing participant lost's
// share (frost-core 3's repair_share_part1, the repairable threshold scheme
// of Laing and Stinson, eprint 2017/1155). helpers is the set of at least t
// distinct participants helping, including kp's owner and not lost; every
// helper must use the same set. It splits ζ_i·s_i (ζ_i the helper's Lagrange
// coefficient over helpers at lost) into random deltas, one per helper
// (frost-core's order: the largest identifier gets the remainder), and
// returns them keyed by the helper to send each to (the own one included).
// rand nil means crypto/rand.
func RepairSharePart1(rand io.Reader, helpers []Identifier, kp *KeyPackage, lost Identifier) (map[Identifier]*RepairDelta, error) {
	if kp == nil {
		return nil, ErrInvalidParameters
	}
	if lost.IsZero() {
		return nil, ErrInvalidIdentifier
	}
	if err := checkIdentifiers(helpers, kp.minSigners); err != nil {
		return nil, fmt.Errorf("repair helpers: %w", err)
	}
	sorted := slices.SortedFunc(slices.Values(helpers), Identifier.Compare)
	if _, found := slices.BinarySearchFunc(sorted, lost, Identifier.Compare); found {
		return nil, fmt.Errorf("%w: %v cannot help repair its own share", ErrWrongParticipants, lost)
	}
	i, found := slices.BinarySearchFunc(sorted, kp.identifier, Identifier.Compare)
	if !found {
		return nil, fmt.Errorf("%w: %v is not among the helpers", ErrUnknownParticipant, kp.identifier)
	}
	rest := lagrangeAt(sorted, i, lost.scalar())
	rest.Multiply(rest, &kp.signingShare.s)
	defer rest.Set(edwards25519.NewScalar())
	out := make(map[Identifier]*RepairDelta, len(sorted))
	for _, id := range sorted[:len(sorted)-1] {
		r, err := randomScalar(rand)
		if err != nil {
			return nil, err
		}
		out[id] = &RepairDelta{secretScalar{s: *r}}
		rest.Subtract(rest, r)
		r.Set(edwards25519.NewScalar())
	}
	out[sorted[len(sorted)-1]] = &RepairDelta{secretScalar{s: *rest}}
	return out, nil
}

// RepairSharePart2 is a helper's second step (frost-core's
// repair_share_part2): it sums the deltas it received from every helper (its
// own included) into the sigma to send the participant being repaired.
func RepairSharePart2(deltas []*RepairDelta) (*RepairSigma, error) {
	if len(deltas) == 0 {
		return nil, fmt.Errorf("%w: no deltas", ErrWrongParticipants)
	}
	sigma := &RepairSigma{}
	for _, d := range deltas {
		if d == nil {
			sigma.Zero()
			return nil, ErrInvalidParameters
		}
		sigma.s.Add(&sigma.s, &d.s)
	}
	return sigma, nil
}

// RepairSharePart3 is the repaired participant's step (frost-core's
// repair_share_part3): it sums the sigmas of every helper (at least t) into
// its signing share and returns its KeyPackage for the key pub describes.
// The result is checked against id's verifying share in pub: a mismatch is
// ErrRepairMismatch and returns no key package.
func RepairSharePart3(sigmas []*RepairSigma, id Identifier, pub *PublicKeyPackage) (*KeyPackage, error) {
	if pub == nil {
		return nil, ErrInvalidParameters
	}
	want, ok := pub.shares[id]
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnknownParticipant, id)
	}
	if len(sigmas) < pub.minSigners {
		return nil, fmt.Errorf("%w: %d sigmas, threshold %d", ErrWrongParticipants, len(sigmas), pub.minSigners)
	}
	var share SigningShare
	defer share.Zero()
	for _, s := range sigmas {
		if s == nil {
			return nil, ErrInvalidParameters
		}
		share.s.Add(&share.s, &s.s)
	}
	kp, err := NewKeyPackage(id, &share, pub.verifyingKey, pub.minSigners)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRepairMismatch, err)
	}
	if !kp.verifyingShare.Equal(want) {
		kp.Zero()
		return nil, ErrRepairMismatch
	}
	return kp, nil
}
