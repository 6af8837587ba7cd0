package frost

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"

	"filippo.io/edwards25519"
)

// SigningCommitments is a signer's round-1 output: the hiding and binding
// nonce commitments (D_i, E_i). The signer sends it to the coordinator, which
// keys it by the (authenticated) sender's identifier.
type SigningCommitments struct {
	hiding, binding element
}

// Hiding returns the encoding of the hiding nonce commitment.
func (c *SigningCommitments) Hiding() []byte { b := c.hiding.enc; return b[:] }

// Binding returns the encoding of the binding nonce commitment.
func (c *SigningCommitments) Binding() []byte { b := c.binding.enc; return b[:] }

// Equal reports whether c and o hold the same commitments.
func (c *SigningCommitments) Equal(o *SigningCommitments) bool {
	return c.hiding.enc == o.hiding.enc && c.binding.enc == o.binding.enc
}

// String returns the hex encodings.
func (c *SigningCommitments) String() string {
	return fmt.Sprintf("frost.SigningCommitments{hiding: %x, binding: %x}", c.hiding.enc, c.binding.enc)
}

// MarshalBinary encodes the commitments: version, type, hiding, binding.
func (c *SigningCommitments) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 66)
	b = appendHeader(b, typeSigningCommitments)
	b = append(b, c.hiding.enc[:]...)
	b = append(b, c.binding.enc[:]...)
	return b, nil
}

// UnmarshalBinary decodes commitments strictly. On error c is left zero.
func (c *SigningCommitments) UnmarshalBinary(data []byte) error {
	*c = SigningCommitments{}
	d := newDecoder(data, typeSigningCommitments)
	h := d.element()
	bi := d.element()
	if err := d.finish(); err != nil {
		return err
	}
	c.hiding, c.binding = h, bi
	return nil
}

// SigningNonces holds a signer's secret round-1 nonces. They can produce one
// signature share: Sign marks them used and zeroes them, and a second Sign
// fails with ErrNonceReused. Copies share the same state, so copying does not
// allow a second use.
type SigningNonces struct {
	st *nonceState
}

type nonceState struct {
	mu              sync.Mutex
	used            bool
	hiding, binding edwards25519.Scalar
	commitments     SigningCommitments
}

// Commit is RFC 9591 round one (commit): it draws the hiding and binding
// nonces as H3(random_bytes(32) || encode(signing share)) and returns them
// with their commitments. rand nil means crypto/rand; tests replaying the
// vectors pass the hiding then the binding randomness.
func Commit(rand io.Reader, kp *KeyPackage) (*SigningNonces, *SigningCommitments, error) {
	if kp == nil || isZeroScalar(&kp.signingShare.s) {
		return nil, nil, ErrInvalidScalar
	}
	st := &nonceState{}
	secret := kp.signingShare.s.Bytes()
	defer clear(secret)
	var rb [32]byte
	for _, nonce := range []*edwards25519.Scalar{&st.hiding, &st.binding} {
		if _, err := io.ReadFull(randReader(rand), rb[:]); err != nil {
			return nil, nil, fmt.Errorf("frost: reading randomness: %w", err)
		}
		nonce.Set(h3(rb[:], secret))
	}
	clear(rb[:])
	st.commitments.hiding = newElement(new(edwards25519.Point).ScalarBaseMult(&st.hiding))
	st.commitments.binding = newElement(new(edwards25519.Point).ScalarBaseMult(&st.binding))
	c := st.commitments
	return &SigningNonces{st: st}, &c, nil
}

// Commitments returns the public commitments of the nonces.
func (n *SigningNonces) Commitments() *SigningCommitments { c := n.st.commitments; return &c }

// Zero overwrites the nonces and marks them used.
func (n *SigningNonces) Zero() {
	if n.st == nil {
		return
	}
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.zeroLocked()
}

func (st *nonceState) zeroLocked() {
	st.hiding = edwards25519.Scalar{}
	st.binding = edwards25519.Scalar{}
	st.used = true
}

// String returns a redacted placeholder.
func (n SigningNonces) String() string { return "frost.SigningNonces{REDACTED}" }

// GoString returns a redacted placeholder.
func (n SigningNonces) GoString() string { return n.String() }

// Format prints a redacted placeholder for every verb.
func (n SigningNonces) Format(f fmt.State, _ rune) { redact(f, "frost.SigningNonces") }

// SigningPackage is what the coordinator sends to the chosen signers in round
// two: the message and every signer's commitments, ordered by identifier.
type SigningPackage struct {
	ids         []Identifier
	commitments []SigningCommitments
	message     []byte
}

// NewSigningPackage builds the signing package from the commitments received
// (keyed by the authenticated sender) and the message. It needs at least two
// and at most MaxParticipants signers; the threshold is checked by Sign and
// the coordinator's Session.
func NewSigningPackage(commitments map[Identifier]*SigningCommitments, message []byte) (*SigningPackage, error) {
	if len(commitments) < 2 || len(commitments) > MaxParticipants {
		return nil, ErrWrongParticipants
	}
	if len(message) > maxMessageLen {
		return nil, fmt.Errorf("%w: message too long", ErrMalformedEncoding)
	}
	p := &SigningPackage{
		ids:         make([]Identifier, 0, len(commitments)),
		commitments: make([]SigningCommitments, len(commitments)),
		message:     slices.Clone(message),
	}
	if p.message == nil {
		p.message = []byte{}
	}
	for id, c := range commitments {
		if id.IsZero() {
			return nil, ErrInvalidIdentifier
		}
		if c == nil || c.hiding.isZero() || c.binding.isZero() {
			return nil, ErrInvalidElement
		}
		p.ids = append(p.ids, id)
	}
	slices.SortFunc(p.ids, Identifier.Compare)
	for i, id := range p.ids {
		p.commitments[i] = *commitments[id]
	}
	return p, nil
}

// Message returns the message to be signed.
func (p *SigningPackage) Message() []byte { return slices.Clone(p.message) }

// Identifiers returns the signers' identifiers in ascending order.
func (p *SigningPackage) Identifiers() []Identifier { return slices.Clone(p.ids) }

// Commitments returns the commitments of signer id.
func (p *SigningPackage) Commitments(id Identifier) (*SigningCommitments, bool) {
	i := p.index(id)
	if i < 0 {
		return nil, false
	}
	c := p.commitments[i]
	return &c, true
}

func (p *SigningPackage) index(id Identifier) int {
	i, ok := slices.BinarySearchFunc(p.ids, id, Identifier.Compare)
	if !ok {
		return -1
	}
	return i
}

// String describes the package.
func (p *SigningPackage) String() string {
	return fmt.Sprintf("frost.SigningPackage{signers: %v, message: %d bytes}", p.ids, len(p.message))
}

// MarshalBinary encodes the package: version, type, uint16 n, n × (identifier,
// hiding, binding) in ascending identifier order, uint32 message length,
// message.
func (p *SigningPackage) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+96*len(p.ids)+4+len(p.message))
	b = appendHeader(b, typeSigningPackage)
	b = appendU16(b, len(p.ids))
	b = p.appendCommitmentList(b)
	b = append(b, byte(len(p.message)>>24), byte(len(p.message)>>16), byte(len(p.message)>>8), byte(len(p.message)))
	b = append(b, p.message...)
	return b, nil
}

// appendCommitmentList appends RFC 9591 encode_group_commitment_list.
func (p *SigningPackage) appendCommitmentList(b []byte) []byte {
	for i := range p.ids {
		b = append(b, p.ids[i].b[:]...)
		b = append(b, p.commitments[i].hiding.enc[:]...)
		b = append(b, p.commitments[i].binding.enc[:]...)
	}
	return b
}

// UnmarshalBinary decodes a package strictly: identifiers strictly ascending,
// every element valid. On error p is left zero.
func (p *SigningPackage) UnmarshalBinary(data []byte) error {
	return p.UnmarshalBinaryWithOwn(data, nil)
}

// UnmarshalBinaryWithOwn is UnmarshalBinary for a signer that holds its own
// commitments (from Commit): a commitment in data equal to own byte for byte
// is taken from own instead of being decoded again, since its elements are
// known to be valid and their subgroup checks are most of the decoding cost.
// Every other element is checked as UnmarshalBinary checks it.
func (p *SigningPackage) UnmarshalBinaryWithOwn(data []byte, own *SigningCommitments) error {
	*p = SigningPackage{}
	d := newDecoder(data, typeSigningPackage)
	n := d.count(2, MaxParticipants, 96)
	ids := make([]Identifier, 0, n)
	cs := make([]SigningCommitments, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		id := d.identifier()
		if d.err == nil && i > 0 && ids[i-1].Compare(id) >= 0 {
			d.err = ErrMalformedEncoding
		}
		ids = append(ids, id)
		var c SigningCommitments
		if own != nil && len(d.b) >= 64 && string(d.b[:32]) == string(own.hiding.enc[:]) && string(d.b[32:64]) == string(own.binding.enc[:]) {
			d.bytes(64)
			c = *own
		} else {
			c.hiding = d.element()
			c.binding = d.element()
		}
		cs = append(cs, c)
	}
	mlen := d.u32()
	if d.err == nil && (mlen > maxMessageLen || mlen != len(d.b)) {
		d.err = ErrMalformedEncoding
	}
	msg := slices.Clone(d.bytes(mlen))
	if err := d.finish(); err != nil {
		return err
	}
	if msg == nil {
		msg = []byte{}
	}
	p.ids, p.commitments, p.message = ids, cs, msg
	return nil
}

// SignatureShare is a signer's round-two output z_i. The coordinator keys it
// by the (authenticated) sender's identifier.
type SignatureShare struct {
	z edwards25519.Scalar
}

// Bytes returns the 32-byte scalar encoding.
func (s *SignatureShare) Bytes() []byte { return s.z.Bytes() }

// String returns the hex encoding.
func (s *SignatureShare) String() string { return hex.EncodeToString(s.z.Bytes()) }

// MarshalBinary encodes the share: version, type, scalar.
func (s *SignatureShare) MarshalBinary() ([]byte, error) {
	return appendScalar(appendHeader(make([]byte, 0, 34), typeSignatureShare), &s.z), nil
}

// UnmarshalBinary decodes a share (canonical scalar). On error s is left zero.
func (s *SignatureShare) UnmarshalBinary(data []byte) error {
	*s = SignatureShare{}
	d := newDecoder(data, typeSignatureShare)
	z := d.scalar()
	if err := d.finish(); err != nil {
		return err
	}
	s.z = z
	return nil
}

// session holds what signers and the coordinator derive from a signing
// package and the group key: binding factors, group commitment, challenge.
type session struct {
	rho []edwards25519.Scalar // parallel to pkg.ids
	r   element               // group commitment R
	c   edwards25519.Scalar   // challenge
}

func newSession(p *SigningPackage, vk *VerifyingKey) (*session, error) {
	n := len(p.ids)
	// compute_binding_factors
	msgHash := h4(p.message)
	comHash := h5(p.appendCommitmentList(make([]byte, 0, 96*n)))
	prefix := make([]byte, 0, 32+64+64+32)
	prefix = append(prefix, vk.e.enc[:]...)
	prefix = append(prefix, msgHash[:]...)
	prefix = append(prefix, comHash[:]...)
	s := &session{rho: make([]edwards25519.Scalar, n)}
	for i := range p.ids {
		s.rho[i].Set(h1(prefix, p.ids[i].b[:]))
	}
	// compute_group_commitment: Σ D_i + Σ ρ_i·E_i
	scalars := make([]*edwards25519.Scalar, n)
	points := make([]*edwards25519.Point, n)
	sumD := edwards25519.NewIdentityPoint()
	for i := range p.ids {
		scalars[i] = &s.rho[i]
		points[i] = &p.commitments[i].binding.p
		sumD.Add(sumD, &p.commitments[i].hiding.p)
	}
	r := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	r.Add(r, sumD)
	if r.Equal(identityPoint) == 1 {
		return nil, ErrInvalidElement
	}
	s.r = newElement(r)
	// compute_challenge
	s.c.Set(h2(s.r.enc[:], vk.e.enc[:], p.message))
	return s, nil
}

// lagrange returns λ_i for signer index i of ids: Π_{j≠i} x_j / (x_j − x_i).
func lagrange(ids []Identifier, i int) *edwards25519.Scalar { return lagrangeAt(ids, i, scalarZero) }

// lagrangeAll returns λ_i for every signer, with one inversion in total.
func lagrangeAll(ids []Identifier) []edwards25519.Scalar {
	n := len(ids)
	xs := make([]edwards25519.Scalar, n)
	prod := new(edwards25519.Scalar).Set(scalarOne)
	for i := range ids {
		xs[i].Set(ids[i].scalar())
		prod.Multiply(prod, &xs[i])
	}
	// d_i = x_i · Π_{j≠i} (x_j − x_i), so λ_i = prod / d_i.
	d := make([]edwards25519.Scalar, n)
	if small, ok := smallIdentifiers(ids); ok {
		denominatorsSmall(small, xs, d)
	} else {
		var diff edwards25519.Scalar
		for i := range xs {
			d[i].Set(&xs[i])
			for j := range xs {
				if j != i {
					d[i].Multiply(&d[i], diff.Subtract(&xs[j], &xs[i]))
				}
			}
		}
	}
	// Batch inversion (Montgomery's trick).
	acc := make([]edwards25519.Scalar, n)
	run := new(edwards25519.Scalar).Set(scalarOne)
	for i := range d {
		acc[i].Set(run)
		run.Multiply(run, &d[i])
	}
	inv := new(edwards25519.Scalar).Invert(run)
	inv.Multiply(inv, prod)
	out := make([]edwards25519.Scalar, n)
	for i := n - 1; i >= 0; i-- {
		out[i].Multiply(inv, &acc[i])
		inv.Multiply(inv, &d[i])
	}
	return out
}

// smallIdentifiers returns the identifiers as integers if all are below 2^16.
func smallIdentifiers(ids []Identifier) ([]int64, bool) {
	out := make([]int64, len(ids))
	for i, id := range ids {
		if [30]byte(id.b[2:]) != [30]byte{} {
			return nil, false
		}
		out[i] = int64(id.b[0]) | int64(id.b[1])<<8
	}
	return out, true
}

// denominatorsSmall computes d_i = x_i · Π_{j≠i} (x_j − x_i) for identifiers
// below 2^16. Up to 15 differences (each |x_j − x_i| < 2^16) are multiplied as
// a 240-bit integer, below L, before one scalar multiplication: a fifteenth
// of the generic cost.
func denominatorsSmall(small []int64, xs, d []edwards25519.Scalar) {
	var buf [32]byte
	var f edwards25519.Scalar
	flush := func(dst *edwards25519.Scalar, acc *[4]uint64) {
		for l := 0; l < 4; l++ {
			binary.LittleEndian.PutUint64(buf[8*l:], acc[l])
		}
		if _, err := f.SetCanonicalBytes(buf[:]); err != nil {
			panic("frost: internal error: product exceeds the group order")
		}
		dst.Multiply(dst, &f)
		*acc = [4]uint64{1}
	}
	for i := range small {
		d[i].Set(&xs[i])
		acc, k, neg := [4]uint64{1}, 0, false
		for j := range small {
			if j == i {
				continue
			}
			diff := small[j] - small[i]
			if diff < 0 {
				diff, neg = -diff, !neg
			}
			var carry uint64
			for l := 0; l < 4; l++ {
				hi, lo := bits.Mul64(acc[l], uint64(diff))
				var c uint64
				acc[l], c = bits.Add64(lo, carry, 0)
				carry = hi + c
			}
			if k++; k == 15 {
				flush(&d[i], &acc)
				k = 0
			}
		}
		flush(&d[i], &acc)
		if neg {
			d[i].Negate(&d[i])
		}
	}
}

// Sign is RFC 9591 round two (sign): it computes this signer's share for the
// signing package, using and then destroying nonces. The package must hold at
// least t signers and carry, for kp's identifier, the commitments of nonces.
// If the package is refused the nonces stay usable; once a share is produced
// any further use returns ErrNonceReused.
func Sign(pkg *SigningPackage, nonces *SigningNonces, kp *KeyPackage) (*SignatureShare, error) {
	if pkg == nil || nonces == nil || kp == nil {
		return nil, ErrWrongParticipants
	}
	st := nonces.st
	if st == nil {
		return nil, ErrNonceReused
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.used {
		return nil, ErrNonceReused
	}
	if len(pkg.ids) < kp.minSigners {
		return nil, ErrTooFewSigners
	}
	i := pkg.index(kp.identifier)
	if i < 0 {
		return nil, ErrUnknownParticipant
	}
	if !pkg.commitments[i].Equal(&st.commitments) {
		return nil, ErrCommitmentMismatch
	}
	s, err := newSession(pkg, &kp.verifyingKey)
	if err != nil {
		return nil, err
	}
	lambda := lagrange(pkg.ids, i)
	// z = d + e·ρ + λ·s·c
	share := new(SignatureShare)
	t := new(edwards25519.Scalar).Multiply(lambda, &kp.signingShare.s)
	share.z.MultiplyAdd(t, &s.c, &st.hiding)
	share.z.MultiplyAdd(&st.binding, &s.rho[i], &share.z)
	t.Set(edwards25519.NewScalar())
	st.zeroLocked()
	return share, nil
}

// AggregateMode selects how the coordinator treats signature shares.
type AggregateMode int

const (
	// VerifyShares checks every signature share (one batched multi-scalar
	// multiplication, falling back to per-share checks to name the cheaters)
	// before aggregating.
	VerifyShares AggregateMode = iota
	// Optimistic aggregates first and verifies the group signature; only if
	// it fails are the shares checked to name the cheaters.
	Optimistic
)

// String names the mode.
func (m AggregateMode) String() string {
	switch m {
	case VerifyShares:
		return "verify-shares"
	case Optimistic:
		return "optimistic"
	}
	return fmt.Sprintf("AggregateMode(%d)", int(m))
}

// Session is the coordinator's view of one signing session: it precomputes
// binding factors, the group commitment and the challenge once, so shares can
// be verified as they arrive and then aggregated. A Session is immutable and
// safe for concurrent use.
type Session struct {
	pkg     *SigningPackage
	pub     *PublicKeyPackage
	s       *session
	vshares []*edwards25519.Point // parallel to pkg.ids

	lambdaOnce sync.Once
	lambdas    []edwards25519.Scalar
}

// NewSession prepares the coordinator's checks for a signing package. Every
// signer must be a participant of pub and there must be at least t of them.
func NewSession(pkg *SigningPackage, pub *PublicKeyPackage) (*Session, error) {
	if pkg == nil || pub == nil {
		return nil, ErrWrongParticipants
	}
	if len(pkg.ids) < pub.minSigners {
		return nil, ErrTooFewSigners
	}
	vs := make([]*edwards25519.Point, len(pkg.ids))
	for i, id := range pkg.ids {
		v, ok := pub.shares[id]
		if !ok {
			return nil, fmt.Errorf("%w: %v", ErrUnknownParticipant, id)
		}
		vs[i] = &v.e.p
	}
	s, err := newSession(pkg, &pub.verifyingKey)
	if err != nil {
		return nil, err
	}
	return &Session{pkg: pkg, pub: pub, s: s, vshares: vs}, nil
}

// GroupCommitment returns the encoding of the group commitment R, the first
// half of the signature.
func (s *Session) GroupCommitment() []byte { b := s.s.r.enc; return b[:] }

func (s *Session) lambdaAll() []edwards25519.Scalar {
	s.lambdaOnce.Do(func() { s.lambdas = lagrangeAll(s.pkg.ids) })
	return s.lambdas
}

// checkShare verifies z_i·G == D_i + ρ_i·E_i + c·λ_i·Y_i.
func (s *Session) checkShare(i int, z, lambda *edwards25519.Scalar) bool {
	cl := new(edwards25519.Scalar).Multiply(&s.s.c, lambda)
	cl.Negate(cl)
	negRho := new(edwards25519.Scalar).Negate(&s.s.rho[i])
	c := &s.pkg.commitments[i]
	q := new(edwards25519.Point).VarTimeMultiScalarMult(
		[]*edwards25519.Scalar{z, scalarMinusOne, negRho, cl},
		[]*edwards25519.Point{generatorPoint, &c.hiding.p, &c.binding.p, s.vshares[i]})
	return q.Equal(identityPoint) == 1
}

// VerifyShare checks the signature share of signer id (RFC 9591
// verify_signature_share). It returns a *CheaterError wrapping
// ErrInvalidSignatureShare if the share is wrong.
func (s *Session) VerifyShare(id Identifier, share *SignatureShare) error {
	i := s.pkg.index(id)
	if i < 0 {
		return fmt.Errorf("%w: %v", ErrUnknownParticipant, id)
	}
	if share == nil || !s.checkShare(i, &share.z, lagrange(s.pkg.ids, i)) {
		return &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidSignatureShare}
	}
	return nil
}

// orderedShares returns the shares in signer order, requiring exactly the
// signers of the package.
func (s *Session) orderedShares(shares map[Identifier]*SignatureShare) ([]*edwards25519.Scalar, error) {
	if len(shares) != len(s.pkg.ids) {
		return nil, ErrWrongParticipants
	}
	zs := make([]*edwards25519.Scalar, len(s.pkg.ids))
	for i, id := range s.pkg.ids {
		sh, ok := shares[id]
		if !ok {
			return nil, fmt.Errorf("%w: no share from %v", ErrWrongParticipants, id)
		}
		if sh == nil {
			return nil, &CheaterError{Identifiers: []Identifier{id}, Err: ErrInvalidSignatureShare}
		}
		zs[i] = &sh.z
	}
	return zs, nil
}

// findCheaters checks every share individually and names those that fail.
func (s *Session) findCheaters(zs []*edwards25519.Scalar) error {
	lambdas := s.lambdaAll()
	var bad []Identifier
	for i := range zs {
		if !s.checkShare(i, zs[i], &lambdas[i]) {
			bad = append(bad, s.pkg.ids[i])
		}
	}
	if len(bad) > 0 {
		return &CheaterError{Identifiers: bad, Err: ErrInvalidSignatureShare}
	}
	return nil
}

// batchCheck verifies all shares at once with random 128-bit weights r_i:
// Σ r_i·z_i·G == Σ r_i·D_i + Σ r_i·ρ_i·E_i + Σ r_i·c·λ_i·Y_i. All points are
// in the prime-order subgroup, so a false pass has probability ≤ 2^-128.
func (s *Session) batchCheck(zs []*edwards25519.Scalar) (bool, error) {
	n := len(zs)
	lambdas := s.lambdaAll()
	buf := make([]byte, 16*n)
	if _, err := io.ReadFull(rand.Reader, buf); err != nil {
		return false, fmt.Errorf("frost: reading randomness: %w", err)
	}
	store := make([]edwards25519.Scalar, 3*n+1)
	scalars := make([]*edwards25519.Scalar, 0, 3*n+1)
	points := make([]*edwards25519.Point, 0, 3*n+1)
	sumZ := &store[3*n]
	var wb [32]byte
	for i := 0; i < n; i++ {
		copy(wb[:16], buf[16*i:16*i+16])
		r := &store[3*i]
		if _, err := r.SetCanonicalBytes(wb[:]); err != nil {
			return false, err
		}
		sumZ.MultiplyAdd(r, zs[i], sumZ)
		rho := &store[3*i+1]
		rho.Multiply(r, &s.s.rho[i])
		rho.Negate(rho)
		cl := &store[3*i+2]
		cl.Multiply(&s.s.c, &lambdas[i])
		cl.Multiply(cl, r)
		cl.Negate(cl)
		r.Negate(r)
		c := &s.pkg.commitments[i]
		scalars = append(scalars, r, rho, cl)
		points = append(points, &c.hiding.p, &c.binding.p, s.vshares[i])
	}
	scalars = append(scalars, sumZ)
	points = append(points, generatorPoint)
	q := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	return q.Equal(identityPoint) == 1, nil
}

// Aggregate combines the signature shares (keyed by authenticated sender,
// exactly the signers of the package) into a 64-byte Ed25519 signature,
// which it verifies with crypto/ed25519 under the group key. In VerifyShares
// mode every share is checked first; in Optimistic mode only when the
// signature fails. Bad shares yield a *CheaterError wrapping
// ErrInvalidSignatureShare that names every culprit.
func (s *Session) Aggregate(shares map[Identifier]*SignatureShare, mode AggregateMode) ([]byte, error) {
	zs, err := s.orderedShares(shares)
	if err != nil {
		return nil, err
	}
	switch mode {
	case VerifyShares:
		ok, err := s.batchCheck(zs)
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := s.findCheaters(zs); err != nil {
				return nil, err
			}
			return nil, ErrInvalidSignature // unreachable
		}
	case Optimistic:
	default:
		return nil, fmt.Errorf("frost: unknown aggregate mode %d", int(mode))
	}
	z := new(edwards25519.Scalar)
	for _, zi := range zs {
		z.Add(z, zi)
	}
	sig := make([]byte, 0, ed25519.SignatureSize)
	sig = append(sig, s.s.r.enc[:]...)
	sig = append(sig, z.Bytes()...)
	if !s.pub.verifyingKey.Verify(s.pkg.message, sig) {
		if err := s.findCheaters(zs); err != nil {
			return nil, err
		}
		return nil, ErrInvalidSignature
	}
	return sig, nil
}

// Aggregate is NewSession followed by Session.Aggregate: the RFC 9591
// coordinator's aggregate step with share verification as mode selects.
func Aggregate(pkg *SigningPackage, shares map[Identifier]*SignatureShare, pub *PublicKeyPackage, mode AggregateMode) ([]byte, error) {
	s, err := NewSession(pkg, pub)
	if err != nil {
		return nil, err
	}
	return s.Aggregate(shares, mode)
}
