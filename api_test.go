package chusme_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/chusme/chusme"
)

// TestBytesJSON: Bytes travels as an unpadded base64url string, nil and
// empty as "" (omitted under omitempty), and decodes back to itself.
func TestBytesJSON(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 31, 32, 33, 1000} {
		b := chusme.Bytes(bytes.Repeat([]byte{0xfb, 0xff, 0x3e}, n)[:n])
		got, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		want := `"` + base64.RawURLEncoding.EncodeToString(b) + `"`
		if string(got) != want {
			t.Fatalf("len %d: %s, want %s", n, got, want)
		}
		var back chusme.Bytes
		if err := json.Unmarshal(got, &back); err != nil || !bytes.Equal(back, b) {
			t.Fatalf("len %d: decoded %x (%v), want %x", n, back, err, b)
		}
	}
	got, err := json.Marshal(struct {
		A chusme.Bytes `json:"a"`
		B chusme.Bytes `json:"b,omitempty"`
		M map[string]chusme.Bytes
	}{M: map[string]chusme.Bytes{"k": {0xff}}})
	if err != nil || string(got) != `{"a":"","M":{"k":"_w"}}` {
		t.Fatalf("nil and map values: %s (%v)", got, err)
	}
}

// A Bytes string decodes the same with and without escapes (where it is
// decoded in place and where encoding/json unquotes it first); another
// alphabet, padding, and a raw line break are refused.
func TestBytesUnmarshalPaths(t *testing.T) {
	for in, want := range map[string][]byte{`"_w"`: {0xff}, `"\u005fw"`: {0xff}, `""`: {}, `"AAEC"`: {0, 1, 2}, `"AA\/C"`: nil} {
		var b chusme.Bytes
		err := b.UnmarshalJSON([]byte(in))
		if want == nil {
			if err == nil {
				t.Errorf("%s decoded to %x, want an error", in, b)
			}
			continue
		}
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s decoded to %x (%v), want %x", in, b, err, want)
		}
	}
	for _, in := range []string{`"_w=="`, `"+w"`, `"_` + "\n" + `w"`, `"_w`, `"`, `_w`} {
		var b chusme.Bytes
		if err := b.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%q decoded to %x, want an error", in, b)
		}
	}
}
