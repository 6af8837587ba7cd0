package vault

import (
	"bytes"
	"errors"
	"testing"
)

// testLimits keep Argon2id cheap when a flipped bit changes the parameters.
var testLimits = limits{time: 4, memoryKiB: 256, threads: 4}

func mustSeal(t testing.TB, pass, purpose string, pt []byte) []byte {
	t.Helper()
	sealed, err := Seal([]byte(pass), purpose, pt, LowCostParams)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

func TestRoundTrip(t *testing.T) {
	for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed := mustSeal(t, "correct horse", "identity-key", pt)
		got, err := Open([]byte("correct horse"), "identity-key", sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
		if p, err := Purpose(sealed); err != nil || p != "identity-key" {
			t.Fatalf("Purpose = %q, %v", p, err)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	a := mustSeal(t, "pw", "backup", []byte("same"))
	b := mustSeal(t, "pw", "backup", []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
}

func TestHeaderLayout(t *testing.T) {
	sealed := mustSeal(t, "pw", "backup", []byte("abc"))
	want := len(Magic) + 2 + len("backup") + 9 + SaltSize + 12 + 3 + 16
	if len(sealed) != want {
		t.Fatalf("len = %d, want %d", len(sealed), want)
	}
	if !bytes.HasPrefix(sealed, []byte(Magic)) || sealed[8] != Version {
		t.Fatalf("bad prefix %x", sealed[:9])
	}
}

func TestDefaultParamsWhenZero(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2id")
	}
	sealed, err := Seal([]byte("pw"), "backup", []byte("abc"), Params{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if h.params != DefaultParams {
		t.Fatalf("params = %+v, want %+v", h.params, DefaultParams)
	}
}

func TestWrongPassphraseFails(t *testing.T) {
	sealed := mustSeal(t, "right", "identity-key", []byte("seed"))
	got, err := Open([]byte("wrong"), "identity-key", sealed)
	if !errors.Is(err, ErrDecrypt) || got != nil {
		t.Fatalf("Open = %q, %v; want nil, ErrDecrypt", got, err)
	}
}

func TestWrongPurposeFails(t *testing.T) {
	sealed := mustSeal(t, "pw", "identity-key", []byte("seed"))
	got, err := Open([]byte("pw"), "backup", sealed)
	if !errors.Is(err, ErrDecrypt) || got != nil {
		t.Fatalf("Open = %q, %v; want nil, ErrDecrypt", got, err)
	}
}

// A header that claims another purpose, but whose key is derived for the
// right one, still fails: the header is associated data.
func TestRelabelledPurposeFails(t *testing.T) {
	sealed := mustSeal(t, "pw", "aaaa", []byte("seed"))
	relabelled := bytes.Replace(sealed, []byte("aaaa"), []byte("bbbb"), 1)
	if _, err := Open([]byte("pw"), "bbbb", relabelled); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open = %v, want ErrDecrypt", err)
	}
}

func TestEveryFlippedBitFails(t *testing.T) {
	sealed := mustSeal(t, "pw", "identity-key", []byte("0123456789abcdef0123456789abcdef"))
	for i := range len(sealed) * 8 {
		b := bytes.Clone(sealed)
		b[i/8] ^= 1 << (i % 8)
		_, got, err := open([]byte("pw"), "identity-key", b, testLimits)
		if err == nil || got != nil {
			t.Fatalf("bit %d flipped: Open = %q, %v; want an error", i, got, err)
		}
		if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrFormat) {
			t.Fatalf("bit %d flipped: unexpected error %v", i, err)
		}
	}
}

func TestTruncatedFails(t *testing.T) {
	sealed := mustSeal(t, "pw", "identity-key", []byte("seed"))
	for n := range len(sealed) {
		if got, err := Open([]byte("pw"), "identity-key", sealed[:n]); err == nil || got != nil {
			t.Fatalf("truncated to %d: Open = %q, %v", n, got, err)
		}
	}
	if _, err := Open([]byte("pw"), "identity-key", append(sealed, 0)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("trailing byte: Open = %v, want ErrDecrypt", err)
	}
}

func TestOpenRefusesParamsBeyondBounds(t *testing.T) {
	for name, p := range map[string]Params{
		"memory over 1 GiB": {Time: 1, MemoryKiB: MaxMemoryKiB + 1, Threads: 1},
		"memory 4 GiB":      {Time: 1, MemoryKiB: 1<<32 - 1, Threads: 1},
		"time over max":     {Time: MaxTime + 1, MemoryKiB: 64, Threads: 1},
		"time zero":         {Time: 0, MemoryKiB: 64, Threads: 1},
		"threads zero":      {Time: 1, MemoryKiB: 64, Threads: 0},
		"threads over max":  {Time: 1, MemoryKiB: 8 * 255, Threads: 255},
		"memory under 8/th": {Time: 1, MemoryKiB: 31, Threads: 4},
	} {
		t.Run(name, func(t *testing.T) {
			// Forge a header: Open must refuse it before any Argon2id work.
			b := appendHeader(nil, "backup", p, make([]byte, SaltSize))
			b = append(b, make([]byte, 12+16)...)
			if got, err := Open([]byte("pw"), "backup", b); !errors.Is(err, ErrFormat) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrFormat", got, err)
			}
			if _, err := Seal([]byte("pw"), "backup", nil, p); !errors.Is(err, ErrParams) {
				t.Fatalf("Seal = %v; want ErrParams", err)
			}
		})
	}
}

func TestSealRefusesBadPurpose(t *testing.T) {
	for _, purpose := range []string{"", "Identity", "a b", string(bytes.Repeat([]byte("a"), MaxPurposeLen+1)), "ключ"} {
		if _, err := Seal([]byte("pw"), purpose, nil, LowCostParams); !errors.Is(err, ErrPurpose) {
			t.Errorf("Seal(purpose %q) = %v, want ErrPurpose", purpose, err)
		}
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("CHUSMEV1"), []byte("CHUSMEV2\x01"), []byte("not a vault at all, really not")} {
		if got, err := Open([]byte("pw"), "backup", b); !errors.Is(err, ErrFormat) || got != nil {
			t.Errorf("Open(%q) = %q, %v; want ErrFormat", b, got, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add([]byte("pw"), "identity-key", mustSeal(f, "pw", "identity-key", []byte("seed")))
	f.Add([]byte("pw"), "backup", mustSeal(f, "pw", "backup", nil))
	f.Add([]byte("x"), "backup", []byte("CHUSMEV1\x01\x06backup"))
	f.Fuzz(func(t *testing.T, pass []byte, purpose string, sealed []byte) {
		_, got, err := open(pass, purpose, sealed, testLimits)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with non-nil plaintext", err)
			}
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrFormat) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if p, err := Purpose(sealed); err != nil || p != purpose {
			t.Fatalf("opened a vault whose purpose is %q, %v", p, err)
		}
	})
}
