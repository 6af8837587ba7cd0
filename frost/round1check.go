package frost

// VerifyDKGRound1Proof checks the encoding of participant id's DKG round-1
// package for a key of threshold minSigners as far as a coordinator that
// relays it needs: the encoding's shape (version, type, a count of t
// points, its exact length), its first commitment point φ_0, decoded
// strictly, a canonical μ, t = minSigners, and the proof of knowledge over
// φ_0. It decodes one point where DKGRound1Package.UnmarshalBinary decodes
// t+1: the other t-1 commitment points are left to the recipients, who
// decode every point strictly before DKGPart2.
//
// Every encoding that UnmarshalBinary and VerifyDKGRound1Package accept, it
// accepts. Errors are as theirs: a malformed encoding wraps
// ErrMalformedEncoding, ErrInvalidElement or ErrInvalidScalar; a commitment
// of the wrong length or a proof that does not verify is a *CheaterError
// naming id, wrapping ErrInvalidCommitment or ErrInvalidProofOfKnowledge.
func VerifyDKGRound1Proof(id Identifier, data []byte, minSigners int) error {
	if id.IsZero() {
		return ErrInvalidIdentifier
	}
	d := newDecoder(data, typeDKGRound1Package)
	t := d.count(2, MaxParticipants, 32)
	phi0 := d.element()
	if d.err == nil {
		d.bytes(32 * (t - 1)) // φ_1 … φ_{t-1}, for the recipients
	}
	r := d.element()
	z := d.scalar()
	if err := d.finish(); err != nil {
		return err
	}
	if t != minSigners {
		return &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidCommitment}
	}
	if !verifyProof(id, &DKGRound1Package{commitment: []element{phi0}, proofR: r, proofZ: z}) {
		return &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidProofOfKnowledge}
	}
	return nil
}
