package frost

import (
	"encoding/binary"

	"filippo.io/edwards25519"
)

// Type bytes, the second byte of every encoding.
const (
	typeSigningCommitments byte = 1
	typeSigningPackage     byte = 2
	typeSignatureShare     byte = 3
	typeDKGRound1Package   byte = 4
	typeDKGRound2Package   byte = 5
	typeKeyPackage         byte = 6
	typePublicKeyPackage   byte = 7
	typeDKGRound1Secret    byte = 8
	typeDKGRound2Secret    byte = 9
	typeSigningNonces      byte = 10
)

// maxMessageLen bounds the message in a signing package (16 MiB).
const maxMessageLen = 1 << 24

func appendHeader(b []byte, typ byte) []byte { return append(b, Version, typ) }

func appendU16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

func appendScalar(b []byte, s *edwards25519.Scalar) []byte { return append(b, s.Bytes()...) }

// decoder reads an encoding front to back; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte, typ byte) *decoder {
	d := &decoder{b: b}
	h := d.bytes(2)
	if d.err == nil && (h[0] != Version || h[1] != typ) {
		d.err = ErrMalformedEncoding
	}
	return d
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = ErrMalformedEncoding
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u16() int {
	b := d.bytes(2)
	if d.err != nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (d *decoder) u32() int {
	b := d.bytes(4)
	if d.err != nil {
		return 0
	}
	return int(binary.BigEndian.Uint32(b))
}

// count reads a uint16 count and checks lo ≤ n ≤ hi and that at least
// n*itemLen bytes remain, so no allocation is driven by a lying count.
func (d *decoder) count(lo, hi, itemLen int) int {
	n := d.u16()
	if d.err != nil {
		return 0
	}
	if n < lo || n > hi || len(d.b) < n*itemLen {
		d.err = ErrMalformedEncoding
		return 0
	}
	return n
}

func (d *decoder) scalar() edwards25519.Scalar {
	b := d.bytes(32)
	if d.err != nil {
		return edwards25519.Scalar{}
	}
	s, err := decodeScalar(b)
	if err != nil {
		d.err = err
	}
	return s
}

func (d *decoder) element() element {
	b := d.bytes(32)
	if d.err != nil {
		return element{}
	}
	e, err := decodeElement(b)
	if err != nil {
		d.err = err
	}
	return e
}

func (d *decoder) identifier() Identifier {
	b := d.bytes(32)
	if d.err != nil {
		return Identifier{}
	}
	id, err := IdentifierFromBytes(b)
	if err != nil {
		d.err = err
	}
	return id
}

// finish reports the sticky error, or ErrMalformedEncoding on trailing bytes.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrMalformedEncoding
	}
	return d.err
}
