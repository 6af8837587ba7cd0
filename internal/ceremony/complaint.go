package ceremony

import (
	"context"
	"errors"
	"fmt"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// Complain handles caller's complaint about a package req.Accused sent it
// (docs/protocol.md, "Complaints"). The server does not verify the
// n·(n-1) point-to-point signatures at submission, nor decode more than the
// first of a DKG round-1 package's t commitment points; a complaint makes it
// check one package. After the complaint's own signature
// (CeremonyComplaintMessage under caller's current key, else
// CodeInvalidSignature) it checks:
//   - with req.Secret: the accused's signature over that secret
//     (CeremonySecretMessage; else CodeInvalidSignature, nothing changed),
//     then the secret against the accused's public commitment (checkSecret);
//   - a point-to-point package: the accused's stored package to caller,
//     under the accused's current key;
//   - a DKG round-1 package: every point decoded strictly.
//
// If that fails, the ceremony fails at once naming the accused
// (FailInvalidShare for a secret, FailInvalidPackage for the others); if it
// passes, the answer is CodePackageValid with nothing changed: the package
// was good as the server holds it (and was changed on its way to caller),
// or the secret opens its commitment. Participants only.
func (s *Service) Complain(ctx context.Context, caller, id string, req chusme.ComplaintRequest) (chusme.Ceremony, error) {
	defer clear(req.Secret)
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return c, err
	}
	if !c.IsParticipant(caller) {
		return chusme.Ceremony{}, errNotFound
	}
	if !c.Direct(req.Round) && (c.Kind != chusme.KindDKG || req.Round != 1 || len(req.Secret) > 0) {
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
	if complainer.DeviceSigner(chusme.CeremonyComplaintMessage(id, req.Round, caller, req.Accused), req.Signature) == nil {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeInvalidSignature, "the complaint's signature does not verify under a current device key of %s", caller)
	}
	// The accused's own packages of the round: one stored row, where the
	// complainer's inbox would read every sender's.
	sent, err := s.store.ListSent(ctx, id, req.Round, req.Accused)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	var pkg *chusme.CeremonySubmission
	for i := range sent {
		if sent[i].Recipient == caller || sent[i].Recipient == "" {
			pkg = &sent[i]
		}
	}
	if pkg == nil {
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodeNotFound, "%s has sent no round-%d package to %s", req.Accused, req.Round, caller)
	}
	accused, err := s.store.GetIdentity(ctx, req.Accused)
	if err != nil {
		return chusme.Ceremony{}, err
	}
	valid, reason, why := true, chusme.FailInvalidPackage, ""
	switch {
	case len(req.Secret) > 0:
		if accused.DeviceSigner(chusme.CeremonySecretMessage(id, req.Round, req.Accused, caller, req.Secret), req.SecretSignature) == nil {
			return chusme.Ceremony{}, chusme.Errorf(chusme.CodeInvalidSignature,
				"the revealed secret is not signed by %s's current key for this ceremony, round and recipient", req.Accused)
		}
		if valid, err = s.checkSecret(ctx, c, req.Round, req.Accused, caller, req.Secret); err != nil {
			return chusme.Ceremony{}, err
		}
		reason = chusme.FailInvalidShare
		why = fmt.Sprintf("the secret %s sealed to %s in round %d of the %s does not open its commitment", req.Accused, caller, req.Round, c.Kind)
	case req.Round == 1:
		_, pkgBytes, _ := chusme.SplitDKGRound1Payload(pkg.Payload)
		var full frost.DKGRound1Package
		if full.UnmarshalBinary(pkgBytes) != nil {
			valid, why = false, "the DKG round-1 package of "+req.Accused+" does not decode"
		}
	default:
		s.timed("package_signature", func() error {
			valid = accused.DeviceSigner(chusme.CeremonyPackageMessage(id, req.Round, req.Accused, caller, pkg.Payload), pkg.Signature) != nil
			return nil
		})
		why = fmt.Sprintf("the %s round-%d package of %s to %s does not verify under its sender's key", c.Kind, req.Round, req.Accused, caller)
	}
	if valid {
		if len(req.Secret) > 0 {
			return chusme.Ceremony{}, chusme.Errorf(chusme.CodePackageValid,
				"the round-%d secret of %s opens its commitment: it is good", req.Round, req.Accused)
		}
		return chusme.Ceremony{}, chusme.Errorf(chusme.CodePackageValid,
			"the round-%d package of %s is good as the server holds it: it was changed on its way to you", req.Round, req.Accused)
	}
	s.log.Warn("ceremony complaint upheld", "ceremony", id, "round", req.Round, "complainer", caller, "accused", req.Accused, "reason", reason)
	return s.update(ctx, id, func(st *chusme.CeremonyState) error {
		if st.Ceremony.Status != chusme.CeremonyOpen {
			return chusme.Errorf(chusme.CodeCeremonyClosed, "the ceremony is %s", st.Ceremony.Status)
		}
		return s.finish(&st.Ceremony, chusme.CeremonyFailed, reason, why, []string{req.Accused})
	})
}

// checkSecret reports whether secret, which sender sealed to recipient in
// round of ceremony c (its signature checked), opens sender's public
// commitment: a DKG's or refresh's round-2 share against the sender's
// round-1 package, a reshare's share against the dealer's commitment, a
// repair's delta (round 2) against the sender's commitment and its sigma
// (round 3) against every helper's. A secret that does not decode does
// not open it.
func (s *Service) checkSecret(ctx context.Context, c chusme.Ceremony, round int, sender, recipient string, secret []byte) (bool, error) {
	round1, err := s.store.ListSubmissions(ctx, c.ID, 1)
	if err != nil {
		return false, err
	}
	commitments := make(map[string][]byte, len(round1))
	for _, r := range round1 {
		_, commitments[r.Sender], _ = chusme.SplitKeyChangeRound1Payload(r.Payload)
	}
	to, err := identifier(recipient)
	if err != nil {
		return false, err
	}
	from, err := identifier(sender)
	if err != nil {
		return false, err
	}
	decode := func(v interface{ UnmarshalBinary([]byte) error }, b []byte) bool { return v.UnmarshalBinary(b) == nil }
	switch {
	case c.Kind == chusme.KindDKG && round == 2:
		var share frost.DKGRound2Package
		defer share.Zero()
		var pkg frost.DKGRound1Package // the server decoded its first point only: a bad one is the sender's fault too
		return decode(&share, secret) && decode(&pkg, commitments[sender]) && frost.VerifyDKGShare(&pkg, to, &share) == nil, nil
	case c.Kind == chusme.KindRefresh && round == 2:
		var share frost.DKGRound2Package
		defer share.Zero()
		var pkg frost.RefreshRound1Package
		if !decode(&pkg, commitments[sender]) {
			return false, errors.New("ceremony: a stored refresh round-1 package does not decode")
		}
		return decode(&share, secret) && frost.VerifyRefreshShare(&pkg, to, &share) == nil, nil
	case c.Kind == chusme.KindReshare && round == 2:
		var share frost.ReshareShare
		defer share.Zero()
		var com frost.ReshareCommitment
		if !decode(&com, commitments[sender]) {
			return false, errors.New("ceremony: a stored reshare commitment does not decode")
		}
		return decode(&share, secret) && frost.VerifyReshareShare(&com, to, &share) == nil, nil
	case c.Kind == chusme.KindRepair && (round == 2 || round == 3):
		helpers, err := identifiers(c.Dealers)
		if err != nil {
			return false, err
		}
		coms := make(map[frost.Identifier]*frost.RepairCommitment, len(c.Dealers))
		for i, fp := range c.Dealers {
			coms[helpers[i]] = new(frost.RepairCommitment)
			if !decode(coms[helpers[i]], commitments[fp]) {
				return false, errors.New("ceremony: a stored repair commitment does not decode")
			}
		}
		if round == 2 {
			var delta frost.RepairDelta
			defer delta.Zero()
			return decode(&delta, secret) && frost.VerifyRepairDelta(coms[from], helpers, to, &delta) == nil, nil
		}
		var sigma frost.RepairSigma
		defer sigma.Zero()
		return decode(&sigma, secret) && frost.VerifyRepairSigma(coms, helpers, from, &sigma) == nil, nil
	}
	return false, invalid("a %s's round-%d packages hold no secret to reveal", c.Kind, round)
}
