package tokens

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// handMade signs header and claims as given with key: a token whose only
// fault, if any, is in what the caller put there.
func handMade(t *testing.T, key Key, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key.private, []byte(signing)))
}

// TestValidateStrictJOSE: tokens signed by the real key whose header carries
// crit or a parameter the validator does not understand, or whose date
// claims are numeric strings, are each refused with token_invalid; the same
// token without the fault is valid.
func TestValidateStrictJOSE(t *testing.T) {
	kr, err := FromSeed(make([]byte, ed25519.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	is := &Issuer{Keys: kr, Issuer: "https://i.test", Audience: "https://i.test", Now: func() time.Time { return now }}
	key := kr.Signing(time.Time{})
	header := map[string]any{"alg": "EdDSA", "typ": TokenType, "kid": key.ID}
	claims := map[string]any{
		"iss": is.Issuer, "aud": []string{is.Audience}, "sub": chusme.Fingerprint(make([]byte, 32)),
		"exp": now.Add(AccessTTL).Unix(), "nbf": now.Unix(), "iat": now.Unix(), "jti": "j1", "sid": "s1",
	}
	if _, err := is.Validate(handMade(t, key, header, claims)); err != nil {
		t.Fatalf("the well-formed hand-made token: %v", err)
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		m = maps.Clone(m)
		m[k] = v
		return m
	}
	for name, tok := range map[string]string{
		"crit":       handMade(t, key, with(header, "crit", []string{"exp"}), claims),
		"empty_crit": handMade(t, key, with(header, "crit", []string{}), claims),
		"jku":        handMade(t, key, with(header, "jku", "https://evil.test/jwks.json"), claims),
		"cty":        handMade(t, key, with(header, "cty", "JWT"), claims),
		"b64":        handMade(t, key, with(header, "b64", false), claims),
		"exp_string": handMade(t, key, header, with(claims, "exp", strconv.FormatInt(now.Add(AccessTTL).Unix(), 10))),
		"nbf_string": handMade(t, key, header, with(claims, "nbf", strconv.FormatInt(now.Unix(), 10))),
		"iat_string": handMade(t, key, header, with(claims, "iat", strconv.FormatInt(now.Unix(), 10))),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := is.Validate(tok)
			if chusme.ErrorCode(err) != chusme.CodeTokenInvalid {
				t.Fatalf("Validate = %v, want %s", err, chusme.CodeTokenInvalid)
			}
		})
	}
}
