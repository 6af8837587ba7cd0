package tokens

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chusme/chusme"
)

// AccessTTL is the lifetime of an access token: 15 minutes (DESIGN §2).
const AccessTTL = 15 * time.Minute

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// TokenType is the JOSE typ header of access tokens (RFC 9068).
const TokenType = "at+jwt"

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// Issuer signs and validates access tokens for one issuer and audience.
type Issuer struct {
	Keys     *Keyring
	Issuer   string           // iss, the server's public base URL
	Audience string           // aud
	Now      func() time.Time // the clock

	valid validCache // tokens that passed Validate (see validcache.go)
}

// Issue returns a signed access token for the identity and session, and
// its expiry.
func (is *Issuer) Issue(fingerprint, sessionID string) (string, time.Time, error) {
	now := is.Now().UTC().Truncate(time.Second)
	exp := now.Add(AccessTTL)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    is.Issuer,
			Subject:   fingerprint,
			Audience:  jwt.ClaimStrings{is.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		SessionID: sessionID,
	}
	key := is.Keys.Signing(now)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.ID
	t.Header["typ"] = TokenType
	s, err := t.SignedString(key.private)
	return s, exp, err
}

// Validate checks an access token: the header parameters alg, typ and kid
// and no other, the EdDSA algorithm only, a known kid, the typ header, the
// signature, and every claim (iss, aud, exp, nbf, iat as numbers, sub, jti,
// sid). It returns *chusme.Error with CodeTokenExpired for an
// expired but otherwise valid token and CodeTokenInvalid for anything else.
func (is *Issuer) Validate(token string) (Claims, error) {
	if v := is.valid.get(token); v != nil {
		return is.recheck(v)
	}
	var c Claims
	var used *validated // the key that verified the signature
	keyFor := func(t *jwt.Token) (any, error) {
		k, err := is.keyFor(t)
		if err == nil {
			kid, _ := t.Header["kid"].(string)
			used = &validated{kid: kid, pub: k.(ed25519.PublicKey)}
		}
		return k, err
	}
	_, err := jwt.ParseWithClaims(token, &c, keyFor,
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(is.Issuer),
		jwt.WithAudience(is.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(is.Now),
		jwt.WithStrictDecoding(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, chusme.Errorf(chusme.CodeTokenExpired, "access token expired")
	case err != nil:
		return Claims{}, chusme.Errorf(chusme.CodeTokenInvalid, "access token invalid")
	case c.NotBefore == nil || c.IssuedAt == nil || !chusme.ValidFingerprint(c.Subject) ||
		c.ID == "" || c.SessionID == "" || c.ExpiresAt.Sub(c.IssuedAt.Time) > AccessTTL:
		return Claims{}, chusme.Errorf(chusme.CodeTokenInvalid, "access token invalid")
	}
	if used != nil {
		used.claims = c
		is.valid.put(token, used)
	}
	return c, nil
}

// headerParams are the JOSE header parameters a token may carry: those
// Issue writes. Any other, crit above all (RFC 7515 §4.1.11: we understand
// no extension), makes the token invalid.
var headerParams = map[string]bool{"alg": true, "typ": true, "kid": true}

// dateClaims are the claims that must be JSON numbers (RFC 7519 §2
// NumericDate); the jwt package would also take a numeric string.
var dateClaims = []string{"exp", "nbf", "iat"}

func (is *Issuer) keyFor(t *jwt.Token) (any, error) {
	for name := range t.Header {
		if !headerParams[name] {
			return nil, errors.New("unknown header parameter")
		}
	}
	if typ, _ := t.Header["typ"].(string); typ != TokenType {
		return nil, errors.New("wrong typ")
	}
	if err := numericDates(t.Raw); err != nil {
		return nil, err
	}
	kid, _ := t.Header["kid"].(string)
	k, ok := is.Keys.Lookup(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return k.Public(), nil
}

// numericDates checks that the date claims of a parsed token's payload are
// JSON numbers, not strings.
func numericDates(raw string) error {
	_, rest, _ := strings.Cut(raw, ".")
	payload, _, _ := strings.Cut(rest, ".")
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return err
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(b, &claims); err != nil {
		return err
	}
	for _, name := range dateClaims {
		if v, ok := claims[name]; ok && (len(v) == 0 || !strings.ContainsRune("-0123456789", rune(v[0]))) {
			return errors.New("non-numeric " + name)
		}
	}
	return nil
}

// jwk is one key of a JWKS document (RFC 8037 OKP key).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the JSON Web Key Set of every key in the ring: the signing
// key, a key that will sign from a later time, and the retired keys whose
// tokens may still be valid.
func (kr *Keyring) JWKS() []byte {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	for _, k := range kr.Keys() {
		doc.Keys = append(doc.Keys, jwk{
			Kty: "OKP", Crv: "Ed25519", Alg: "EdDSA", Use: "sig", Kid: k.ID,
			X: base64.RawURLEncoding.EncodeToString(k.Public()),
		})
	}
	b, _ := json.Marshal(doc)
	return b
}
