package main

import (
	"encoding/json"
	"strings"
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
			if r.Requests != 40 || r.Errors != 0 || r.RateLimited != 0 || r.ErrorRate != 0 || r.PerSecond <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
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
		admin.fails(codeUsage, "load", "login", "--max-error-rate", "1.5")
	})
}

// A load refused by the server's rate limit says so, apart from the
// successes, and fails rather than print a throughput of refusals.
func TestLoadRefused(t *testing.T) {
	srv := servertest.Start(t, "--rate-auth", "1/h:5")
	admin := newCLI(t, srv.URL, "load passphrase")
	admin.ok("keygen")
	admin.ok("setup", "--token", srv.SetupToken(t)) // uses one of the 5
	// --json writes the figures, then the error: two JSON values.
	out, errOut, err := admin.run("load", "login", "--n", "20", "--concurrency", "2", "--json")
	dec := json.NewDecoder(strings.NewReader(out))
	var res loadResult
	var r struct {
		Error struct{ Code string }
	}
	if err == nil || dec.Decode(&res) != nil || dec.Decode(&r) != nil || r.Error.Code != codeLoadErrors {
		t.Fatalf("a refused load: %v\n%s\n%s", err, out, errOut)
	}
	if res.RateLimited == 0 || res.Requests+res.RateLimited != 20 || res.ErrorRate <= 0.01 {
		t.Fatalf("the refused load reported %+v", res)
	}
}
