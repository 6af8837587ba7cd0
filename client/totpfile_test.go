package client_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

func TestPendingTOTPFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "totp-pending.json")
	if _, err := client.LoadPendingTOTP(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	en := chusme.TOTPEnrolment{Secret: "JBSWY3DPEHPK3PXP", URI: "otpauth://totp/x", Issuer: "ChusMe (example.org)"}
	if err := client.SavePendingTOTP(path, en); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	got, err := client.LoadPendingTOTP(path)
	if err != nil || got != en {
		t.Fatalf("read back %+v, %v", got, err)
	}
	os.WriteFile(path, []byte(`{"version":1,"enrolment":{},"extra":1}`), 0o600)
	if _, err := client.LoadPendingTOTP(path); !errors.Is(err, client.ErrTOTPFile) {
		t.Fatalf("a file with an unknown field: %v", err)
	}
}
