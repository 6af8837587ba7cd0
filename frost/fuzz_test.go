package frost

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/chusme/chusme/internal/testkit"
)

// fuzzCodec checks a decoder: success implies the re-encoding is identical to
// the input; failure leaves the zero value.
func fuzzCodec(f *testing.F, name string) {
	enc := sampleEncodings(f)
	f.Add(enc[name])
	for _, other := range enc {
		f.Add(other)
	}
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, b []byte) {
		v := newCodec(name)
		if err := v.UnmarshalBinary(b); err != nil {
			if !reflect.ValueOf(v).Elem().IsZero() {
				t.Fatalf("%s: error %v left a non-zero value", name, err)
			}
			return
		}
		again, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%s: decode then encode changed\n%x\nto\n%x", name, b, again)
		}
	})
}

func FuzzSigningCommitments(f *testing.F) { fuzzCodec(f, "SigningCommitments") }
func FuzzSigningPackage(f *testing.F)     { fuzzCodec(f, "SigningPackage") }
func FuzzSignatureShare(f *testing.F)     { fuzzCodec(f, "SignatureShare") }
func FuzzDKGRound1Package(f *testing.F)   { fuzzCodec(f, "DKGRound1Package") }
func FuzzDKGRound2Package(f *testing.F)   { fuzzCodec(f, "DKGRound2Package") }
func FuzzKeyPackage(f *testing.F)         { fuzzCodec(f, "KeyPackage") }
func FuzzPublicKeyPackage(f *testing.F)   { fuzzCodec(f, "PublicKeyPackage") }
func FuzzDKGRound1Secret(f *testing.F)    { fuzzCodec(f, "DKGRound1Secret") }
func FuzzDKGRound2Secret(f *testing.F)    { fuzzCodec(f, "DKGRound2Secret") }
func FuzzSigningNonces(f *testing.F)      { fuzzCodec(f, "SigningNonces") }

// FuzzElement checks the strict point decoders behind VerifyingKey and
// VerifyingShare.
func FuzzElement(f *testing.F) {
	for _, h := range append(append([]string{}, testkit.SmallOrderPoints...), nonCanonicalPoints...) {
		f.Add(testkit.Unhex(f, h))
	}
	f.Add(testkit.Unhex(f, "5866666666666666666666666666666666666666666666666666666666666666"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vk, err := NewVerifyingKey(b)
		vs, err2 := NewVerifyingShare(b)
		if (err == nil) != (err2 == nil) {
			t.Fatal("VerifyingKey and VerifyingShare decoders disagree")
		}
		if err != nil {
			if !reflect.ValueOf(vk).IsZero() || !reflect.ValueOf(vs).IsZero() {
				t.Fatal("error left a non-zero value")
			}
			return
		}
		if !bytes.Equal(vk.Bytes(), b) || !bytes.Equal(vs.Bytes(), b) {
			t.Fatal("decode then encode changed the point")
		}
	})
}

// FuzzScalars checks IdentifierFromBytes and NewSigningShare.
func FuzzScalars(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(testkit.Unhex(f, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
	f.Add(testkit.Unhex(f, "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := IdentifierFromBytes(b)
		if err != nil {
			if !id.IsZero() {
				t.Fatal("error left a non-zero identifier")
			}
		} else if !bytes.Equal(id.Bytes(), b) {
			t.Fatal("identifier changed")
		}
		s, err2 := NewSigningShare(b)
		if (err == nil) != (err2 == nil) {
			t.Fatal("identifier and signing share decoders disagree")
		}
		if err2 != nil {
			if s != nil {
				t.Fatal("error returned a share")
			}
		} else if !bytes.Equal(s.Bytes(), b) {
			t.Fatal("signing share changed")
		}
	})
}

func FuzzRefreshingShare(f *testing.F)      { fuzzCodec(f, "RefreshingShare") }
func FuzzRefreshRound1Package(f *testing.F) { fuzzCodec(f, "RefreshRound1Package") }
func FuzzRefreshRound1Secret(f *testing.F)  { fuzzCodec(f, "RefreshRound1Secret") }
func FuzzRefreshRound2Secret(f *testing.F)  { fuzzCodec(f, "RefreshRound2Secret") }
func FuzzRepairDelta(f *testing.F)          { fuzzCodec(f, "RepairDelta") }
func FuzzRepairSigma(f *testing.F)          { fuzzCodec(f, "RepairSigma") }
func FuzzReshareCommitment(f *testing.F)    { fuzzCodec(f, "ReshareCommitment") }
func FuzzRepairCommitment(f *testing.F)     { fuzzCodec(f, "RepairCommitment") }
func FuzzReshareShare(f *testing.F)         { fuzzCodec(f, "ReshareShare") }
