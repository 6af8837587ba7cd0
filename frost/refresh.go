package frost

import (
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// ErrWrongKind reports a DKG round secret given to a refresh function, or a
// refresh round secret given to a DKG function.
var ErrWrongKind = errors.New("frost: DKG and refresh round secrets do not mix")

// RefreshingShare is what the trusted dealer of a refresh sends participant
// j: the share z_j = f(j) of a random polynomial f of degree t-1 with
// f(0) = 0, and the commitment a_1·G … a_{t-1}·G to f's other coefficients
// (frost-core's refreshing SecretShare, whose identity constant commitment is
// dropped). It is secret: the caller sends it confidentially and
// authenticated. It never prints its secret.
type RefreshingShare struct {
	identifier Identifier
	share      edwards25519.Scalar
	commitment []element
}

// Identifier returns the participant the share is for.
func (r *RefreshingShare) Identifier() Identifier { return r.identifier }

// Zero overwrites the share.
func (r *RefreshingShare) Zero() { r.share = edwards25519.Scalar{} }

// String returns a redacted description.
func (r RefreshingShare) String() string {
	return fmt.Sprintf("frost.RefreshingShare{identifier: %v, share: REDACTED, t: %d}", r.identifier, len(r.commitment)+1)
}

// GoString returns the redacted description.
func (r RefreshingShare) GoString() string { return r.String() }

// Format prints the redacted description for every verb.
func (r RefreshingShare) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// MarshalBinary encodes the share (secret!): version, type, identifier,
// share, uint16 t-1, the t-1 commitment points.
func (r *RefreshingShare) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+64+2+32*len(r.commitment))
	b = appendHeader(b, typeRefreshingShare)
	b = append(b, r.identifier.b[:]...)
	b = appendScalar(b, &r.share)
	return appendPoints(b, r.commitment), nil
}

// UnmarshalBinary decodes a share strictly (valid identifier, canonical
// share, 1 ≤ t-1 < MaxParticipants valid points). RefreshShare checks the
// share against the commitment. On error r is left zero.
func (r *RefreshingShare) UnmarshalBinary(data []byte) error {
	*r = RefreshingShare{}
	d := newDecoder(data, typeRefreshingShare)
	id := d.identifier()
	s := d.scalar()
	com := d.points(1, MaxParticipants-1)
	if err := d.finish(); err != nil {
		return err
	}
	*r = RefreshingShare{identifier: id, share: s, commitment: com}
	return nil
}

// withZeroConstant prepends the identity, the commitment to a zero constant
// term, to the commitment of a refresh polynomial's other coefficients.
func withZeroConstant(com []element) []element {
	return append([]element{newElement(identityPoint)}, com...)
}

// randomScalars fills dst with random non-zero scalars from rand (nil means
// crypto/rand).
func randomScalars(rand io.Reader, dst []edwards25519.Scalar) error {
	for k := range dst {
		s, err := randomScalar(rand)
		if err != nil {
			return err
		}
		dst[k] = *s
	}
	return nil
}

// checkSameThreshold refuses a refresh that would change the threshold
// (frost-core 2.2.0: it would not lower it, and would weaken the shares).
func checkSameThreshold(got, want int) error {
	if got != want {
		return fmt.Errorf("%w: a refresh keeps the threshold %d, not %d", ErrInvalidParameters, want, got)
	}
	return nil
}

// ComputeRefreshingShares is the trusted dealer's side of a refresh
// (frost-core's compute_refreshing_shares): it deals shares of zero for the
// participants ids of the key described by pub and returns them keyed by
// participant, with the refreshed PublicKeyPackage: the same group key, and
// for each of ids the old verifying share plus z_j·G. Participants of pub
// missing from ids are removed from the key: they are absent from the new
// package and their old shares no longer combine with the new ones.
// minSigners must be pub's threshold (a refresh cannot change it), ids at
// least that many distinct members of pub. rand nil means crypto/rand.
func ComputeRefreshingShares(rand io.Reader, pub *PublicKeyPackage, ids []Identifier, minSigners int) (map[Identifier]*RefreshingShare, *PublicKeyPackage, error) {
	if pub == nil {
		return nil, nil, ErrInvalidParameters
	}
	if err := checkSameThreshold(minSigners, pub.minSigners); err != nil {
		return nil, nil, err
	}
	if err := checkIdentifiers(ids, minSigners); err != nil {
		return nil, nil, err
	}
	coeffs := make([]edwards25519.Scalar, minSigners) // coeffs[0] = 0
	defer clear(coeffs)
	if err := randomScalars(rand, coeffs[1:]); err != nil {
		return nil, nil, err
	}
	com, err := commitCoefficients(coeffs[1:])
	if err != nil {
		return nil, nil, err
	}
	out := make(map[Identifier]*RefreshingShare, len(ids))
	shares := make(map[Identifier]VerifyingShare, len(ids))
	for _, id := range ids {
		old, ok := pub.shares[id]
		if !ok {
			return nil, nil, fmt.Errorf("%w: %v is not in the public key package", ErrUnknownParticipant, id)
		}
		r := &RefreshingShare{identifier: id, share: *evalPolynomial(coeffs, id.scalar()), commitment: com}
		y := new(edwards25519.Point).ScalarBaseMult(&r.share)
		if y.Add(y, &old.e.p).Equal(identityPoint) == 1 {
			return nil, nil, ErrInvalidElement // negligible
		}
		out[id], shares[id] = r, VerifyingShare{e: newElement(y)}
	}
	newPub, err := NewPublicKeyPackage(pub.verifyingKey, shares, minSigners)
	if err != nil {
		return nil, nil, err
	}
	return out, newPub, nil
}

// RefreshShare is a participant's side of a dealer refresh (frost-core's
// refresh_share): it checks the refreshing share against its commitment and
// the threshold against kp's, and returns kp with signing share s_j + z_j.
// The caller keeps the new KeyPackage with the new PublicKeyPackage (whose
// verifying share for kp's identifier equals the new one's VerifyingShare)
// and deletes the old one.
func RefreshShare(share *RefreshingShare, kp *KeyPackage) (*KeyPackage, error) {
	if share == nil || kp == nil || len(share.commitment) == 0 {
		return nil, ErrInvalidParameters
	}
	if share.identifier != kp.identifier {
		return nil, fmt.Errorf("%w: refreshing share for %v, key package of %v", ErrWrongParticipants, share.identifier, kp.identifier)
	}
	if err := checkSameThreshold(len(share.commitment)+1, kp.minSigners); err != nil {
		return nil, err
	}
	if !opens(withZeroConstant(share.commitment), kp.identifier, &share.share) {
		return nil, ErrInvalidSecretShare
	}
	s := SigningShare{}
	s.s.Add(&kp.signingShare.s, &share.share)
	defer s.Zero()
	return NewKeyPackage(kp.identifier, &s, kp.verifyingKey, kp.minSigners)
}

// RefreshRound1Package is what each participant of a DKG refresh broadcasts
// after RefreshDKGPart1: the commitment a_1·G … a_{t-1}·G to its refresh
// polynomial's non-constant coefficients. The constant term is zero by
// construction: receivers prepend the identity, so no participant can move
// the group secret. Unlike DKGRound1Package it has no proof of knowledge
// (frost-core's refresh packages carry one that no one checks).
type RefreshRound1Package struct {
	commitment []element
}

// String describes the package.
func (p *RefreshRound1Package) String() string {
	return fmt.Sprintf("frost.RefreshRound1Package{t: %d}", len(p.commitment)+1)
}

// MinSigners is the threshold t the package is for: one more than its
// number of commitments.
func (p *RefreshRound1Package) MinSigners() int { return len(p.commitment) + 1 }

// MarshalBinary encodes the package: version, type, uint16 t-1, the t-1
// points.
func (p *RefreshRound1Package) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+32*len(p.commitment))
	return appendPoints(appendHeader(b, typeRefreshRound1Package), p.commitment), nil
}

// UnmarshalBinary decodes a package strictly (1 ≤ t-1 < MaxParticipants,
// every point valid). On error p is left zero.
func (p *RefreshRound1Package) UnmarshalBinary(data []byte) error {
	*p = RefreshRound1Package{}
	d := newDecoder(data, typeRefreshRound1Package)
	com := d.points(1, MaxParticipants-1)
	if err := d.finish(); err != nil {
		return err
	}
	p.commitment = com
	return nil
}

// asDKG turns refresh round-1 packages into DKG round-1 packages whose
// commitment starts with the identity, so that the DKG checks apply.
func asDKG(round1 map[Identifier]*RefreshRound1Package) map[Identifier]*DKGRound1Package {
	out := make(map[Identifier]*DKGRound1Package, len(round1))
	for id, p := range round1 {
		if p == nil {
			out[id] = nil
			continue
		}
		out[id] = &DKGRound1Package{commitment: withZeroConstant(p.commitment)}
	}
	return out
}

// RefreshDKGPart1 starts a refresh by DKG (frost-core's refresh_dkg_part1)
// for participant id of the maxSigners participants refreshing a key of
// threshold minSigners (the key's threshold: RefreshDKGShares refuses
// another). It draws a random polynomial of degree t-1 with a zero constant
// term and returns the secret to keep (it encodes, like DKGPart1's, under
// its own type byte) and the package to broadcast. rand nil means
// crypto/rand.
func RefreshDKGPart1(rand io.Reader, id Identifier, maxSigners, minSigners int) (*DKGRound1Secret, *RefreshRound1Package, error) {
	if err := checkParameters(minSigners, maxSigners); err != nil {
		return nil, nil, err
	}
	if id.IsZero() {
		return nil, nil, ErrInvalidIdentifier
	}
	coeffs := make([]edwards25519.Scalar, minSigners)
	if err := randomScalars(rand, coeffs[1:]); err != nil {
		return nil, nil, err
	}
	com, err := commitCoefficients(coeffs[1:])
	if err != nil {
		return nil, nil, err
	}
	secret := &DKGRound1Secret{
		identifier:   id,
		coefficients: coeffs,
		commitment:   withZeroConstant(com),
		minSigners:   minSigners,
		maxSigners:   maxSigners,
		refresh:      true,
	}
	return secret, &RefreshRound1Package{commitment: com}, nil
}

// RefreshDKGPart2 is DKGPart2 for a refresh (frost-core's
// refresh_dkg_part2): given the other n-1 participants' refresh packages
// keyed by authenticated sender (a package with other than t-1 points yields
// a *CheaterError naming its sender), it computes the share f_i(ℓ) for each
// of them. The round-1 secret must come from RefreshDKGPart1 and is zeroed;
// keep the returned round-2 secret for RefreshDKGShares and send each
// DKGRound2Package, confidentially and authenticated, to the participant it
// is keyed by.
func RefreshDKGPart2(secret *DKGRound1Secret, round1 map[Identifier]*RefreshRound1Package) (*DKGRound2Secret, map[Identifier]*DKGRound2Package, error) {
	if secret == nil || len(secret.coefficients) == 0 {
		return nil, nil, ErrInvalidScalar
	}
	if !secret.refresh {
		return nil, nil, ErrWrongKind
	}
	if err := checkRound1Set(secret.identifier, secret.maxSigners, secret.minSigners, asDKG(round1)); err != nil {
		return nil, nil, err
	}
	r2, out := round2Shares(secret, mapKeys(round1))
	return r2, out, nil
}

// RefreshDKGShares finishes a refresh by DKG (frost-core's
// refresh_dkg_shares), as DKGPart3 finishes a DKG: it checks every received
// share against its sender's commitment (bad shares yield a *CheaterError
// wrapping ErrInvalidSecretShare naming every sender), adds the sum of the
// shares of zero to oldKP's signing share, and returns the refreshed
// KeyPackage and PublicKeyPackage: the same group key, each participant's
// old verifying share plus its zero-share image, only the refreshing
// participants. round1 and round2 are keyed by authenticated sender; oldPub
// and oldKP are the key being refreshed, whose threshold the round secret
// must have.
func RefreshDKGShares(secret *DKGRound2Secret, round1 map[Identifier]*RefreshRound1Package, round2 map[Identifier]*DKGRound2Package, oldPub *PublicKeyPackage, oldKP *KeyPackage) (*KeyPackage, *PublicKeyPackage, error) {
	if secret == nil || len(secret.commitment) == 0 {
		return nil, nil, ErrInvalidScalar
	}
	if !secret.refresh {
		return nil, nil, ErrWrongKind
	}
	if oldPub == nil || oldKP == nil {
		return nil, nil, ErrInvalidParameters
	}
	if err := checkSameThreshold(secret.minSigners, oldKP.minSigners); err != nil {
		return nil, nil, err
	}
	if err := checkSameThreshold(secret.minSigners, oldPub.minSigners); err != nil {
		return nil, nil, err
	}
	if oldKP.identifier != secret.identifier || !oldKP.verifyingKey.Equal(oldPub.verifyingKey) {
		return nil, nil, fmt.Errorf("%w: the old key package is not this participant's share of the old key", ErrWrongParticipants)
	}
	sum, summed, err := dkgCombine(secret, asDKG(round1), round2)
	if err != nil {
		return nil, nil, err
	}
	defer sum.Set(edwards25519.NewScalar())
	sum.Add(sum, &oldKP.signingShare.s)
	shares, err := verifyingShares(summed, append([]Identifier{secret.identifier}, mapKeys(round1)...), oldPub)
	if err != nil {
		return nil, nil, err
	}
	return finishKey(secret.identifier, sum, oldPub.verifyingKey, secret.minSigners, shares)
}
