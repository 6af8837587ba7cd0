package httpapi_test

import (
	"testing"

	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// BenchmarkLoginHTTP measures a whole login over loopback HTTP against the
// real server: challenge, signature, token. Client and server share the
// process; scripts/loadtest.sh measures the server's CPU alone.
func BenchmarkLoginHTTP(b *testing.B) {
	srv := servertest.Start(b)
	a := &api{t: b, srv: srv}
	k := testkit.NewKey(b)
	a.ok(201, "POST", "/v1/setup", "", testkit.SetupRequest(srv.URL, k, srv.SetupToken(b)), nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.login(k)
		}
	})
}
