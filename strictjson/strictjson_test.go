package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

type Embedded struct {
	Promoted string `json:"promoted"`
}

type doc struct {
	Embedded
	ID      string           `json:"id"`
	Plain   string           // named Plain in JSON
	Skipped string           `json:"-"`
	Inner   *inner           `json:"inner"`
	List    []inner          `json:"list"`
	Map     map[string]inner `json:"map"`
	Any     any              `json:"any"`
	At      time.Time        `json:"at"`
}

func TestDecodeRefuses(t *testing.T) {
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":{}`, i)
	}
	for _, tc := range []struct{ name, in, reason string }{
		{"duplicate top-level key", `{"id":"a","id":"b"}`, "duplicate key"},
		{"duplicate through an escape", `{"id":"a","\u0069d":"b"}`, "duplicate key"},
		{"duplicate in a nested struct", `{"inner":{"name":"a","name":"b"}}`, "duplicate key"},
		{"duplicate in a list element", `{"list":[{"name":"a"},{"n":1,"n":2}]}`, "duplicate key"},
		{"duplicate map key", `{"map":{"x":{},"x":{}}}`, "duplicate key"},
		{"duplicate map key past 16", `{"map":{` + strings.Join(many, ",") + `,"k3":{}}}`, "duplicate key"},
		{"duplicate in an untyped value", `{"any":[{"a":1,"a":1}]}`, "duplicate key"},
		{"case variant at the top", `{"ID":"a"}`, "key differs from a field name in case"},
		{"case variant of an untagged field", `{"plain":"a"}`, "key differs from a field name in case"},
		{"case variant of a promoted field", `{"Promoted":"a"}`, "key differs from a field name in case"},
		{"case variant nested", `{"inner":{"Name":"a"}}`, "key differs from a field name in case"},
		{"case variant in a map value", `{"map":{"x":{"NAME":"a"}}}`, "key differs from a field name in case"},
		{"case variant through an escape", `{"\u0049d":"a"}`, "key differs from a field name in case"},
		{"Kelvin sign folds to k", `{"list":[{"\u212an":1}]}`, ""}, // not a field at all: unknown
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.in), &d)
			var ke *KeyError
			switch {
			case err == nil:
				t.Fatalf("%s accepted", tc.in)
			case tc.reason == "":
				return
			case !errors.As(err, &ke) || ke.Reason != tc.reason:
				t.Fatalf("%s: error %v, want %q", tc.in, err, tc.reason)
			}
		})
	}
	for _, in := range []string{`{"id":"a"} ]`, `{"id":"a"}{}`, `{"nope":1}`, `{"id":1}`, ``, `{"id":`} {
		var d doc
		if err := Decode([]byte(in), &d); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if err := Decode([]byte(`{} x`), &doc{}); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing data: %v", err)
	}
	if got := (&KeyError{strings.Repeat("k", 100), "duplicate key"}).Error(); len(got) > 60 {
		t.Errorf("the error shows the whole key: %s", got)
	}
}

func TestDecodeAccepts(t *testing.T) {
	in := ` {"id":"a\"b\\","Plain":"p","promoted":"q","inner":{"name":"x","n":-15},
		"list":[{"name":"y"},{"name":"y"}],"map":{"X":{"name":"z"},"x":{}},
		"any":{"a":[1,{"a":null}],"b":true,"A":false},"at":"2026-01-02T03:04:05Z"} ` + "\n"
	var d doc
	if err := Decode([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != `a"b\` || d.Plain != "p" || d.Promoted != "q" || d.Inner.Name != "x" || len(d.List) != 2 || len(d.Map) != 2 || d.At.Year() != 2026 {
		t.Fatalf("decoded %+v", d)
	}
	var m map[string]any
	if err := Decode([]byte(`{"a":{"b":{"c":[]}},"A":1}`), &m); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecode: whatever encoding/json accepts, the key walk does not panic,
// and what Decode accepts encoding/json accepts too.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"id":"a","list":[{"name":"\\\""}],"map":{"a":{}}}`, `{"any":[[],{},"",1e5,null]}`, ` {"id":"x"}  `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		if Decode(data, &d) == nil {
			if err := json.Unmarshal(data, &doc{}); err != nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
			}
		}
		var a any
		Decode(data, &a)
	})
}
