package main

import (
	"testing"

	"github.com/chusme/chusme/internal/servertest"
)

func TestLoad(t *testing.T) {
	srv := servertest.Start(t)
	admin := newCLI(t, srv.URL, "load passphrase")
	admin.ok("keygen")
	admin.ok("setup", "--token", srv.SetupToken(t))
	for _, scenario := range []string{"login", "refresh"} {
		t.Run(scenario, func(t *testing.T) {
			var r loadResult
			admin.t = t
			admin.okJSON(&r, "load", scenario, "--n", "40", "--concurrency", "4")
			if r.Requests != 40 || r.Errors != 0 || r.PerSecond <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
				t.Fatalf("load %s: %+v", scenario, r)
			}
		})
	}
	t.Run("bounds", func(t *testing.T) {
		admin.t = t
		admin.fails(codeUsage, "load", "login", "--n", "0")
		admin.fails(codeUsage, "load", "login", "--concurrency", "100000")
		admin.fails(codeUsage, "load", "login", "--duration", "2h")
		admin.fails(codeUsage, "load", "sideways")
	})
}
