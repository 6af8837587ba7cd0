package chusme

import "time"

// CreateCeremonyRequest starts a ceremony (POST /v1/ceremonies).
type CreateCeremonyRequest struct {
	Kind         string   `json:"kind"`                   // "dkg", "sign" or "refresh"
	Threshold    int      `json:"threshold,omitempty"`    // dkg: t; refresh: the key's (or 0)
	Participants []string `json:"participants,omitempty"` // dkg: the n participants; sign: the signers; refresh: who keeps a share
	KeyID        string   `json:"key_id,omitempty"`       // sign, refresh: the group key
	Generation   int      `json:"generation,omitempty"`   // refresh, reshare: the key's current generation, which it replaces
	// NewParticipants (reshare) are who will hold the new shares; Threshold
	// is then theirs, and Participants every old holder that deals and
	// every new holder.
	NewParticipants []string `json:"new_participants,omitempty"`
	Message         Bytes    `json:"message,omitempty"` // sign: at most MaxSignMessage bytes
	// RoundTimeout is how long each round may take, in seconds: from
	// MinRoundTimeout to the server's maximum; 0 means the server's default.
	RoundTimeout int64 `json:"round_timeout,omitempty"`
	// AllSigners (sign) asks that every signer sign, rather than the first
	// t to commit.
	AllSigners bool `json:"all_signers,omitempty"`

	// The creator's signature (CeremonyRequestMessage) over the ceremony
	// these fields make, with a deadline and a nonce.
	Deadline  int64 `json:"deadline"`  // Unix seconds: the request is void after it
	Nonce     Bytes `json:"nonce"`     // 16 to 32 random bytes, never reused by the creator
	Signature Bytes `json:"signature"` // the creator's identity key over CeremonyRequestMessage
}

// CeremonyFailure explains a failed or cancelled ceremony.
type CeremonyFailure struct {
	Reason   string   `json:"reason"` // a Fail* constant, or "cancelled"
	Message  string   `json:"message"`
	Culprits []string `json:"culprits,omitempty"` // fingerprints blamed or missing
}

// CeremonyResult is what a completed ceremony produced.
type CeremonyResult struct {
	KeyID     string `json:"key_id,omitempty"`     // dkg: the new group key; sign: the key used
	PublicKey Bytes  `json:"public_key,omitempty"` // the group public key
	Signature Bytes  `json:"signature,omitempty"`  // sign: the 64-byte Ed25519 signature
}

// CeremonyInfo is a ceremony as its members see it (GET /v1/ceremonies/{id};
// the WebSocket's CeremonyEvent). CeremonyInfoOf makes it; its times are
// WireTime (UTC, whole milliseconds).
type CeremonyInfo struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Status       string   `json:"status"`
	Round        int      `json:"round"`
	Rounds       int      `json:"rounds"`
	Creator      string   `json:"creator"`
	Threshold    int      `json:"threshold"`
	Participants []string `json:"participants"`
	KeyID        string   `json:"key_id,omitempty"`
	// KeyGeneration (sign, refresh) is the generation of the key's shares
	// the ceremony signs with or replaces.
	KeyGeneration int `json:"key_generation,omitempty"`
	// NewParticipants (reshare) hold the new shares; Dealers, the old
	// holders among the participants, deal them.
	NewParticipants []string `json:"new_participants,omitempty"`
	Dealers         []string `json:"dealers,omitempty"`
	Message         Bytes    `json:"message,omitempty"`
	Submitted       []string `json:"submitted"` // who has submitted in the current round
	// Missing is who may still submit in the current round (Expected
	// minus Submitted); Needed how many more submissions it needs.
	Missing      []string  `json:"missing"`
	Needed       int       `json:"needed"`
	Deadline     time.Time `json:"deadline"`      // of the current round
	RoundTimeout int64     `json:"round_timeout"` // seconds each round may take
	AllSigners   bool      `json:"all_signers,omitempty"`
	// Signers (sign, in a share round) are the candidates whose commitments
	// the signing package holds; the other candidates are not needed.
	Signers  []string          `json:"signers,omitempty"`
	Declines []CeremonyDecline `json:"declines,omitempty"` // signed declines, in the order they came
	// Excluded (sign) are signers of a signing package that did not send
	// their share in time: the ceremony started over without them, or
	// failed.
	Excluded       []string         `json:"excluded,omitempty"`
	Version        int64            `json:"version"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	SigningPackage Bytes            `json:"signing_package,omitempty"` // sign, from round 2
	Failure        *CeremonyFailure `json:"failure,omitempty"`
	Result         *CeremonyResult  `json:"result,omitempty"`
	// Request is the creator's signed request; nil for a ceremony made
	// before requests were signed (which clients refuse).
	Request *CeremonyRequest `json:"request,omitempty"`
}

// CeremonyListQuery selects a page of a caller's ceremonies (GET
// /v1/ceremonies?status=&limit=&cursor=, the WebSocket's
// ListCeremoniesRequest and CeremonySyncRequest).
type CeremonyListQuery struct {
	Status string // "" for any
	Cursor string // the NextCursor of the page before; "" for the first page
	Limit  int    // 1 to MaxCeremonyListLimit; 0 means MaxCeremonyListLimit
}

// CeremonyList is the answer of GET /v1/ceremonies: a page of ceremonies
// and the cursor of the next page ("" after the last).
type CeremonyList struct {
	Ceremonies []CeremonyInfo `json:"ceremonies"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// DeclineRequest declines a ceremony (POST /v1/ceremonies/{id}/decline):
// the participant's signature over CeremonyDeclineMessage.
type DeclineRequest struct {
	Signature Bytes `json:"signature"`
}

// DirectPackage is a point-to-point package of a submission.
type DirectPackage struct {
	Recipient string `json:"recipient"`
	Payload   Bytes  `json:"payload"`
	Signature Bytes  `json:"signature"` // over CeremonyPackageMessage
}

// SubmitRequest is a participant's package for a round (POST
// /v1/ceremonies/{id}/rounds/{n}): a broadcast (Payload and Signature) or,
// in DKG round 2, one DirectPackage for every other participant.
type SubmitRequest struct {
	Payload   Bytes           `json:"payload,omitempty"`
	Signature Bytes           `json:"signature,omitempty"`
	Packages  []DirectPackage `json:"packages,omitempty"`
}

// ComplaintRequest is a participant's complaint (POST
// /v1/ceremonies/{id}/complaints) that the point-to-point package Accused
// sent it in Round fails Accused's signature or does not open, or that a
// DKG's round-1 package of Accused does not decode; or, with Secret, that
// the secret Accused sealed in that package does not open Accused's public
// commitment.
type ComplaintRequest struct {
	Round     int    `json:"round"`
	Accused   string `json:"accused"`
	Signature Bytes  `json:"signature"` // the complainer's identity key over CeremonyComplaintMessage
	// Secret is the secret's encoding as the complainer opened it from the
	// package (SplitSealedSecret), and SecretSignature Accused's signature
	// over it (CeremonySecretMessage); both empty for the other complaints.
	Secret          Bytes `json:"secret,omitempty"`
	SecretSignature Bytes `json:"secret_signature,omitempty"`
}

// CeremonyPackage is a relayed package, as the inbox returns it.
type CeremonyPackage struct {
	Round     int    `json:"round"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient,omitempty"` // "" for a broadcast
	Payload   Bytes  `json:"payload"`
	Signature Bytes  `json:"signature"`
}

// Inbox is the answer of GET /v1/ceremonies/{id}/rounds/{n}/inbox: the
// round's broadcasts and the packages addressed to the caller. Complete
// tells whether the round is over (every participant submitted).
type Inbox struct {
	Round    int               `json:"round"`
	Complete bool              `json:"complete"`
	Packages []CeremonyPackage `json:"packages"`
}

// CeremonyHeads is every participant's identity chain head as the server
// has it, in the ceremony's order (GET /v1/ceremonies/{id}/heads). A client
// that verified and pinned a participant's chain at exactly that head need
// not fetch the chain; for any other head it fetches the chain, which must
// hold that head.
type CeremonyHeads struct {
	Heads []ParticipantHead `json:"heads"`
}

// GroupKeyInfo is a group key (GET /v1/keys/{key_id}).
type GroupKeyInfo struct {
	KeyID            string           `json:"key_id"`
	PublicKey        Bytes            `json:"public_key"`
	Generation       int              `json:"generation"` // GroupKey.Generation: 1 for a DKG's shares
	Threshold        int              `json:"threshold"`
	Participants     []string         `json:"participants"`
	VerifyingShares  map[string]Bytes `json:"verifying_shares"` // fingerprint → verifying share
	PublicKeyPackage Bytes            `json:"public_key_package"`
	CeremonyID       string           `json:"ceremony_id"`
	CreatedAt        time.Time        `json:"created_at"`
	// Certificate holds the participants' signed confirmations; nil for a
	// key made before certificates (which clients refuse).
	Certificate *GroupKeyCertificate `json:"certificate,omitempty"`
}

// GroupKeyCertificate is what the n participants of a DKG signed about its
// group key (GroupKeyConfirmMessage); VerifyGroupKeyCertificate checks it.
type GroupKeyCertificate struct {
	Issuer              string                 `json:"issuer"`
	CeremonyID          string                 `json:"ceremony_id"`
	Transcript          Bytes                  `json:"transcript"` // DKGTranscriptHash
	Threshold           int                    `json:"threshold"`
	VerifyingSharesHash Bytes                  `json:"verifying_shares_hash"`
	Confirmations       []GroupKeyConfirmation `json:"confirmations"` // in the participants' order
	// Kind is the kind of the ceremony that made this generation (dkg,
	// refresh or reshare); Endorsements, for a refresh or reshare, the
	// endorsements of the previous generation's holders that took part
	// (GroupKeyEndorseMessage; VerifyGroupKeyLineage checks them).
	Kind         string                 `json:"kind"`
	Endorsements []GroupKeyConfirmation `json:"endorsements,omitempty"`
}

// GroupKeyConfirmation is one participant's signed confirmation: its chain
// head when it confirmed, the device key (one of the identity's at that
// head) that signed it, and that key's signature over
// GroupKeyConfirmMessage; in a certificate's confirmations
// also its share signature, made with its signing share over
// SharePossessionMessage (none in an endorsement).
type GroupKeyConfirmation struct {
	Fingerprint    string `json:"fingerprint"`
	HeadSeq        uint64 `json:"head_seq"`
	HeadHash       Bytes  `json:"head_hash"`
	PublicKey      Bytes  `json:"public_key"`
	Signature      Bytes  `json:"signature"`
	ShareSignature Bytes  `json:"share_signature,omitempty"`
}

// CeremonyChange is what one or more submissions changed in a ceremony that
// stayed open in the same round: pushed over the WebSocket in place of the
// whole CeremonyInfo (docs/protocol.md, "Ceremony events"), and the answer
// of a submission (POST /v1/ceremonies/{id}/rounds/{n}), which carries the
// whole state in Ceremony when it moved the round or the status.
type CeremonyChange struct {
	ID string `json:"id"`
	// BaseVersion is the version the change applies to: the state the same
	// connection was pushed before it (0 in a submission's answer, which
	// names only the caller's own submission).
	BaseVersion int64     `json:"base_version,omitempty"`
	Version     int64     `json:"version"`
	Round       int       `json:"round"`
	Status      string    `json:"status"`
	Submitted   []string  `json:"submitted"` // who submitted after BaseVersion, sorted
	Needed      int       `json:"needed"`    // how many more submissions the round needs
	UpdatedAt   time.Time `json:"updated_at"`
	// Ceremony is the whole state after a submission that moved the round
	// or the status, or answered a replay of an earlier round; nil
	// otherwise, and in pushed changes.
	Ceremony *CeremonyInfo `json:"ceremony,omitempty"`
}
