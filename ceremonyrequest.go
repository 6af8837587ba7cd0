package chusme

import (
	"crypto/sha256"
	"time"
)

// Signed ceremony requests (docs/protocol.md, "Signed ceremony requests"):
// a ceremony's creator signs, with its identity key,
// CeremonyRequestMessage over what it asks for. The server checks the
// signature under the creator's current key against the ceremony it
// builds, stores it, and hands it to every participant in
// CeremonyInfo.Request; every participant checks it again against the
// creator's verified key before it approves or commits, so a server can't
// make up a request or alter one.

// Bounds of a ceremony request.
const (
	// MaxCeremonyRequestAhead bounds a request's deadline: the server
	// refuses one more than 24 hours after its clock (and one already
	// past), so that a signed request can't wait indefinitely to be used.
	MaxCeremonyRequestAhead = 24 * time.Hour
	// MinCeremonyRequestNonce and MaxCeremonyRequestNonce bound the length
	// of a request's client-chosen random nonce: 16 to 32 bytes.
	MinCeremonyRequestNonce = 16
	MaxCeremonyRequestNonce = 32
	// MinRoundTimeout is the shortest round timeout a request may ask
	// for: 1 second, as for the server's default (--ceremony-round-timeout).
	// The longest is the server's (--ceremony-round-timeout-max).
	MinRoundTimeout = time.Second
)

// CeremonyRequestMessage is what a ceremony's creator signs with its
// identity key: the label, the issuer, the kind, the threshold (8 bytes;
// for a signing ceremony the key's), the number of participants (8 bytes)
// and each participant's (DKG) or signer's (sign) fingerprint in ascending
// order as the server stores them, the key id ("" for a DKG), the SHA-256
// of the message (empty for a DKG), the round timeout in seconds (8 bytes;
// 0 for the server's default), whether every signer must sign (one byte, 1
// or 0; 0 for a DKG), the deadline in Unix seconds (8 bytes, signed) and
// the nonce; for a refresh, a reshare or a repair, then the generation of
// the key's shares it replaces or repairs (8 bytes); for a reshare, then
// the number of new participants (8 bytes) and their fingerprints, sorted
// (for a repair, the one holder it repairs).
func CeremonyRequestMessage(issuer, kind string, threshold int, participants []string, keyID string, messageSHA256 []byte,
	roundTimeout int64, allSigners bool, deadline int64, nonce []byte, generation int, newParticipants []string) []byte {
	fields := [][]byte{[]byte(issuer), []byte(kind), u64(uint64(threshold)), u64(uint64(len(participants)))}
	for _, fp := range participants {
		fields = append(fields, []byte(fp))
	}
	all := []byte{0}
	if allSigners {
		all[0] = 1
	}
	fields = append(fields, []byte(keyID), messageSHA256, u64(uint64(roundTimeout)), all, u64(uint64(deadline)), nonce)
	if kind == KindRefresh || kind == KindReshare || kind == KindRepair {
		fields = append(fields, u64(uint64(generation)))
	}
	if kind == KindReshare || kind == KindRepair {
		fields = append(fields, u64(uint64(len(newParticipants))))
		for _, fp := range newParticipants {
			fields = append(fields, []byte(fp))
		}
	}
	return signedMessage(LabelCeremonyRequest, fields...)
}

// CeremonyMessageSHA256 is the message hash a ceremony request of kind
// signs: the SHA-256 of message for a signing ceremony, nil for a DKG.
func CeremonyMessageSHA256(kind string, message []byte) []byte {
	if kind != KindSign {
		return nil
	}
	h := sha256.Sum256(message)
	return h[:]
}

// CeremonyRequest is a ceremony's request as its creator signed it (the
// CeremonyInfo's request member): the fields of CeremonyRequestMessage
// and the signature.
type CeremonyRequest struct {
	Kind         string   `json:"kind"`
	Threshold    int      `json:"threshold"`
	Participants []string `json:"participants"`         // sorted
	KeyID        string   `json:"key_id,omitempty"`     // sign, refresh
	Generation   int      `json:"generation,omitempty"` // refresh, reshare: the key generation it replaces
	// NewParticipants (reshare) are the new holders, sorted.
	NewParticipants []string `json:"new_participants,omitempty"`
	MessageSHA256   Bytes    `json:"message_sha256,omitempty"` // sign
	RoundTimeout    int64    `json:"round_timeout"`            // seconds; 0: the server's default
	AllSigners      bool     `json:"all_signers"`              // sign: every signer must sign
	Deadline        int64    `json:"deadline"`                 // Unix seconds
	Nonce           Bytes    `json:"nonce"`
	Signature       Bytes    `json:"signature"` // the creator's identity key over CeremonyRequestMessage
}

// Message is the statement r's signature is over, for issuer.
func (r CeremonyRequest) Message(issuer string) []byte {
	return CeremonyRequestMessage(issuer, r.Kind, r.Threshold, r.Participants, r.KeyID, r.MessageSHA256, r.RoundTimeout, r.AllSigners,
		r.Deadline, r.Nonce, r.Generation, r.NewParticipants)
}
