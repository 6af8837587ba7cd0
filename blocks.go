package chusme

import (
	"context"
	"time"
)

// Blocks (DESIGN §4, ceremony spam): an identity may block others from
// inviting it. A ceremony that names, as a participant or candidate
// signer, someone who blocked its creator is refused at creation with
// CodeParticipantBlocked, so the blocker never sees it.

// MaxBlocks bounds how many identities one identity may block: 1000.
const MaxBlocks = 1000

// CodeParticipantBlocked: a participant named by a new ceremony blocked its
// creator.
const CodeParticipantBlocked = "participant_blocked"

// BlockList is the answer of GET /v1/me/blocks: the fingerprints the caller
// blocks, sorted.
type BlockList struct {
	Blocked []string `json:"blocked"`
}

// BlockStore keeps who blocks whom from inviting them.
type BlockStore interface {
	// Block records that blocker blocks blocked, unless it does already
	// (which changes nothing). CodeInvalidRequest if blocker blocks
	// MaxBlocks identities already.
	Block(ctx context.Context, blocker, blocked string, at time.Time) error
	// Unblock removes the block. CodeNotFound if there is none.
	Unblock(ctx context.Context, blocker, blocked string) error
	// ListBlocked returns whom blocker blocks, sorted.
	ListBlocked(ctx context.Context, blocker string) ([]string, error)
	// Blocking returns which of fps block creator, sorted.
	Blocking(ctx context.Context, creator string, fps []string) ([]string, error)
}
