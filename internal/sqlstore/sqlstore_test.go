package sqlstore

import (
	"regexp"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?) ORDER BY a{bytewise}, b{bytewise}{lock}`
	for _, tc := range []struct {
		name string
		d    Dialect
		want string
	}{
		{"plain", Dialect{}, `SELECT a FROM t WHERE b = ? AND c IN (?, ?) ORDER BY a, b`},
		{"numbered_locking", Dialect{Placeholder: DollarPlaceholder, LockRow: " FOR UPDATE", Bytewise: ` COLLATE "C"`},
			`SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) ORDER BY a COLLATE "C", b COLLATE "C" FOR UPDATE`},
	} {
		if got := tc.d.render(q); got != tc.want {
			t.Errorf("%s: render =\n %s\nwant\n %s", tc.name, got, tc.want)
		}
	}
}

// TestQueriesRender renders every query of the shared SQL: no marker is
// left, and each ? becomes the next $n.
func TestQueriesRender(t *testing.T) {
	d := Dialect{Placeholder: DollarPlaceholder, LockRow: " FOR UPDATE", Bytewise: ` COLLATE "C"`}
	placeholder := regexp.MustCompile(`\$[0-9]+`)
	for i, q := range queries {
		got := d.render(q)
		if strings.ContainsAny(got, "{}?") {
			t.Errorf("query %d keeps a marker or ?: %s", i, got)
		}
		ps := placeholder.FindAllString(got, -1)
		if len(ps) != strings.Count(q, "?") {
			t.Errorf("query %d: %d placeholders for %d ?: %s", i, len(ps), strings.Count(q, "?"), got)
		}
		for j, p := range ps {
			if p != DollarPlaceholder(j+1) {
				t.Errorf("query %d: placeholder %d is %s: %s", i, j+1, p, got)
			}
		}
	}
	if len(queries) < 50 {
		t.Fatalf("only %d queries registered", len(queries))
	}
}

// TestFromJSONList: the split of a plain list and encoding/json agree on
// every list jsonList writes and on lists it does not.
func TestFromJSONList(t *testing.T) {
	for _, src := range []string{`[]`, `[""]`, `["a"]`, `["a","b",""]`, jsonList([]string{"x<y", "q\"uote", "back\\slash", "\n", "é"}),
		`[ "a", "b" ]`, `["a" ,"b"]`, `["a","b"`, `null`, `["a\",\"b"]`} {
		var fast, slow []string
		errFast, errSlow := fromJSONList(src, &fast), fromJSON(src, &slow)
		if (errFast == nil) != (errSlow == nil) || strings.Join(fast, "|") != strings.Join(slow, "|") || len(fast) != len(slow) {
			t.Errorf("%s: %q %v, encoding/json %q %v", src, fast, errFast, slow, errSlow)
		}
	}
}
