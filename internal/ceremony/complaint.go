package ceremony

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// Complain handles caller's complaint that the DKG round-2 package that
// req.Accused sent it fails its sender's signature (or does not open), or
// that req.Accused's round-1 package does not decode. The server does not
// verify those n·(n-1) signatures at submission, nor decode more than the
// first of a round-1 package's t commitment points; a complaint makes it
// check one package: after the complaint's own signature
// (CeremonyComplaintMessage under caller's current key, else
// CodeInvalidSignature), the accused's stored package to caller, under the
// accused's current key (round 2), or the accused's stored round-1 package,
// every point decoded strictly (round 1). If that fails, the ceremony fails
// at once with FailInvalidPackage naming the accused; if it passes, the
// server holds a good package that was altered on its way to caller, and
// the answer is CodePackageValid with nothing changed. Participants only.
func (s *Service) Complain(ctx context.Context, caller, id string, req chusme.ComplaintRequest) (chusme.Ceremony, error) {
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return c, err
	}
	if !c.IsParticipant(caller) {
		return chusme.Ceremony{}, errNotFound
	}
	if !c.Direct(req.Round) && !(c.Kind == chusme.KindDKG && req.Round == 1) {
		return chusme.Ceremony{}, invalid("only a dkg's round-1 packages and point-to-point packages can be complained about, "+
			"not a %s's round %d", c.Kind, req.Round)
	}
	if req.Accused == caller || !c.IsParticipant(req.Accused) {
		return chusme.Ceremony{}, invalid("accused %q is not another participant", req.Accused)
	}
	if c.Status != chusme.CeremonyOpen {
		return c, chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", c.Status)
	}
	complainer, err := s.store.GetIdentity(ctx, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	if complainer.Status != chusme.StatusActive {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeBanned, "the identity is banned")
	}
	if len(req.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(complainer.PublicKey, chusme.CeremonyComplaintMessage(id, req.Round, caller, req.Accused), req.Signature) {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeInvalidSignature, "the complaint's signature does not verify under %s's current key", caller)
	}
	inbox, err := s.store.ListInbox(ctx, id, req.Round, caller)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	var pkg *chusme.CeremonySubmission
	for i := range inbox {
		if inbox[i].Sender == req.Accused {
			pkg = &inbox[i]
		}
	}
	if pkg == nil {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeNotFound, "%s has sent no round-%d package to %s", req.Accused, req.Round, caller)
	}
	accused, err := s.store.GetIdentity(ctx, req.Accused)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	valid, why := true, ""
	if req.Round == 1 {
		_, pkgBytes, _ := chusme.SplitDKGRound1Payload(pkg.Payload)
		var full frost.DKGRound1Package
		if full.UnmarshalBinary(pkgBytes) != nil {
			valid, why = false, "the DKG round-1 package of "+req.Accused+" does not decode"
		}
	} else {
		s.timed("package_signature", func() error {
			valid = ed25519.Verify(accused.PublicKey, chusme.CeremonyPackageMessage(id, req.Round, req.Accused, caller, pkg.Payload), pkg.Signature)
			return nil
		})
		why = fmt.Sprintf("the %s round-%d package of %s to %s does not verify under its sender's key", c.Kind, req.Round, req.Accused, caller)
	}
	if valid {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodePackageValid,
			"the round-%d package of %s is good as the server holds it: it was changed on its way to you", req.Round, req.Accused)
	}
	s.log.Warn("ceremony package complaint upheld", "ceremony", id, "round", req.Round, "complainer", caller, "accused", req.Accused)
	return s.update(ctx, id, func(st *chusme.CeremonyState) error {
		if st.Ceremony.Status != chusme.CeremonyOpen {
			return chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", st.Ceremony.Status)
		}
		return s.finish(&st.Ceremony, chusme.CeremonyFailed, chusme.FailInvalidPackage, why, []string{req.Accused})
	})
}
