package frost

import (
	"encoding/hex"

	"filippo.io/edwards25519"
)

// Identifier is a participant identifier: a non-zero scalar, stored in its
// canonical 32-byte little-endian encoding. Identifiers are comparable and
// can be used as map keys. The zero value is not a valid identifier.
type Identifier struct {
	b [32]byte
}

// IdentifierFromUint16 returns the identifier for a small integer, as in the
// RFC 9591 test vectors and frost-core's u16 conversion. Zero is refused.
func IdentifierFromUint16(n uint16) (Identifier, error) {
	if n == 0 {
		return Identifier{}, ErrInvalidIdentifier
	}
	var id Identifier
	id.b[0] = byte(n)
	id.b[1] = byte(n >> 8)
	return id, nil
}

// DeriveIdentifier derives an identifier from arbitrary bytes as frost-core's
// Identifier::derive does: SHA-512(ContextString || "id" || b) reduced modulo
// the group order. The ChusMe server derives identifiers from the ASCII
// lowercase-hex identity fingerprint. It fails only if the hash reduces to
// zero, which happens with negligible probability.
func DeriveIdentifier(b []byte) (Identifier, error) {
	s := hid(b)
	if isZeroScalar(s) {
		return Identifier{}, ErrInvalidIdentifier
	}
	return identifierFromScalar(s), nil
}

// IdentifierFromBytes decodes a 32-byte canonical, non-zero scalar encoding.
func IdentifierFromBytes(b []byte) (Identifier, error) {
	s, err := decodeScalar(b)
	if err != nil || isZeroScalar(&s) {
		return Identifier{}, ErrInvalidIdentifier
	}
	return identifierFromScalar(&s), nil
}

func identifierFromScalar(s *edwards25519.Scalar) Identifier {
	var id Identifier
	copy(id.b[:], s.Bytes())
	return id
}

// Bytes returns the 32-byte little-endian scalar encoding.
func (id Identifier) Bytes() []byte {
	b := id.b
	return b[:]
}

// IsZero reports whether id is the (invalid) zero value.
func (id Identifier) IsZero() bool { return id.b == [32]byte{} }

// String returns the identifier as a decimal number when it is below 2^16
// (the RFC's small identifiers) and as hex of its encoding otherwise.
func (id Identifier) String() string {
	small := true
	for _, c := range id.b[2:] {
		if c != 0 {
			small = false
			break
		}
	}
	if small {
		n := int(id.b[0]) | int(id.b[1])<<8
		return itoa(n)
	}
	return hex.EncodeToString(id.b[:])
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [8]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// Compare orders identifiers by their integer value, the order RFC 9591 and
// frost-core use for commitment lists. It returns -1, 0 or +1.
func (id Identifier) Compare(other Identifier) int {
	for i := 31; i >= 0; i-- {
		switch {
		case id.b[i] < other.b[i]:
			return -1
		case id.b[i] > other.b[i]:
			return 1
		}
	}
	return 0
}

// scalar returns the identifier as a scalar. The encoding is canonical by
// construction.
func (id Identifier) scalar() *edwards25519.Scalar {
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(id.b[:])
	if err != nil {
		panic("frost: invalid identifier") // unreachable for constructed identifiers
	}
	return s
}
