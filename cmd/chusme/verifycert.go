package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// codeInvalidCertificate: keys verify-cert: the group key or its
// certificate does not verify.
const codeInvalidCertificate = "invalid_certificate"

// keysVerifyCert checks group key KEY's certificate: offline
// (chusme.VerifyGroupKeyCertificate) and against every participant's
// verified, pinned chain (client.GroupKey does both), and prints who made
// the key at which chain heads.
func (e *env) keysVerifyCert(args []string) error {
	gk, err := e.groupKeyArg("keys verify-cert", args)
	if errors.Is(err, client.ErrBadCertificate) || errors.Is(err, client.ErrWrongGroupKey) || errors.Is(err, client.ErrPeerKey) {
		return chusme.Errorf(codeInvalidCertificate, "the group key is NOT certified: %v", err)
	}
	if err != nil {
		return err
	}
	cert := gk.Certificate
	out := struct {
		Valid     bool         `json:"valid"`
		KeyID     string       `json:"key_id"`
		PublicKey chusme.Bytes `json:"public_key"`
		*chusme.GroupKeyCertificate
	}{true, gk.KeyID, gk.PublicKey, cert}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "group key %s is certified: made by these %d identities, %d of them needed to sign,\n",
			gk.KeyID, len(cert.Confirmations), cert.Threshold)
		fmt.Fprintf(w, "in ceremony %s at %s; each signed it with its key at the chain head shown\n", cert.CeremonyID, cert.Issuer)
		for _, m := range cert.Confirmations {
			fmt.Fprintf(w, "participant\t%s\thead %d %x\tkey %x\n", m.Fingerprint, m.HeadSeq, []byte(m.HeadHash), []byte(m.PublicKey))
		}
	})
}
