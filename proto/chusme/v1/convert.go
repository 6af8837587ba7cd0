package chusmev1

import (
	"time"

	"github.com/chusme/chusme"
)

// Conversions between the views of package chusme (the HTTP API's JSON
// shapes) and their protobuf forms. The server makes a view from the domain
// (chusme.CeremonyInfoOf, …) and sends it as JSON or through these; the
// client reads either back into the view. A view's round trip through its
// protobuf form equals its round trip through JSON: the lists JSON always
// carries come back empty, not nil, and times are Unix milliseconds
// (chusme.WireTime).

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// orEmpty is s, or an empty list for nil: what JSON decoding gives for a
// list it always carries.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// NewCeremonyEvent is the protobuf form of a ceremony's view.
func NewCeremonyEvent(v chusme.CeremonyInfo) *CeremonyEvent {
	ev := &CeremonyEvent{
		CeremonyId: v.ID, Kind: v.Kind, Version: v.Version, Status: v.Status,
		Round: int32(v.Round), Rounds: int32(v.Rounds), Submitted: v.Submitted,
		Participants: v.Participants, Threshold: int32(v.Threshold), Creator: v.Creator,
		KeyId: v.KeyID, Message: v.Message, SigningPackage: v.SigningPackage,
		DeadlineUnixMs: unixMs(v.Deadline), CreatedUnixMs: unixMs(v.CreatedAt), UpdatedUnixMs: unixMs(v.UpdatedAt),
		Missing: v.Missing, Needed: int32(v.Needed), RoundTimeoutSeconds: v.RoundTimeout, AllSigners: v.AllSigners,
		Signers: v.Signers, Excluded: v.Excluded, KeyGeneration: int32(v.KeyGeneration),
		NewParticipants: v.NewParticipants, Dealers: v.Dealers,
	}
	for _, d := range v.Declines {
		ev.Declines = append(ev.Declines, &CeremonyDecline{Fingerprint: d.Fingerprint, Round: int32(d.Round), Signature: d.Signature})
	}
	if f := v.Failure; f != nil {
		ev.Failure = &CeremonyFailure{Reason: f.Reason, Message: f.Message, Culprits: f.Culprits}
	}
	if r := v.Result; r != nil {
		ev.Result = &CeremonyResult{KeyId: r.KeyID, Signature: r.Signature, PublicKey: r.PublicKey}
	}
	if r := v.Request; r != nil {
		ev.Request = &CeremonyRequest{Kind: r.Kind, Threshold: int32(r.Threshold), Participants: r.Participants, KeyId: r.KeyID,
			MessageSha256: r.MessageSHA256, Deadline: r.Deadline, Nonce: r.Nonce, Signature: r.Signature,
			RoundTimeout: r.RoundTimeout, AllSigners: r.AllSigners, Generation: int32(r.Generation),
			NewParticipants: r.NewParticipants}
	}
	return ev
}

// View is the ceremony's view (a pushed inbox is not part of it: see
// CeremonyInbox.View).
func (ev *CeremonyEvent) View() chusme.CeremonyInfo {
	v := chusme.CeremonyInfo{
		ID: ev.GetCeremonyId(), Kind: ev.GetKind(), Status: ev.GetStatus(), Round: int(ev.GetRound()),
		Rounds: int(ev.GetRounds()), Creator: ev.GetCreator(), Threshold: int(ev.GetThreshold()),
		Participants: orEmpty(ev.GetParticipants()), KeyID: ev.GetKeyId(), Message: ev.GetMessage(),
		Submitted: orEmpty(ev.GetSubmitted()), Deadline: fromUnixMs(ev.GetDeadlineUnixMs()), Version: ev.GetVersion(),
		CreatedAt: fromUnixMs(ev.GetCreatedUnixMs()), UpdatedAt: fromUnixMs(ev.GetUpdatedUnixMs()),
		SigningPackage: ev.GetSigningPackage(), Missing: orEmpty(ev.GetMissing()), Needed: int(ev.GetNeeded()),
		RoundTimeout: ev.GetRoundTimeoutSeconds(), AllSigners: ev.GetAllSigners(), Signers: ev.GetSigners(),
		Excluded: ev.GetExcluded(), KeyGeneration: int(ev.GetKeyGeneration()),
		NewParticipants: ev.GetNewParticipants(), Dealers: ev.GetDealers(),
	}
	for _, d := range ev.GetDeclines() {
		v.Declines = append(v.Declines, chusme.CeremonyDecline{Fingerprint: d.GetFingerprint(), Round: int(d.GetRound()), Signature: d.GetSignature()})
	}
	if f := ev.GetFailure(); f != nil {
		v.Failure = &chusme.CeremonyFailure{Reason: f.GetReason(), Message: f.GetMessage(), Culprits: f.GetCulprits()}
	}
	if r := ev.GetResult(); r != nil {
		v.Result = &chusme.CeremonyResult{KeyID: r.GetKeyId(), Signature: r.GetSignature(), PublicKey: r.GetPublicKey()}
	}
	if r := ev.GetRequest(); r != nil {
		v.Request = &chusme.CeremonyRequest{Kind: r.GetKind(), Threshold: int(r.GetThreshold()), Participants: orEmpty(r.GetParticipants()),
			KeyID: r.GetKeyId(), MessageSHA256: r.GetMessageSha256(), Deadline: r.GetDeadline(), Nonce: r.GetNonce(), Signature: r.GetSignature(),
			RoundTimeout: r.GetRoundTimeout(), AllSigners: r.GetAllSigners(), Generation: int(r.GetGeneration()),
			NewParticipants: r.GetNewParticipants()}
	}
	return v
}

// NewCeremonyChange is the protobuf form of a ceremony's change.
func NewCeremonyChange(v chusme.CeremonyChange) *CeremonyChange {
	ch := &CeremonyChange{
		CeremonyId: v.ID, BaseVersion: v.BaseVersion, Version: v.Version, Round: int32(v.Round), Status: v.Status,
		Submitted: v.Submitted, Needed: int32(v.Needed), UpdatedUnixMs: unixMs(v.UpdatedAt),
	}
	if v.Ceremony != nil {
		ch.Ceremony = NewCeremonyEvent(*v.Ceremony)
	}
	return ch
}

// View is the change's view.
func (ch *CeremonyChange) View() chusme.CeremonyChange {
	v := chusme.CeremonyChange{
		ID: ch.GetCeremonyId(), BaseVersion: ch.GetBaseVersion(), Version: ch.GetVersion(), Round: int(ch.GetRound()),
		Status: ch.GetStatus(), Submitted: orEmpty(ch.GetSubmitted()), Needed: int(ch.GetNeeded()),
		UpdatedAt: fromUnixMs(ch.GetUpdatedUnixMs()),
	}
	if ev := ch.GetCeremony(); ev != nil {
		info := ev.View()
		v.Ceremony = &info
	}
	return v
}

// NewCeremonyList is the protobuf form of a list of ceremonies.
func NewCeremonyList(v chusme.CeremonyList) *CeremonyList {
	out := &CeremonyList{Ceremonies: make([]*CeremonyEvent, 0, len(v.Ceremonies)), NextCursor: v.NextCursor}
	for _, c := range v.Ceremonies {
		out.Ceremonies = append(out.Ceremonies, NewCeremonyEvent(c))
	}
	return out
}

// View is the list's view.
func (l *CeremonyList) View() chusme.CeremonyList {
	return chusme.CeremonyList{Ceremonies: views(l.GetCeremonies()), NextCursor: l.GetNextCursor()}
}

// views are the views of ceremony events, in their order (never nil).
func views(evs []*CeremonyEvent) []chusme.CeremonyInfo {
	out := make([]chusme.CeremonyInfo, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.View())
	}
	return out
}

// View is the views of the ceremonies the sync answers, in their order.
func (r *CeremonySyncResponse) View() []chusme.CeremonyInfo { return views(r.GetCeremonies()) }

// NewCeremonyInbox is the protobuf form of an inbox.
func NewCeremonyInbox(v chusme.Inbox) *CeremonyInbox {
	out := &CeremonyInbox{Round: int32(v.Round), Complete: v.Complete, Packages: make([]*CeremonyPackage, 0, len(v.Packages))}
	for _, p := range v.Packages {
		out.Packages = append(out.Packages, &CeremonyPackage{Round: int32(p.Round), Sender: p.Sender,
			Recipient: p.Recipient, Payload: p.Payload, Signature: p.Signature})
	}
	return out
}

// View is the inbox's view.
func (in *CeremonyInbox) View() chusme.Inbox {
	out := chusme.Inbox{Round: int(in.GetRound()), Complete: in.GetComplete(), Packages: make([]chusme.CeremonyPackage, 0, len(in.GetPackages()))}
	for _, p := range in.GetPackages() {
		out.Packages = append(out.Packages, chusme.CeremonyPackage{Round: int(p.GetRound()), Sender: p.GetSender(),
			Recipient: p.GetRecipient(), Payload: p.GetPayload(), Signature: p.GetSignature()})
	}
	return out
}

// NewCreateCeremonyRequest is the protobuf form of a ceremony creation.
func NewCreateCeremonyRequest(v chusme.CreateCeremonyRequest) *CreateCeremonyRequest {
	return &CreateCeremonyRequest{Kind: v.Kind, Threshold: int32(v.Threshold), Participants: v.Participants,
		KeyId: v.KeyID, Message: v.Message, Deadline: v.Deadline, Nonce: v.Nonce, Signature: v.Signature,
		RoundTimeout: v.RoundTimeout, AllSigners: v.AllSigners, Generation: int32(v.Generation), NewParticipants: v.NewParticipants}
}

// View is the creation's view, as the ceremony service takes it.
func (r *CreateCeremonyRequest) View() chusme.CreateCeremonyRequest {
	return chusme.CreateCeremonyRequest{Kind: r.GetKind(), Threshold: int(r.GetThreshold()), Participants: r.GetParticipants(),
		KeyID: r.GetKeyId(), Message: r.GetMessage(), Deadline: r.GetDeadline(), Nonce: r.GetNonce(), Signature: r.GetSignature(),
		RoundTimeout: r.GetRoundTimeout(), AllSigners: r.GetAllSigners(), Generation: int(r.GetGeneration()), NewParticipants: r.GetNewParticipants()}
}

// NewSubmitRequest is the protobuf form of a submission to round of
// ceremony id.
func NewSubmitRequest(id string, round int, v chusme.SubmitRequest) *SubmitRequest {
	out := &SubmitRequest{CeremonyId: id, Round: int32(round), Payload: v.Payload, Signature: v.Signature}
	for _, p := range v.Packages {
		out.Packages = append(out.Packages, &DirectPackage{Recipient: p.Recipient, Payload: p.Payload, Signature: p.Signature})
	}
	return out
}

// NewComplaintRequest is the protobuf form of a complaint about ceremony
// id.
func NewComplaintRequest(id string, v chusme.ComplaintRequest) *ComplaintRequest {
	return &ComplaintRequest{CeremonyId: id, Round: int32(v.Round), Accused: v.Accused, Signature: v.Signature,
		Secret: v.Secret, SecretSignature: v.SecretSignature}
}

// View is the complaint's view, as the ceremony service takes it (its
// ceremony id is GetCeremonyId).
func (r *ComplaintRequest) View() chusme.ComplaintRequest {
	return chusme.ComplaintRequest{Round: int(r.GetRound()), Accused: r.GetAccused(), Signature: r.GetSignature(),
		Secret: r.GetSecret(), SecretSignature: r.GetSecretSignature()}
}

// View is the submission's view, as the ceremony service takes it (its
// ceremony id and round are GetCeremonyId and GetRound).
func (r *SubmitRequest) View() chusme.SubmitRequest {
	out := chusme.SubmitRequest{Payload: r.GetPayload(), Signature: r.GetSignature()}
	for _, p := range r.GetPackages() {
		out.Packages = append(out.Packages, chusme.DirectPackage{Recipient: p.GetRecipient(), Payload: p.GetPayload(), Signature: p.GetSignature()})
	}
	return out
}
