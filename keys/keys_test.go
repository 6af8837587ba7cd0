package keys

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/vectortest"
)

// readJSON decodes the vector file name of ../shared/vectors into v, skipping
// the test when the file is absent (failing it in CI).
func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(vectortest.Shared(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestRFC8032 checks RFC 8032 §7.1 TEST 1 and TEST 2.
func TestRFC8032(t *testing.T) {
	for _, tc := range []struct {
		name                string
		secret, public, msg string
		sig                 string
	}{
		{
			name:   "TEST 1",
			secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			msg:    "",
			sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" +
				"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		},
		{
			name:   "TEST 2",
			secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			msg:    "72",
			sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
				"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv := ed25519.NewKeyFromSeed(testkit.Unhex(t, tc.secret))
			pub, msg, sig := testkit.Unhex(t, tc.public), testkit.Unhex(t, tc.msg), testkit.Unhex(t, tc.sig)
			if got := priv.Public().(ed25519.PublicKey); !slices.Equal(got, pub) {
				t.Fatalf("public key = %x, want %x", got, pub)
			}
			if got := ed25519.Sign(priv, msg); !slices.Equal(got, sig) {
				t.Fatalf("signature = %x, want %x", got, sig)
			}
			if err := CheckPublicKey(pub); err != nil {
				t.Fatalf("CheckPublicKey: %v", err)
			}
			if err := Verify(pub, msg, sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			for i := range len(sig) * 8 {
				bad := slices.Clone(sig)
				bad[i/8] ^= 1 << (i % 8)
				if Verify(pub, msg, bad) == nil {
					t.Fatalf("Verify accepted the signature with bit %d flipped", i)
				}
			}
			for i := range len(pub) * 8 {
				bad := slices.Clone(pub)
				bad[i/8] ^= 1 << (i % 8)
				if Verify(bad, msg, sig) == nil {
					t.Fatalf("Verify accepted the public key with bit %d flipped", i)
				}
			}
			if Verify(pub, append(slices.Clone(msg), 0), sig) == nil {
				t.Fatal("Verify accepted a longer message")
			}
			if err := Verify(pub, msg, sig[:63]); !errors.Is(err, ErrSignatureSize) {
				t.Fatalf("Verify of a short signature = %v, want ErrSignatureSize", err)
			}
		})
	}
}

// TestWycheproof checks Wycheproof's EdDSA verification vectors: "valid"
// signatures verify and "invalid" ones don't. Every group key in the file is
// a canonical prime-order point, so the strict key check never decides a case
// (the test asserts that too).
func TestWycheproof(t *testing.T) {
	var file struct {
		TestGroups []struct {
			PublicKey struct {
				PK string `json:"pk"`
			} `json:"publicKey"`
			Tests []struct {
				TcID    int      `json:"tcId"`
				Comment string   `json:"comment"`
				Flags   []string `json:"flags"`
				Msg     string   `json:"msg"`
				Sig     string   `json:"sig"`
				Result  string   `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, "wycheproof/ed25519_test.json", &file)
	n := 0
	for _, g := range file.TestGroups {
		pk := testkit.Unhex(t, g.PublicKey.PK)
		if err := CheckPublicKey(pk); err != nil {
			t.Errorf("group key %x: CheckPublicKey: %v", pk, err)
			continue
		}
		for _, tc := range g.Tests {
			n++
			err := Verify(pk, testkit.Unhex(t, tc.Msg), testkit.Unhex(t, tc.Sig))
			switch tc.Result {
			case "valid":
				if err != nil {
					t.Errorf("tcId %d (%s %v): Verify: %v, want valid", tc.TcID, tc.Comment, tc.Flags, err)
				}
			case "invalid":
				if err == nil {
					t.Errorf("tcId %d (%s %v): Verify accepted an invalid signature", tc.TcID, tc.Comment, tc.Flags)
				}
			default:
				t.Errorf("tcId %d: unexpected result %q", tc.TcID, tc.Result)
			}
		}
	}
	if n == 0 {
		t.Fatal("no test cases")
	}
}

// TestCCTV checks the CCTV edge-case vectors (ed25519vectors.json; its
// README describes the flags).
//
// CheckPublicKey must refuse exactly the keys flagged low_order_A,
// low_order_component_A or non_canonical_A, and accept every other key (a
// canonical point of prime order).
//
// Verify must accept exactly the vectors with none of those flags and
// neither non_canonical_R nor low_order_residue: on a strict key it behaves
// as crypto/ed25519, which recomputes R' = [S]B - [k]A, compares its
// canonical encoding with the signature's R bytes (so a non-canonical R
// fails), and does not multiply by the cofactor (so a residue fails); a
// low-order or mixed-order R whose torsion cancels is accepted.
func TestCCTV(t *testing.T) {
	var cases []struct {
		Number int      `json:"number"`
		Key    string   `json:"key"`
		Sig    string   `json:"sig"`
		Msg    string   `json:"msg"`
		Flags  []string `json:"flags"`
	}
	readJSON(t, "cctv/ed25519vectors.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no test cases")
	}
	var accepted, refused int
	for _, tc := range cases {
		has := func(f string) bool { return slices.Contains(tc.Flags, f) }
		pk, sig := testkit.Unhex(t, tc.Key), testkit.Unhex(t, tc.Sig)

		badKey := has("low_order_A") || has("low_order_component_A") || has("non_canonical_A")
		err := CheckPublicKey(pk)
		if badKey && err == nil {
			t.Errorf("case %d %v: CheckPublicKey accepted %x", tc.Number, tc.Flags, pk)
		}
		if !badKey && err != nil {
			t.Errorf("case %d %v: CheckPublicKey(%x): %v", tc.Number, tc.Flags, pk, err)
		}

		valid := !badKey && !has("non_canonical_R") && !has("low_order_residue")
		err = Verify(pk, []byte(tc.Msg), sig)
		if valid {
			accepted++
			if err != nil {
				t.Errorf("case %d %v: Verify: %v, want valid", tc.Number, tc.Flags, err)
			}
		} else {
			refused++
			if err == nil {
				t.Errorf("case %d %v: Verify accepted", tc.Number, tc.Flags)
			}
		}
	}
	// Both outcomes must be exercised, or the rule above tests nothing.
	if accepted == 0 || refused == 0 {
		t.Fatalf("%d cases accepted, %d refused; want both", accepted, refused)
	}
}

func TestCheckPublicKeySmallOrder(t *testing.T) {
	for _, h := range testkit.SmallOrderPoints {
		if err := CheckPublicKey(testkit.Unhex(t, h)); !errors.Is(err, ErrKeySmallOrder) {
			t.Errorf("CheckPublicKey(%s) = %v, want ErrKeySmallOrder", h, err)
		}
	}
	// Mixed order: a valid key plus each torsion point.
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	if err := CheckPublicKey(pub); err != nil {
		t.Fatalf("CheckPublicKey(valid key): %v", err)
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range testkit.SmallOrderPoints[1:] {
		q, err := new(edwards25519.Point).SetBytes(testkit.Unhex(t, h))
		if err != nil {
			t.Fatal(err)
		}
		mixed := new(edwards25519.Point).Add(p, q).Bytes()
		if err := CheckPublicKey(mixed); !errors.Is(err, ErrKeySmallOrder) {
			t.Errorf("CheckPublicKey(key + torsion %s) = %v, want ErrKeySmallOrder", h, err)
		}
	}
}

func TestCheckPublicKeyEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
	}{
		// Non-canonical encodings (CCTV README) of small-order points.
		{"identity x=-0", "0100000000000000000000000000000000000000000000000000000000000080"},
		{"identity y=p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"identity x=-0 y=p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"order 2 x=-0", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"order 4 y=p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"order 4 y=p sign", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		// y = 2^255-1 ≥ p: not canonical, whether or not it decodes.
		{"y=2^255-1", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	} {
		err := CheckPublicKey(testkit.Unhex(t, tc.hex))
		if err == nil || errors.Is(err, ErrKeySize) {
			t.Errorf("%s: CheckPublicKey = %v, want an encoding or small-order error", tc.name, err)
		}
	}

	// Every encoding with y ≥ p: y+p for y in [0, 19), either sign. Some
	// decode to points (mixed or small order), some to none; all must be
	// refused as encodings, before any order check.
	for y := range 19 {
		for _, sign := range []byte{0, 0x80} {
			enc := make([]byte, 32) // y + p, p = 2^255-19, little-endian
			carry := y + 0xed
			enc[0] = byte(carry)
			for i := 1; i < 31; i++ {
				carry = carry>>8 + 0xff
				enc[i] = byte(carry)
			}
			enc[31] = byte(carry>>8+0x7f) | sign
			if err := CheckPublicKey(enc); !errors.Is(err, ErrKeyEncoding) {
				t.Errorf("CheckPublicKey(%x) (y = p+%d) = %v, want ErrKeyEncoding", enc, y, err)
			}
		}
	}

	b := edwards25519.NewGeneratorPoint().Bytes()
	if err := CheckPublicKey(b); err != nil {
		t.Fatalf("CheckPublicKey(B): %v", err)
	}
	for _, n := range []int{0, 31, 33, 64} {
		if err := CheckPublicKey(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("CheckPublicKey(%d bytes) = %v, want ErrKeySize", n, err)
		}
	}
	if err := Verify(b[:31], nil, make([]byte, 64)); !errors.Is(err, ErrKeySize) {
		t.Errorf("Verify with a 31-byte key = %v, want ErrKeySize", err)
	}
}
