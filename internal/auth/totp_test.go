package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"hash"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/storetest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/tokens"
	"github.com/chusme/chusme/internal/vectortest"
)

// RFC 6238 Appendix B: 8-digit codes of the ASCII secrets below.
var rfc6238 = []struct {
	unix                 int64
	sha1, sha256, sha512 string
}{
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000, "65353130", "77737706", "47863826"},
}

var rfcSecrets = map[string][]byte{
	"SHA1":   []byte("12345678901234567890"),
	"SHA256": []byte("12345678901234567890123456789012"),
	"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
}

var rfcHashes = map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}

func TestTOTPRFC6238Literals(t *testing.T) {
	for _, v := range rfc6238 {
		for alg, want := range map[string]string{"SHA1": v.sha1, "SHA256": v.sha256, "SHA512": v.sha512} {
			step := uint64(v.unix / 30)
			if got := hotp(rfcHashes[alg], rfcSecrets[alg], step, 8); got != want {
				t.Errorf("T=%d %s: %s, want %s", v.unix, alg, got, want)
			}
		}
		// The 6-digit code is the last six digits of the 8-digit one.
		if got := TOTPCode(rfcSecrets["SHA1"], time.Unix(v.unix, 0)); got != v.sha1[2:] {
			t.Errorf("T=%d 6-digit SHA1: %s, want %s", v.unix, got, v.sha1[2:])
		}
	}
}

func TestTOTPRFC6238VectorFile(t *testing.T) {
	data := vectortest.Shared(t, "rfc6238-totp.json")
	var f struct {
		Secrets map[string]string `json:"secrets_ascii"`
		Vectors []map[string]any  `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 6 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	n := 0
	for _, v := range f.Vectors {
		unix := int64(v["unix_time"].(float64))
		for alg, h := range rfcHashes {
			want, ok := v[alg].(string)
			if !ok {
				continue
			}
			if got := hotp(h, []byte(f.Secrets[alg]), uint64(unix/30), len(want)); got != want {
				t.Errorf("T=%d %s: %s, want %s", unix, alg, got, want)
			}
			n++
		}
	}
	if n < 18 {
		t.Fatalf("checked %d codes, want at least 18", n)
	}
}

func TestMatchTOTPSkew(t *testing.T) {
	secret := rfcSecrets["SHA1"]
	now := time.Unix(1_800_000_000, 0)
	for d, want := range map[int]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		code := TOTPCode(secret, now.Add(time.Duration(d)*TOTPPeriod))
		step, ok := matchTOTP(secret, code, now)
		if ok != want || (ok && step != totpStep(now)+int64(d)) {
			t.Errorf("code %d steps off: match %v step %d", d, ok, step)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(secret, bad, now); ok {
			t.Errorf("%q matched", bad)
		}
	}
}

func TestTOTPURI(t *testing.T) {
	u, err := url.Parse(TOTPURI("ChusMe (example.org)", strings.Repeat("ab", 32), rfcSecrets["SHA1"]))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/ChusMe (example.org):"+strings.Repeat("ab", 32) ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "ChusMe (example.org)" ||
		q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("URI %s", u)
	}
}

func TestRecoveryCodeHash(t *testing.T) {
	c := newRecoveryCode()
	if len(c) != 19 || hashRecoveryCode(c) == nil {
		t.Fatalf("recovery code %q", c)
	}
	if !bytes.Equal(hashRecoveryCode(c), hashRecoveryCode(strings.ToLower(strings.ReplaceAll(c, "-", " ")))) {
		t.Fatal("normalization differs")
	}
	for _, bad := range []string{"", "AAAA", c + "A", "!!!!-!!!!-!!!!-!!!!"} {
		if hashRecoveryCode(bad) != nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Service-level tests on a real SQLite store with a fake clock.

type nopEvents struct{}

func (nopEvents) Login(string)   {}
func (nopEvents) RefreshReused() {}

const testIssuer = "https://chusme.test"

// newService returns a service on a new SQLite file, with open
// registration, the TOTP limit lim and the clock clk.
func newService(t *testing.T, clk *testkit.Clock, lim ratelimit.Limit) (*Service, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chusme.db")
	db := storetest.Open(t, sqlite.Open, path)
	seed := make([]byte, 32)
	rand.Read(seed)
	kr, err := tokens.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	iss := &tokens.Issuer{Keys: kr, Issuer: testIssuer, Audience: testIssuer, Now: clk.Now}
	svc, err := New(db, iss, Config{Issuer: testIssuer, Registration: RegistrationOpen, DataKey: dataKey, TOTPLimit: lim}, clk.Now, slog.New(slog.DiscardHandler), nopEvents{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, path
}

func register(t *testing.T, svc *Service) (ed25519.PrivateKey, Principal) {
	t.Helper()
	k := testkit.NewKey(t)
	_, err := svc.Register(t.Context(), testkit.RegisterRequest(testIssuer, k, ""))
	if err != nil {
		t.Fatal(err)
	}
	return k, Principal{Fingerprint: testkit.Fingerprint(k)}
}

// login answers a fresh challenge with k and the given second factor.
func login(t *testing.T, svc *Service, k ed25519.PrivateKey, code, recovery string) error {
	t.Helper()
	c, err := svc.Challenge(t.Context(), testkit.Fingerprint(k))
	if err != nil {
		t.Fatal(err)
	}
	req := testkit.TokenRequest(testIssuer, k, c.ID, c.Nonce)
	req.TOTPCode, req.RecoveryCode = code, recovery
	_, err = svc.Token(t.Context(), req)
	if err != nil {
		// The challenge is used up whatever went wrong.
		if uerr := svc.store.UseChallenge(t.Context(), *usedChallenge(c)); chusme.ErrorCode(uerr) != chusme.CodeConflict {
			t.Fatalf("a refused login left its challenge unused: %v", uerr)
		}
	}
	return err
}

// confirmSig is k's signature confirming the enrolment of secret for p.
func confirmSig(k ed25519.PrivateKey, p Principal, secret []byte) []byte {
	return ed25519.Sign(k, chusme.TOTPConfirmMessage(testIssuer, p.Fingerprint, secret))
}

// enable enrols and confirms TOTP with k, returning the secret and recovery
// codes.
func enable(t *testing.T, svc *Service, clk *testkit.Clock, k ed25519.PrivateKey, p Principal) ([]byte, []string) {
	t.Helper()
	en, err := svc.EnrolTOTP(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := b32.DecodeString(en.Secret)
	if err != nil || len(secret) != totpSecretSize {
		t.Fatalf("secret %q: %v", en.Secret, err)
	}
	codes, err := svc.ConfirmTOTP(t.Context(), p, TOTPCode(secret, clk.Now()), confirmSig(k, p, secret))
	if err != nil {
		t.Fatal(err)
	}
	return secret, codes
}

func TestTOTPLoginFlow(t *testing.T) {
	clk := testkit.NewClock(time.Unix(1_800_000_000, 0))
	svc, dbPath := newService(t, clk, ratelimit.Limit{})
	k, p := register(t, svc)

	// Enrolment alone changes nothing at login.
	en, err := svc.EnrolTOTP(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URI, "otpauth://totp/") || !strings.Contains(en.URI, p.Fingerprint) {
		t.Fatalf("URI %s", en.URI)
	}
	// The label is "issuer:account" with one colon, the issuer the same as
	// the issuer parameter (cmd/chusme's test covers a URL with a port).
	u, err := url.Parse(en.URI)
	if err != nil {
		t.Fatal(err)
	}
	issuer, account, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), ":")
	if strings.Count(u.Path, ":") != 1 || account != p.Fingerprint || issuer != u.Query().Get("issuer") {
		t.Fatalf("URI %s: label issuer %q, account %q", en.URI, issuer, account)
	}
	testkit.WantCode(t, login(t, svc, k, "", ""), "")
	first, err := b32.DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.ConfirmTOTP(t.Context(), p, "000000", confirmSig(k, p, first))
	testkit.WantCode(t, err, chusme.CodeTOTPInvalid)
	// An access token alone can't turn TOTP on: the right code without the
	// key's signature, signed by another key, or signed for another
	// enrolment is refused, before the code is looked at.
	other := testkit.NewKey(t)
	for name, sig := range map[string][]byte{
		"none": nil, "short": confirmSig(k, p, first)[:63], "another key": confirmSig(other, p, first),
		"another secret": confirmSig(k, p, []byte("another secret")),
	} {
		_, err = svc.ConfirmTOTP(t.Context(), p, TOTPCode(first, clk.Now()), sig)
		if chusme.ErrorCode(err) != chusme.CodeInvalidSignature {
			t.Fatalf("confirmation signed by %s: %v", name, err)
		}
	}
	if c, _ := svc.store.GetTOTP(t.Context(), p.Fingerprint); c.Confirmed() {
		t.Fatal("an unsigned confirmation turned TOTP on")
	}
	secret, codes := enable(t, svc, clk, k, p)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	_, err = svc.EnrolTOTP(t.Context(), p)
	testkit.WantCode(t, err, chusme.CodeTOTPEnabled)

	// The code used to confirm can't log in (same step).
	testkit.WantCode(t, login(t, svc, k, "", ""), chusme.CodeTOTPRequired)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now()), ""), chusme.CodeTOTPInvalid)

	clk.Add(TOTPPeriod)
	code := TOTPCode(secret, clk.Now())
	testkit.WantCode(t, login(t, svc, k, "12345x", ""), chusme.CodeTOTPInvalid)
	testkit.WantCode(t, login(t, svc, k, code, ""), "")
	testkit.WantCode(t, login(t, svc, k, code, ""), chusme.CodeTOTPInvalid) // replay within its window

	// One step off either way works; two steps off doesn't.
	clk.Add(10 * TOTPPeriod)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now().Add(-2*TOTPPeriod)), ""), chusme.CodeTOTPInvalid)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now().Add(2*TOTPPeriod)), ""), chusme.CodeTOTPInvalid)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now().Add(-TOTPPeriod)), ""), "")
	clk.Add(10 * TOTPPeriod)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now().Add(TOTPPeriod)), ""), "")
	// After a code of the next step, the current step's code is stale.
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now()), ""), chusme.CodeTOTPInvalid)

	// Recovery codes: single use, in place of a code.
	testkit.WantCode(t, login(t, svc, k, "", codes[0]), "")
	testkit.WantCode(t, login(t, svc, k, "", codes[0]), chusme.CodeTOTPInvalid)
	testkit.WantCode(t, login(t, svc, k, "", "AAAA-BBBB-CCCC-DDDD"), chusme.CodeTOTPInvalid)
	testkit.WantCode(t, login(t, svc, k, "123456", codes[1]), chusme.CodeInvalidRequest)
	if n, _ := svc.store.RecoveryCodesLeft(t.Context(), p.Fingerprint); n != 9 {
		t.Fatalf("%d recovery codes left, want 9", n)
	}

	// Disabling needs a code.
	testkit.WantCode(t, svc.DisableTOTP(t.Context(), p, "", ""), chusme.CodeInvalidRequest)
	testkit.WantCode(t, svc.DisableTOTP(t.Context(), p, "000000", ""), chusme.CodeTOTPInvalid)
	clk.Add(5 * TOTPPeriod)
	testkit.WantCode(t, svc.DisableTOTP(t.Context(), p, TOTPCode(secret, clk.Now()), ""), "")
	testkit.WantCode(t, login(t, svc, k, "", ""), "")
	testkit.WantCode(t, svc.DisableTOTP(t.Context(), p, "", ""), chusme.CodeTOTPNotEnabled)

	// The secret never reaches the database file in clear, in any form.
	enable(t, svc, clk, k, p)
	en2, _ := svc.store.GetTOTP(t.Context(), p.Fingerprint)
	plain, err := svc.openSecret(p.Fingerprint, en2.SecretSealed)
	if err != nil {
		t.Fatal(err)
	}
	var files []byte
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	for _, form := range [][]byte{plain, []byte(b32.EncodeToString(plain)), []byte(strings.ToLower(b32.EncodeToString(plain)))} {
		if bytes.Contains(files, form) {
			t.Fatal("the TOTP secret appears in the database files")
		}
	}
	// The sealed secret is bound to its identity.
	if _, err := svc.openSecret(strings.Repeat("0", 64), en2.SecretSealed); err == nil {
		t.Fatal("a sealed secret opened for another identity")
	}
}

func TestTOTPRateLimit(t *testing.T) {
	clk := testkit.NewClock(time.Unix(1_800_000_000, 0))
	svc, _ := newService(t, clk, DefaultTOTPLimit)
	k, p := register(t, svc)
	// Confirmations with a bad signature spend no attempt.
	if _, err := svc.EnrolTOTP(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		_, err := svc.ConfirmTOTP(t.Context(), p, "000000", confirmSig(testkit.NewKey(t), p, nil))
		testkit.WantCode(t, err, chusme.CodeInvalidSignature)
	}
	secret, _ := enable(t, svc, clk, k, p) // 1 attempt
	for range 4 {
		testkit.WantCode(t, login(t, svc, k, "000000", ""), chusme.CodeTOTPInvalid)
	}
	clk.Add(TOTPPeriod / 3)
	// The bucket is empty: even the right code is refused, and the
	// challenge is consumed.
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now().Add(TOTPPeriod)), ""), chusme.CodeRateLimited)
	// Another identity has its own bucket.
	k2, p2 := register(t, svc)
	secret2, _ := enable(t, svc, clk, k2, p2)
	testkit.WantCode(t, login(t, svc, k2, TOTPCode(secret2, clk.Now().Add(TOTPPeriod)), ""), "")
	clk.Add(time.Minute)
	testkit.WantCode(t, login(t, svc, k, TOTPCode(secret, clk.Now()), ""), "")
}
