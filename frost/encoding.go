package frost

import (
	"encoding/binary"

	"filippo.io/edwards25519"
)

// Type bytes, the second byte of every encoding.
const (
	typeSigningCommitments   byte = 1
	typeSigningPackage       byte = 2
	typeSignatureShare       byte = 3
	typeDKGRound1Package     byte = 4
	typeDKGRound2Package     byte = 5
	typeKeyPackage           byte = 6
	typePublicKeyPackage     byte = 7
	typeDKGRound1Secret      byte = 8
	typeDKGRound2Secret      byte = 9
	typeSigningNonces        byte = 10
	typeRefreshingShare      byte = 11
	typeRefreshRound1Package byte = 12
	typeRefreshRound1Secret  byte = 13
	typeRefreshRound2Secret  byte = 14
	typeRepairDelta          byte = 15
	typeRepairSigma          byte = 16
	typeReshareCommitment    byte = 17
	typeReshareShare         byte = 18
	typeRepairCommitment     byte = 19
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

// isType reports whether data has the Version byte and type byte typ.
func isType(data []byte, typ byte) bool {
	return len(data) >= 2 && data[0] == Version && data[1] == typ
}

// pickType returns a if cond, else b.
func pickType(cond bool, a, b byte) byte {
	if cond {
		return a
	}
	return b
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

// appendPoints appends a uint16 count and the points.
func appendPoints(b []byte, pts []element) []byte {
	b = appendU16(b, len(pts))
	for i := range pts {
		b = append(b, pts[i].enc[:]...)
	}
	return b
}

// points reads what appendPoints writes, lo ≤ count ≤ hi.
func (d *decoder) points(lo, hi int) []element {
	n := d.count(lo, hi, 32)
	out := make([]element, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.element())
	}
	return out
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
