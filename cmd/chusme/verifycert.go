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
// verified, pinned chain, and its line from generation 1 (client.GroupKey
// does all three), and prints who holds the key at which chain heads and,
// for a later generation, who of the holders before endorsed it.
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
		Valid      bool         `json:"valid"`
		KeyID      string       `json:"key_id"`
		PublicKey  chusme.Bytes `json:"public_key"`
		Generation int          `json:"generation"`
		*chusme.GroupKeyCertificate
	}{true, gk.KeyID, gk.PublicKey, gk.Generation, cert}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "group key %s (generation %d, made by a %s) is certified: held by these %d identities, %d of them needed to sign,\n",
			gk.KeyID, gk.Generation, cert.Kind, len(cert.Confirmations), cert.Threshold)
		fmt.Fprintf(w, "in ceremony %s at %s; each signed it with one of its device keys at the chain head shown (the key below), and with its share\n", cert.CeremonyID, cert.Issuer)
		for _, m := range cert.Confirmations {
			fmt.Fprintf(w, "participant\t%s\thead %d %x\tkey %x\n", m.Fingerprint, m.HeadSeq, []byte(m.HeadHash), []byte(m.PublicKey))
		}
		if len(cert.Endorsements) > 0 {
			fmt.Fprintf(w, "endorsed by these holders of generation %d, in a line checked from generation 1:\n", gk.Generation-1)
		}
		for _, m := range cert.Endorsements {
			fmt.Fprintf(w, "endorser\t%s\thead %d %x\tkey %x\n", m.Fingerprint, m.HeadSeq, []byte(m.HeadHash), []byte(m.PublicKey))
		}
	})
}
