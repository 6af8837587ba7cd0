package chusme

import "time"

// The conversions from domain values to the API's views, the one place both
// transports take them from: the HTTP API writes the views as JSON, the
// WebSocket converts the same views to protobuf (proto/chusme/v1), and the
// client reads either back into them, so that a value reads the same over
// both.

// WireTime is a time as the API carries it: in UTC at millisecond precision,
// what the WebSocket's Unix milliseconds hold, so that a time reads the
// same over HTTP (RFC 3339) and over the WebSocket. The zero time stays
// zero.
func WireTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// CeremonyInfoOf is the view of ceremony c: its times as WireTime, the
// message of a sign ceremony only, the failure of a failed or cancelled
// one, the result of a completed one, and its creator's signed request.
func CeremonyInfoOf(c Ceremony) CeremonyInfo {
	info := CeremonyInfo{
		ID: c.ID, Kind: c.Kind, Status: c.Status, Round: c.Round, Rounds: c.Rounds(), Creator: c.Creator,
		Threshold: c.Threshold, Participants: c.Participants, KeyID: c.KeyID, KeyGeneration: c.KeyGeneration, Submitted: c.Submitted,
		NewParticipants: c.NewParticipants, Dealers: c.Dealers,
		Deadline: WireTime(c.Deadline), Version: c.Version, CreatedAt: WireTime(c.CreatedAt),
		UpdatedAt: WireTime(c.UpdatedAt), SigningPackage: c.SigningPackage,
		RoundTimeout: int64(c.RoundTimeout / time.Second), AllSigners: c.AllSigners, Signers: c.Signers, Declines: c.Declines,
		Excluded: c.Excluded,
		Missing:  []string{},
	}
	if c.Status == CeremonyOpen {
		info.Missing, info.Needed = c.Missing(), c.Needed()
	}
	if c.Kind == KindSign {
		info.Message = c.Message
	}
	if info.Participants == nil {
		info.Participants = []string{}
	}
	if info.Submitted == nil {
		info.Submitted = []string{}
	}
	if len(c.RequestSignature) > 0 {
		info.Request = &CeremonyRequest{
			Kind: c.Kind, Threshold: c.Threshold, Participants: info.Participants, KeyID: c.KeyID,
			MessageSHA256: CeremonyMessageSHA256(c.Kind, c.Message), RoundTimeout: c.RequestRoundTimeout,
			AllSigners: c.AllSigners, Deadline: c.RequestDeadline, Generation: c.RequestGeneration(), NewParticipants: c.NewParticipants,
			Nonce: c.RequestNonce, Signature: c.RequestSignature,
		}
	}
	switch c.Status {
	case CeremonyFailed, CeremonyCancelled:
		info.Failure = &CeremonyFailure{Reason: c.FailureReason, Message: c.FailureMessage, Culprits: c.Culprits}
	case CeremonyCompleted:
		info.Result = &CeremonyResult{KeyID: c.ResultKeyID, PublicKey: c.PublicKey, Signature: c.Signature}
		if c.Kind == KindSign {
			info.Result.KeyID = c.KeyID
		}
	}
	return info
}

// CeremonyListOf is the view of a page of ceremonies, in their order, with
// the cursor of the next page.
func CeremonyListOf(cs []Ceremony, next string) CeremonyList {
	out := CeremonyList{Ceremonies: make([]CeremonyInfo, 0, len(cs)), NextCursor: next}
	for _, c := range cs {
		out.Ceremonies = append(out.Ceremonies, CeremonyInfoOf(c))
	}
	return out
}

// CeremonyPackageOf is the view of a relayed submission.
func CeremonyPackageOf(s CeremonySubmission) CeremonyPackage {
	return CeremonyPackage{Round: s.Round, Sender: s.Sender, Recipient: s.Recipient, Payload: s.Payload, Signature: s.Signature}
}

// InboxOf is the view of a round's packages for one reader; complete tells
// whether the round is over.
func InboxOf(round int, complete bool, subs []CeremonySubmission) Inbox {
	out := Inbox{Round: round, Complete: complete, Packages: make([]CeremonyPackage, 0, len(subs))}
	for _, s := range subs {
		out.Packages = append(out.Packages, CeremonyPackageOf(s))
	}
	return out
}

// GroupKeyInfoOf is the view of group key k.
func GroupKeyInfoOf(k GroupKey) GroupKeyInfo {
	shares := make(map[string]Bytes, len(k.VerifyingShares))
	for fp, s := range k.VerifyingShares {
		shares[fp] = s
	}
	info := GroupKeyInfo{
		KeyID: k.ID, PublicKey: k.PublicKey, Generation: k.Generation, Threshold: k.Threshold, Participants: k.Participants,
		VerifyingShares: shares, PublicKeyPackage: k.PublicKeyPackage, CeremonyID: k.CeremonyID, CreatedAt: WireTime(k.CreatedAt),
	}
	if len(k.Confirmations) > 0 {
		info.Certificate = &GroupKeyCertificate{
			Issuer: k.Issuer, CeremonyID: k.CeremonyID, Transcript: k.Transcript, Threshold: k.Threshold,
			VerifyingSharesHash: VerifyingSharesHash(k.Participants, k.VerifyingShares), Confirmations: k.Confirmations,
			Kind: k.Kind, Endorsements: k.Endorsements,
		}
	}
	return info
}

// SubmitAnswerOf is the answer to caller's accepted submission for round
// of c, as c stands after it: the whole state when c has left that round
// or is no longer open, else only the version, round, status and what the
// round still needs.
func SubmitAnswerOf(c Ceremony, caller string, round int) CeremonyChange {
	ch := CeremonyChange{ID: c.ID, Version: c.Version, Round: c.Round, Status: c.Status, Submitted: []string{caller},
		UpdatedAt: WireTime(c.UpdatedAt)}
	if c.Status != CeremonyOpen || c.Round != round {
		info := CeremonyInfoOf(c)
		ch.Ceremony = &info
	} else {
		ch.Needed = c.Needed()
	}
	return ch
}
