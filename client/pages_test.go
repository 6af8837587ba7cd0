package client_test

import (
	"errors"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// Ceremonies follows next_cursor, and refuses a server whose list would
// never end: a cursor that comes back, or an empty page naming a next one.
func TestCeremoniesRefusesEndlessList(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	a := register(t, s, true)
	b := register(t, s, false)
	for range 3 {
		if _, err := a.c.StartDKG(t.Context(), a.key, 2, []string{a.fp, b.fp}); err != nil {
			t.Fatal(err)
		}
	}
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, b, &client.MemoryPinStore{})
	if all, err := v.c.Ceremonies(t.Context(), ""); err != nil || len(all) != 3 {
		t.Fatalf("Ceremonies through an honest proxy: %d, %v; want 3", len(all), err)
	}
	first, err := v.c.CeremonyPage(t.Context(), chusme.CeremonyListQuery{Limit: 1})
	if err != nil || len(first.Ceremonies) != 1 || first.NextCursor == "" {
		t.Fatalf("CeremonyPage(limit 1) = %+v, %v", first, err)
	}
	cursor := first.NextCursor
	for name, lie := range map[string]func(path string, l *chusme.CeremonyList){
		"repeated cursor": func(_ string, l *chusme.CeremonyList) { l.NextCursor = cursor },
		"empty page with a cursor": func(_ string, l *chusme.CeremonyList) {
			l.Ceremonies, l.NextCursor = []chusme.CeremonyInfo{}, cursor
		},
	} {
		proxy.setLie(rewriteJSON(t, pathIs("/v1/ceremonies"), lie))
		if all, err := v.c.Ceremonies(t.Context(), ""); err == nil || !errors.Is(err, client.ErrEndlessList) {
			t.Fatalf("%s: %d ceremonies, %v; want ErrEndlessList", name, len(all), err)
		}
	}
}
