package httpapi

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/chusme/chusme"
)

// BenchmarkDecode measures decode alone on the hot paths' bodies: a login's
// token request and a refresh.
func BenchmarkDecode(b *testing.B) {
	token := []byte(`{"challenge_id":"GBGUX4IRILUFN5PCAUAR3BYKOW","signature":"` +
		"VGhpcyBpcyBhIHNpeHR5LWZvdXIgYnl0ZSBzaWduYXR1cmUsIG9yIHNvbWV0aGluZyBsaWtlIGl0ISEhISEhISEhISE" + `"}`)
	refresh := []byte(`{"refresh_token":"GSSV7TD2TSHFSLDYZPHKXGOBOJYHEAAWD5ZHUUV3G3PNMECWVSWT"}`)
	for _, bc := range []struct {
		name string
		body []byte
		v    func() any
	}{
		{"token", token, func() any { return new(chusme.TokenRequest) }},
		{"refresh", refresh, func() any { return new(chusme.RefreshRequest) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/", bytes.NewReader(bc.body))
				if err := decode(httptest.NewRecorder(), r, DefaultBodyLimit, bc.v()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
