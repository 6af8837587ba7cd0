package migrations

import (
	"testing"
	"testing/fstest"
)

func TestList(t *testing.T) {
	ms, err := List(fstest.MapFS{
		"m/0010_late.sql": {Data: []byte("B")},
		"m/0002_next.sql": {Data: []byte("A")},
		"m/README.md":     {Data: []byte("not a migration")},
	}, "m")
	if err != nil || len(ms) != 2 || ms[0].Version != 2 || ms[1].Version != 10 || ms[0].SQL != "A" || ms[1].Name != "0010_late.sql" {
		t.Fatalf("List: %+v %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"m/init.sql": {}},
		"zero":        {"m/0000_x.sql": {}},
		"same number": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := List(fsys, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
