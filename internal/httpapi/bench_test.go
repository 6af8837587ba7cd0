package httpapi_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// BenchmarkLoginHTTP measures a whole login over loopback HTTP against the
// real server: challenge, signature, token. Client and server share the
// process; scripts/loadtest.sh measures the server's CPU alone.
func BenchmarkLoginHTTP(b *testing.B) {
	srv := servertest.Start(b)
	a := &api{t: b, srv: srv}
	k := newKey(b)
	a.ok(201, "POST", "/v1/setup", "", chusme.SetupRequest{
		SetupToken: srv.SetupToken(b), PublicKey: pub(k),
		Signature: ed25519.Sign(k, chusme.RegisterMessage(srv.URL, pub(k))),
	}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.login(k)
		}
	})
}
