package chusme

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"
)

// FROST ceremonies (DESIGN §4). The server is the RFC 9591 coordinator and a
// relay: it checks what it can (proofs of knowledge, package signatures,
// signature shares), relays the rest, and never holds a secret share.
//
// Protocol, DKG with n participants and threshold t:
//
//	round 1  each participant broadcasts DKGRound1Payload: its ephemeral
//	         HPKE public key and its frost DKG round-1 package. The server
//	         verifies the proof of knowledge (on the first commitment point:
//	         the recipients decode the others and complain about a package
//	         that does not decode) and fails the ceremony naming a sender
//	         whose proof is bad.
//	round 2  each participant sends every other participant its frost DKG
//	         round-2 package, signed inside (SealedSecret,
//	         CeremonySecretMessage) and HPKE-sealed to the recipient's
//	         ephemeral key (info DKGShareInfo), so the server relays
//	         ciphertext only. The server checks their shape, not their
//	         n·(n-1) signatures: each recipient verifies its packages and, if
//	         one fails (or does not open), sends a signed complaint
//	         (CeremonyComplaintMessage). The server then verifies that one
//	         package: if its signature fails, the ceremony fails at once
//	         naming its sender (FailInvalidPackage); if it verifies, the
//	         answer is CodePackageValid and nothing changes. A share that
//	         opens but is bad the recipient reveals with its sender's inner
//	         signature; the server checks it against the sender's round-1
//	         commitment and names the sender (FailInvalidShare).
//	round 3  each participant reports DKGConfirmPayload: the hash of the n
//	         round-1 payloads it saw (DKGTranscriptHash), every participant's
//	         chain head, the public key package it computed, its identity
//	         key's signature over GroupKeyConfirmMessage and its share's over
//	         SharePossessionMessage. The server checks both signatures and
//	         that the heads are current. The ceremony completes
//	         only when all n agree with each other and with the server's
//	         transcript; the group key is then stored under GroupKeyID with
//	         the n signed confirmations, its certificate.
//
// Signing with a group key, a message and a set of at least t signers:
//
//	round 1  each signer, after approving the message, sends its nonce
//	         commitments. The server refuses a commitment it has seen before
//	         for that key, then builds the signing package.
//	round 2  each signer checks the signing package (its own commitment
//	         unchanged, the approved message) and sends its signature share.
//	         The server verifies every share, names cheaters, aggregates,
//	         verifies the signature with crypto/ed25519 and stores it.
//
// Every submitted package is signed by its sender's identity key over
// CeremonyPackageMessage (ceremony id, round, sender, recipient, payload
// hash); the server checks these signatures on submission (DKG round 2's on
// complaint) and every client checks them again on what it receives, so a
// server that swaps or alters a relayed package is caught.

// Ceremony kinds.
const (
	KindDKG  = "dkg"  // distributed key generation: result is a group key
	KindSign = "sign" // threshold signing: result is an Ed25519 signature
	// KindRefresh: new shares of a group key for its holders (all of them,
	// or all but some that are removed), by a DKG of shares of zero; the
	// result is the key's next generation.
	KindRefresh = "refresh"
	// KindReshare: a group key's secret dealt anew, by at least t of its
	// holders, to a new set of holders with a new threshold (frost's
	// verifiable secret redistribution); the result is the key's next
	// generation, under the same public key.
	KindReshare = "reshare"
	// KindRepair: a holder's lost share rebuilt by at least t other
	// holders, none of whom learns it (frost-core's repairable threshold
	// scheme); the key and its generation stay.
	KindRepair = "repair"
)

// Ceremony statuses. Open is the only non-terminal one.
const (
	CeremonyOpen      = "open"
	CeremonyCompleted = "completed"
	CeremonyFailed    = "failed"
	CeremonyCancelled = "cancelled"
)

// Rounds of each kind.
const (
	DKGRounds = 3 // broadcast, point-to-point, confirmation
	// RepairRounds: HPKE keys; deltas between helpers; sums to the
	// holder being repaired; its check.
	RepairRounds = 4
	SignRounds   = 2 // per attempt: commitments, signature shares
	// MaxSignAttempts bounds how often a signing ceremony starts over
	// without a signer that went silent or declined after the signing
	// package was made: attempt a has rounds 2a−1 (commitments) and 2a
	// (shares), so a signing ceremony has at most 16 rounds.
	MaxSignAttempts = 8
)

// Failure reasons, the Reason of a failed ceremony (and a metrics label).
const (
	FailDeadline          = "deadline"           // a round missed its deadline; Culprits did not submit
	FailProofOfKnowledge  = "proof_of_knowledge" // a DKG round-1 proof of knowledge is bad; Culprits sent it
	FailSignatureShare    = "signature_share"    // a signature share does not verify; Culprits sent it
	FailDisagreement      = "disagreement"       // DKG confirmations differ; Culprits disagree with the majority
	FailInvalidSignature  = "invalid_signature"  // the aggregate does not verify and no share is to blame
	FailParticipantBanned = "participant_banned" // a participant was banned meanwhile
	// FailDeclined: a participant declined (CeremonyDeclineMessage); a DKG
	// fails at once, a signing ceremony when fewer than t candidates are
	// left to sign (or to start over with). Culprits are the decliners.
	FailDeclined = "declined"
	// FailInvalidPackage: a point-to-point package fails its sender's
	// signature, or a DKG round-1 package does not decode (found on a
	// complaint); Culprits sent it.
	FailInvalidPackage = "invalid_package"
	// FailKeyChanged: a refresh or reshare found its key at another generation than
	// the one it was to replace (another refresh completed first).
	FailKeyChanged = "key_changed"
	// FailInvalidCommitment: a reshare dealer's or a repair helper's
	// round-1 commitment does not commit to its share of the key
	// (frost.VerifyReshareCommitment, frost.VerifyRepairCommitment);
	// Culprits sent it.
	FailInvalidCommitment = "invalid_commitment"
	// FailRepairMismatch: the share a repair rebuilt is not the repaired
	// holder's share of the key, though every part opened its commitment
	// (only a holder whose key package disagrees with the key gets here).
	FailRepairMismatch = "repair_mismatch"
	// FailInvalidShare: a secret a participant sealed to another (a DKG,
	// refresh or reshare share, a repair delta or sigma), revealed by its
	// recipient in a complaint with the sender's signature over it
	// (CeremonySecretMessage), does not open the sender's public
	// commitment; Culprits sent it.
	FailInvalidShare = "invalid_share"
)

// Limits of ceremonies.
const (
	// MaxCeremonyParticipants bounds n (and the signer set): 2 ≤ t ≤ n ≤ 255.
	// A DKG relays n·(n-1) round-2 packages and every participant checks n
	// round-1 packages of t points; the server's work per participant stays
	// the same at every n (docs/performance-ceremonies.md), and the bound
	// keeps a ceremony's storage and each request's size small.
	MaxCeremonyParticipants = 255
	// MaxCeremonyListLimit is the most ceremonies one page of a list
	// holds (and the size of a page when the request names none): 100.
	MaxCeremonyListLimit = 100
	// MaxSignMessage is the largest message a signing ceremony signs: 64 KiB.
	MaxSignMessage = 64 << 10
	// MaxCeremonyPayload is the largest payload of one package: 48 KiB,
	// above the largest DKG round-1 package (t = 255: 8.2 KiB) and the
	// largest confirmation (n = 255: 35.0 KiB, of which 17.9 KiB are chain
	// heads and 16.5 KiB the public key package).
	MaxCeremonyPayload = 48 << 10
)

// Codes of ceremony problems.
const (
	CodeInvalidPackage   = "invalid_package"   // a package is malformed or its signature does not verify
	CodeCeremonyClosed   = "ceremony_closed"   // the ceremony is completed, failed or cancelled
	CodeWrongRound       = "wrong_round"       // the submission is not for the current round
	CodeCommitmentReused = "commitment_reused" // a signing commitment was seen before for this key
	// CodeNotNeeded: a signing ceremony's signing package was made from
	// other signers' commitments (the first t to commit): this signer is
	// not needed, and its submission is not taken.
	CodeNotNeeded = "signer_not_needed"
	// CodeDeclined: the participant declined the ceremony and can no
	// longer submit to it.
	CodeDeclined = "declined"
	// CodePackageValid answers a complaint about a package that the server
	// holds good (with a good signature; for round 1, one that decodes): it
	// was altered on its way to the complainer, and nothing changes.
	CodePackageValid = "package_valid"
	// CodeTooManyOpenCeremonies: the creator has as many open ceremonies
	// as the server allows; one must finish (or be cancelled) first.
	CodeTooManyOpenCeremonies = "too_many_open_ceremonies"
)

// ErrUnchanged, returned by an UpdateCeremony callback, ends the transaction
// without writing anything; UpdateCeremony then returns the ceremony as it
// was and a nil error. Idempotent replays use it.
var ErrUnchanged = errors.New("chusme: ceremony unchanged")

// Ceremony is one FROST ceremony's record.
type Ceremony struct {
	ID           string
	Kind         string   // KindDKG, KindSign, KindRefresh or KindReshare
	Creator      string   // fingerprint of the identity that started it
	Status       string   // CeremonyOpen, …
	Round        int      // current round, from 1; the last round once terminal
	Threshold    int      // t
	Participants []string // DKG: the n participants; sign: the candidate signers (sorted)
	KeyID        string   // sign, refresh, reshare: the group key
	// KeyGeneration is the group key's generation a signing ceremony
	// signs with or a refresh replaces, as it was at creation.
	KeyGeneration int
	// NewParticipants (reshare) are the holders of the new shares, sorted;
	// Dealers the old holders among Participants, who deal them, sorted.
	// A repair's NewParticipants is the one holder it repairs, its Dealers
	// the helpers.
	NewParticipants []string
	Dealers         []string
	Message         []byte   // sign: the message
	Submitted       []string // who has submitted in the current round, sorted
	Deadline        time.Time
	Version         int64 // increases by one with every write
	CreatedAt       time.Time
	UpdatedAt       time.Time
	RoundStarted    time.Time // when the current round began
	// RoundTimeout is how long each round may take: the request's, or the
	// server's default when the request names none.
	RoundTimeout time.Duration
	// AllSigners (sign): every candidate that has not declined must
	// commit; otherwise the first Threshold to commit sign.
	AllSigners bool
	// Signers (sign, in a share round): the candidates whose commitments
	// the signing package holds, sorted.
	Signers []string
	// Excluded (sign): the signers of a signing package that did not send
	// their share in time; never chosen again.
	Excluded []string
	// Declines are the participants' signed declines, in the order they
	// came.
	Declines []CeremonyDecline

	// The creator's signed request (CeremonyRequestMessage over Kind,
	// Threshold, Participants, KeyID, the message's SHA-256 and these).
	RequestDeadline     int64 // Unix seconds
	RequestRoundTimeout int64 // seconds; 0: the server's default
	RequestNonce        []byte
	RequestSignature    []byte

	Transcript     []byte // DKG: DKGTranscriptHash of round 1, once round 1 is complete
	SigningPackage []byte // sign: the frost signing package, once round 1 is complete

	FailureReason  string   // a Fail* constant, or "" unless failed
	FailureMessage string   // human-readable explanation
	Culprits       []string // fingerprints blamed (or missing) when failed

	ResultKeyID string // DKG: the group key created
	PublicKey   []byte // completed: the group public key (DKG: created; sign: used)
	Signature   []byte // sign: the 64-byte signature
}

// MakesShares reports whether c deals new shares by a DKG, with its three
// rounds (broadcast, point-to-point, confirmation): a DKG or a refresh.
func (c *Ceremony) MakesShares() bool {
	return c.Kind == KindDKG || c.Kind == KindRefresh || c.Kind == KindReshare
}

// Direct reports whether round r of c carries point-to-point packages
// (each HPKE-sealed to its recipient) rather than broadcasts: round 2 of a
// ceremony that makes shares, rounds 2 and 3 of a repair.
func (c *Ceremony) Direct(r int) bool {
	return (c.MakesShares() && r == 2) || (c.Kind == KindRepair && (r == 2 || r == 3))
}

// Recipients returns who sender's packages in direct round r of c go to:
// every other holder of the key being made (a repair's round 2: every
// other helper; its round 3: the holder being repaired).
func (c *Ceremony) Recipients(r int, sender string) []string {
	to := c.Holders()
	switch {
	case c.Kind == KindRepair && r == 2:
		to = c.Dealers
	case c.Kind == KindRepair:
		to = c.NewParticipants
	}
	return slices.DeleteFunc(slices.Clone(to), func(fp string) bool { return fp == sender })
}

// Holders returns who holds a share of the key c makes: a reshare's new
// participants, otherwise its participants.
func (c *Ceremony) Holders() []string {
	if c.Kind == KindReshare {
		return c.NewParticipants
	}
	return c.Participants
}

// RequestGeneration is the key generation c's request names: for a
// refresh or a reshare, the one it replaces, for a repair the one whose
// share it rebuilds; 0 for other kinds.
func (c *Ceremony) RequestGeneration() int {
	if c.Kind != KindRefresh && c.Kind != KindReshare && c.Kind != KindRepair {
		return 0
	}
	return c.KeyGeneration
}

// Rounds returns the number of rounds of c: a DKG's or a refresh's three;
// for a signing ceremony, those up to the end of its current attempt (2
// per attempt).
func (c *Ceremony) Rounds() int {
	if c.MakesShares() {
		return DKGRounds
	}
	if c.Kind == KindRepair {
		return RepairRounds
	}
	return max(c.Round+c.Round%2, SignRounds)
}

// CommitRound reports whether round r of c collects signing commitments:
// the odd rounds of a signing ceremony, one per attempt.
func (c *Ceremony) CommitRound(r int) bool { return c.Kind == KindSign && r%2 == 1 }

// ShareRound reports whether round r of c collects signature shares: the
// even rounds of a signing ceremony.
func (c *Ceremony) ShareRound(r int) bool { return c.Kind == KindSign && r%2 == 0 }

// IsParticipant reports whether fp takes part in c.
func (c *Ceremony) IsParticipant(fp string) bool { return slices.Contains(c.Participants, fp) }

// Declined reports whether fp declined c.
func (c *Ceremony) Declined(fp string) bool {
	return slices.ContainsFunc(c.Declines, func(d CeremonyDecline) bool { return d.Fingerprint == fp })
}

// Endorsers returns who endorses the generation a refresh or reshare c
// makes (GroupKeyEndorseMessage, in round 3): the participants that hold
// a share of the one it replaces (a refresh's participants, a reshare's
// dealers); nil for other kinds.
func (c *Ceremony) Endorsers() []string {
	switch c.Kind {
	case KindRefresh:
		return c.Participants
	case KindReshare:
		return c.Dealers
	}
	return nil
}

// Expected returns who may submit in c's current round, sorted: a DKG's
// participants (a reshare's: in round 2 its dealers; in round 3 all, the
// new holders confirming and the dealers endorsing); in a signing ceremony's commitment round, the candidates
// that have neither declined nor been excluded, and in its share round its
// Signers.
func (c *Ceremony) Expected() []string {
	switch {
	case c.Kind == KindReshare && c.Round == 2, c.Kind == KindRepair && (c.Round == 2 || c.Round == 3):
		return c.Dealers
	case c.Kind == KindRepair && c.Round == 4:
		return c.NewParticipants
	case c.ShareRound(c.Round):
		return c.Signers
	case c.Kind == KindSign:
		return slices.DeleteFunc(slices.Clone(c.Participants), func(fp string) bool { return c.Declined(fp) || slices.Contains(c.Excluded, fp) })
	}
	return c.Participants
}

// Needed returns how many more submissions c's current round needs to
// complete: every expected one, except in a signing ceremony's round 1
// without AllSigners, where Threshold commitments are enough.
func (c *Ceremony) Needed() int {
	expected, done := c.Expected(), c.submittedSet()
	in := 0
	for _, fp := range expected {
		if _, ok := done[fp]; ok {
			in++
		}
	}
	want := len(expected)
	if c.CommitRound(c.Round) && !c.AllSigners {
		want = c.Threshold
	}
	return max(want-in, 0)
}

// Missing returns who of c's expected submitters in the current round has
// not submitted yet, sorted.
func (c *Ceremony) Missing() []string {
	out := []string{}
	done := c.submittedSet()
	for _, fp := range c.Expected() {
		if _, ok := done[fp]; !ok {
			out = append(out, fp)
		}
	}
	return out
}

// submittedSet returns c.Submitted as a set, so that a round of n is
// compared with its expected submitters in O(n), not O(n²).
func (c *Ceremony) submittedSet() map[string]struct{} {
	set := make(map[string]struct{}, len(c.Submitted))
	for _, fp := range c.Submitted {
		set[fp] = struct{}{}
	}
	return set
}

// CeremonyDecline is a participant's signed refusal of a ceremony: its
// identity key's signature over CeremonyDeclineMessage, and the round the
// ceremony was in.
type CeremonyDecline struct {
	Fingerprint string `json:"fingerprint"`
	Round       int    `json:"round"`
	Signature   Bytes  `json:"signature"`
}

// CeremonyDeclineMessage is what a participant signs to decline a
// ceremony: the label, the issuer, the ceremony id and its own
// fingerprint. One signature covers the whole ceremony, whatever its round.
func CeremonyDeclineMessage(issuer, ceremonyID, decliner string) []byte {
	return signedMessage(LabelCeremonyDecline, []byte(issuer), []byte(ceremonyID), []byte(decliner))
}

// CeremonySubmission is one stored package: what sender submitted in a round,
// addressed to recipient ("" for a broadcast). Submissions are never changed
// once written.
type CeremonySubmission struct {
	CeremonyID string
	Round      int
	Sender     string
	Recipient  string // "" for a broadcast
	Payload    []byte
	Signature  []byte // sender's identity key over CeremonyPackageMessage
	CreatedAt  time.Time
}

// GroupKey is the result of a completed DKG, in its current generation.
type GroupKey struct {
	ID        string // GroupKeyID(PublicKey)
	PublicKey []byte // the 32-byte Ed25519 group public key
	// Generation counts the sets of shares the key has had: 1 for the
	// shares a DKG made, one more for each ceremony that replaced them
	// (the public key, and so the id, stay the same).
	Generation       int
	Threshold        int
	Participants     []string          // fingerprints, in the DKG's order
	VerifyingShares  map[string][]byte // fingerprint → 32-byte verifying share
	PublicKeyPackage []byte            // frost PublicKeyPackage encoding
	CeremonyID       string
	CreatedAt        time.Time

	// The certificate (VerifyGroupKeyCertificate): the issuer and transcript
	// the participants signed, and one confirmation per participant, in
	// Participants' order. Empty for a key made before certificates.
	Issuer        string
	Transcript    []byte
	Confirmations []GroupKeyConfirmation
	// Kind is the kind of the ceremony that made this generation: KindDKG,
	// KindRefresh or KindReshare. Endorsements are, for a refresh or
	// reshare, the signed endorsements (GroupKeyEndorseMessage) of the
	// holders of the generation before, in the ceremony's Endorsers order.
	Kind         string
	Endorsements []GroupKeyConfirmation
}

// CeremonyState is what an UpdateCeremony callback reads and writes: the
// ceremony (which it may change), reads of the current round's stored
// submissions inside the transaction, and what to add. The reads load only
// what they name, so a transition costs the same whatever the round holds.
type CeremonyState struct {
	Ceremony Ceremony
	// Sent returns what sender stored in Ceremony.Round, by recipient.
	Sent func(sender string) ([]CeremonySubmission, error)
	// Broadcasts returns Ceremony.Round's stored broadcasts, by sender.
	Broadcasts func() ([]CeremonySubmission, error)

	// Add is the new submissions to insert. A sender's point-to-point
	// packages of a round are stored together, as one slot: a round's
	// packages from one sender come in one update, and a second update
	// adding any is CodeConflict.
	Add         []CeremonySubmission
	Commitments [][]byte // signing commitment digests to record for Ceremony.KeyID
	// Key is a group key to create (Generation 0 or 1) or, with a
	// Generation above 1, the next generation of an existing key, which
	// replaces the current one; the replaced generation is kept in the
	// key's history.
	Key *GroupKey
}

// CeremonyFilter selects ceremonies for ListCeremonies.
type CeremonyFilter struct {
	Member string // fingerprint: a participant or the creator
	Status string // "" for any
	Limit  int    // at most this many, newest first; 0 means 100
	// After, if not zero, selects only the ceremonies listed after it:
	// those older than it, or as old with a bytewise greater id.
	After CeremonyCursor
}

// CeremonyCursor is a position in a list of ceremonies, which lists them
// newest first and, for one creation time, by id: the creation time and id
// of the last ceremony of a page.
type CeremonyCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether the cursor is the start of a list.
func (c CeremonyCursor) IsZero() bool { return c.ID == "" && c.CreatedAt.IsZero() }

// CeremonyStore persists ceremonies, their submissions, group keys and used
// signing commitments. Authorization and protocol rules live in the
// ceremony service; the store only keeps every transition atomic.
type CeremonyStore interface {
	// CreateCeremony stores a new ceremony with its members (participants
	// and creator). CodeConflict if the id exists.
	CreateCeremony(ctx context.Context, c Ceremony) error
	// GetCeremony returns a ceremony. CodeNotFound if unknown.
	GetCeremony(ctx context.Context, id string) (Ceremony, error)
	// ListCeremonies returns the ceremonies f selects, newest first.
	ListCeremonies(ctx context.Context, f CeremonyFilter) ([]Ceremony, error)
	// UpdateCeremony runs fn inside one transaction that holds the
	// ceremony's row for writing (SQLite: BEGIN IMMEDIATE; PostgreSQL:
	// SELECT … FOR UPDATE), with the ceremony and reads of its current
	// round's submissions. If fn returns nil the store writes st.Ceremony with
	// Version set to the stored version + 1, inserts st.Add, records
	// st.Commitments and creates st.Key (or moves the key to st.Key's
	// generation), then commits and returns the written ceremony. If fn returns ErrUnchanged nothing is written and
	// the stored ceremony is returned with a nil error; any other error
	// rolls back and is returned. CodeNotFound if the ceremony is unknown
	// (fn is not called); CodeCommitmentReused if a commitment digest was
	// recorded before for the key (nothing is written); CodeConflict if a
	// submission slot or the group key exists already, or if st.Key's
	// generation is not the one after the stored key's.
	UpdateCeremony(ctx context.Context, id string, fn func(st *CeremonyState) error) (Ceremony, error)
	// ListSubmissions returns the submissions of a ceremony's round, ordered
	// by sender then recipient. An unknown ceremony or round has none.
	ListSubmissions(ctx context.Context, id string, round int) ([]CeremonySubmission, error)
	// ListInbox returns what recipient may read of a ceremony's round: its
	// broadcasts and the packages addressed to recipient, ordered by sender.
	ListInbox(ctx context.Context, id string, round int, recipient string) ([]CeremonySubmission, error)
	// ListSent returns what sender submitted in a ceremony's round, ordered
	// by recipient.
	ListSent(ctx context.Context, id string, round int, sender string) ([]CeremonySubmission, error)
	// DueCeremonies returns the ids of open ceremonies whose deadline is at
	// or before now.
	DueCeremonies(ctx context.Context, now time.Time) ([]string, error)
	// CountCeremonies returns how many ceremonies have the status.
	CountCeremonies(ctx context.Context, status string) (int, error)
	// CountOpenCeremonies returns how many open ceremonies the creator
	// started.
	CountOpenCeremonies(ctx context.Context, creator string) (int, error)
	// GetGroupKey returns a group key's current generation. CodeNotFound
	// if unknown.
	GetGroupKey(ctx context.Context, id string) (GroupKey, error)
	// GetGroupKeyGeneration returns a generation of a group key, the
	// current one or an earlier one. CodeNotFound if the key or the
	// generation is unknown.
	GetGroupKeyGeneration(ctx context.Context, id string, generation int) (GroupKey, error)
}

// CeremonyPackageMessage is what a participant signs with its identity key
// for every package it submits: the label, the ceremony id, the round, the
// sender's and recipient's fingerprints ("" for a broadcast) and the SHA-256
// of the payload.
func CeremonyPackageMessage(ceremonyID string, round int, sender, recipient string, payload []byte) []byte {
	h := sha256.Sum256(payload)
	return signedMessage(LabelCeremonyPackage, []byte(ceremonyID), []byte(strconv.Itoa(round)),
		[]byte(sender), []byte(recipient), h[:])
}

// CeremonyComplaintMessage is what a DKG participant signs with its
// identity key to complain that the package accused sent it in round does
// not verify under accused's key (or does not open): the label, the ceremony
// id, the round and the two fingerprints.
func CeremonyComplaintMessage(ceremonyID string, round int, complainer, accused string) []byte {
	return signedMessage(LabelCeremonyComplaint, []byte(ceremonyID), []byte(strconv.Itoa(round)),
		[]byte(complainer), []byte(accused))
}

// CeremonySecretMessage is what the sender of a sealed point-to-point
// package signs with its identity key over the secret it seals (a share, a
// repair delta or sigma): the label, the ceremony id, the round, the two
// fingerprints and SHA-256 of the secret's encoding. The signature travels
// inside the ciphertext (SealedSecret), so only the recipient sees it; with
// it the recipient can show the server, in a complaint, that the sender
// sent that secret, and the server checks it against the sender's public
// commitment without trusting the recipient.
func CeremonySecretMessage(ceremonyID string, round int, sender, recipient string, secret []byte) []byte {
	h := sha256.Sum256(secret)
	return signedMessage(LabelCeremonySecret, []byte(ceremonyID), []byte(strconv.Itoa(round)),
		[]byte(sender), []byte(recipient), h[:])
}

// SealedSecret is the plaintext of a sealed point-to-point package: the
// secret's encoding, then the sender's 64-byte signature over
// CeremonySecretMessage.
func SealedSecret(secret, signature []byte) []byte {
	return append(append(make([]byte, 0, len(secret)+len(signature)), secret...), signature...)
}

// SplitSealedSecret splits SealedSecret's plaintext into the secret and the
// signature (sub-slices of pt). ok is false if pt has no secret before the
// signature.
func SplitSealedSecret(pt []byte) (secret, signature []byte, ok bool) {
	if len(pt) <= 64 {
		return nil, nil, false
	}
	return pt[:len(pt)-64], pt[len(pt)-64:], true
}

// DKGShareInfo is the HPKE info string that binds a sealed DKG round-2
// package to its ceremony, sender and recipient.
func DKGShareInfo(ceremonyID, sender, recipient string) []byte {
	return signedMessage(LabelDKGShare, []byte(ceremonyID), []byte(sender), []byte(recipient))
}

// DKGTranscriptHash hashes the round-1 payloads of a DKG, keyed by sender,
// in the order of participants: what every participant confirms it saw.
func DKGTranscriptHash(ceremonyID string, participants []string, payloads map[string][]byte) []byte {
	fields := [][]byte{[]byte(ceremonyID)}
	for _, fp := range participants {
		fields = append(fields, []byte(fp), payloads[fp])
	}
	h := sha256.Sum256(signedMessage(LabelDKGTranscript, fields...))
	return h[:]
}

// HPKEPublicKeySize is the size of the X25519 HPKE public key in a DKG round-1
// payload.
const HPKEPublicKeySize = 32

// DKGRound1Payload is the payload of a DKG round-1 broadcast: the sender's
// 32-byte ephemeral HPKE (DHKEM X25519) public key, then its frost
// DKGRound1Package encoding.
func DKGRound1Payload(hpkeKey, frostPackage []byte) []byte {
	return append(append(make([]byte, 0, len(hpkeKey)+len(frostPackage)), hpkeKey...), frostPackage...)
}

// SplitKeyChangeRound1Payload splits a reshare's or a repair's round-1
// payload, DKGRound1Payload(HPKE key, commitment), into the sender's HPKE key
// and its commitment: a reshare dealer's frost ReshareCommitment encoding, a
// repair helper's frost RepairCommitment encoding, or empty (from a new
// holder that does not deal, or the holder being repaired). ok is false if
// it is shorter than the key.
func SplitKeyChangeRound1Payload(p []byte) (hpkeKey, commitment []byte, ok bool) {
	if len(p) < HPKEPublicKeySize {
		return nil, nil, false
	}
	return p[:HPKEPublicKeySize], p[HPKEPublicKeySize:], true
}

// SplitDKGRound1Payload splits a DKG round-1 payload into the HPKE key and
// the frost package. ok is false if it is too short.
func SplitDKGRound1Payload(p []byte) (hpkeKey, frostPackage []byte, ok bool) {
	if len(p) <= HPKEPublicKeySize {
		return nil, nil, false
	}
	return p[:HPKEPublicKeySize], p[HPKEPublicKeySize:], true
}

// GroupKeyID names a group key: the lowercase hex SHA-256 of its 32-byte
// public key, so that anyone can recompute it from the key.
func GroupKeyID(publicKey []byte) string { return Fingerprint(publicKey) }

// CommitmentDigest is what the server records of a used signing commitment:
// SHA-256 over the hiding and binding commitments.
func CommitmentDigest(hiding, binding []byte) []byte {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hiding))))
	h.Write(hiding)
	h.Write(binding)
	return h.Sum(nil)
}
