package client

import (
	"errors"
	"os"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
)

// A pending TOTP enrolment file keeps an enrolment (EnrolTOTP's answer,
// secret included, as the authenticator app holds it) from the moment it
// is shown until a code confirms it (ConfirmTOTP), so that a later run can
// confirm it: mode 0600, written atomically, removed once TOTP is on.

// ErrTOTPFile means a pending enrolment file is not one this client wrote.
var ErrTOTPFile = errors.New("client: not a pending TOTP enrolment file")

const (
	totpFileVersion = 1
	maxTOTPFileSize = 4 << 10
)

var totpFileKind = jsonfile.Kind{Version: totpFileVersion, MaxSize: maxTOTPFileSize, Mode: FileMode, ErrFormat: ErrTOTPFile}

type totpFile struct {
	Version   int                  `json:"version"`
	Enrolment chusme.TOTPEnrolment `json:"enrolment"`
}

// SavePendingTOTP writes enrolment en to the file at path, replacing any.
func SavePendingTOTP(path string, en chusme.TOTPEnrolment) error {
	return totpFileKind.Save(path, totpFile{Version: totpFileVersion, Enrolment: en})
}

// LoadPendingTOTP reads the enrolment SavePendingTOTP wrote at path;
// os.ErrNotExist if there is none.
func LoadPendingTOTP(path string) (chusme.TOTPEnrolment, error) {
	var f totpFile
	ok, err := totpFileKind.Load(path, &f, &f.Version)
	if err == nil && !ok {
		err = os.ErrNotExist
	}
	return f.Enrolment, err
}
