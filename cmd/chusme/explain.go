package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// Codes of the failures the CLI names itself.
const (
	codeUnreachable = "server_unreachable" // no connection to --server
	codeNotChusMe   = "not_chusme"         // --server answers, but not as a ChusMe server
	codeInterrupted = "interrupted"        // Ctrl-C (or SIGTERM)
	// codeCeremonyFailed: the ceremony ended without its result (failed
	// or cancelled); the message names the reason and who.
	codeCeremonyFailed = "ceremony_failed"
)

// ceremonyStep is what to do after a ceremony failed for each reason.
var ceremonyStep = map[string]string{
	chusme.FailDeclined:       "ask them, or start again without them",
	chusme.FailDeadline:       "those named did not take part in time: start again when they can (--round-timeout gives each round longer)",
	"cancelled":               "its creator (or an administrator) cancelled it",
	chusme.FailSignatureShare: "those named sent a bad signature share: check their client, start again without them",
}

// nextStep is what to do after the server's error of each code, appended
// to its message.
var nextStep = map[string]string{
	chusme.CodeSessionRevoked: "run chusme login",
	chusme.CodeRefreshInvalid: "run chusme login",
	chusme.CodeRefreshReused:  "the session was revoked: run chusme login",
	chusme.CodeTokenExpired:   "run chusme login",
	chusme.CodeTokenInvalid:   "run chusme login",
	chusme.CodeSetupInvalid: "the server has its administrator already (a setup token is used once): " +
		"ask an administrator for an invite and run chusme register --invite TOKEN",
	chusme.CodeInviteInvalid:      "ask an administrator for a new invite (chusme admin invite)",
	chusme.CodeRegistrationClosed: "this server registers by invite: run chusme register --invite TOKEN",
	chusme.CodeIdentityExists:     "this key is registered already: run chusme login",
	chusme.CodeBanned:             "an administrator of this server banned this identity",
	chusme.CodeRateLimited:        "wait a little and run it again",
	chusme.CodeUnavailable:        "the server's database is unavailable for a moment: run it again shortly",
}

// explained is an error the CLI put in its own words, still wrapping the
// error it explains.
type explained struct {
	said  *chusme.Error
	cause error
}

func (x *explained) Error() string   { return x.said.Error() }
func (x *explained) Unwrap() []error { return []error{x.said, x.cause} }

// explain turns err into one line that says what happened and what to do
// next, keeping the server's problem code (or naming the CLI's own): a
// server that can't be reached, one that is not ChusMe, an interruption,
// and the server's errors that have a next step. Other errors pass.
func (e *env) explain(err error) error {
	if said := e.say(err); said != nil {
		return &explained{said: said, cause: err}
	}
	return err
}

// say is explain's line for err, or nil.
func (e *env) say(err error) *chusme.Error {
	var ce *chusme.Error
	var cer *client.CeremonyError
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return chusme.Errorf(codeInterrupted, "interrupted (a ceremony resumes with chusme ceremony join ID)")
	case errors.Is(err, client.ErrUnexpectedAnswer):
		return chusme.Errorf(codeNotChusMe, "%s does not answer as a ChusMe server (%v): check --server (CHUSME_SERVER), or the proxy in front of it", e.server, err)
	case errors.As(err, &dns):
		return chusme.Errorf(codeUnreachable, "can't reach %s: no such host %q: check --server (CHUSME_SERVER)", e.server, dns.Name)
	case errors.As(err, &op) && op.Op == "dial":
		why := "the connection failed"
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			why = "nothing listens there"
		case errors.Is(err, os.ErrDeadlineExceeded) || op.Timeout():
			why = "it did not answer in time"
		}
		return chusme.Errorf(codeUnreachable, "can't reach the server at %s: %s: start chusmed there, or point --server (CHUSME_SERVER) at it", e.server, why)
	case errors.As(err, &cer) && cer.Info.Failure != nil:
		f := cer.Info.Failure
		msg := fmt.Sprintf("ceremony %s %s in round %d: %s (%s)", cer.Info.ID, cer.Info.Status, cer.Info.Round, f.Message, f.Reason)
		if len(f.Culprits) > 0 {
			msg += "; named: " + e.contactNames().labels(f.Culprits)
		}
		if step, ok := ceremonyStep[f.Reason]; ok {
			msg += ": " + step
		}
		return chusme.Errorf(codeCeremonyFailed, "%s", msg)
	case errors.As(err, &ce):
		if step, ok := nextStep[ce.Code]; ok && !errors.Is(err, client.ErrNotLoggedIn) {
			return chusme.Errorf(ce.Code, "%s: %s", ce.Message, step)
		}
	}
	return nil
}

// checkServerURL refuses a --server that is not a server's base URL
// (client.NormalizeURL) as a usage error, before anything is sent.
func checkServerURL(s string) error {
	if _, err := client.NormalizeURL(s); err != nil {
		return usagef("--server: %v", err)
	}
	return nil
}

// notRegistered explains a login refused because the server knows no such
// identity.
func notRegistered(err error, fp, server string) error {
	if chusme.ErrorCode(err) != chusme.CodeNotFound {
		return err
	}
	return chusme.Errorf(chusme.CodeNotFound, "%s knows no identity %s: register it first (chusme register --invite TOKEN, or chusme setup --token T on a new server)", server, fp)
}

// next tells the person at the terminal (on stderr, never in --json) the
// command to run next, and why.
func (e *env) next(command, why string) {
	if e.json {
		return
	}
	fmt.Fprintf(e.stderr, "Next: %s  (%s)\n", command, why)
}
