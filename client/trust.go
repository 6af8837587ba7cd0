package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// Every identity key the client uses for another identity (to check a
// relayed package, to seal to) and for its own comes from that identity's
// chain: verified from the fingerprint through every rotation and
// cancellation (VerifyChain), bound to the expected issuer, and extending
// the head the client pinned for it (PinStore). GET /v1/identities/{fp},
// which only says which key the server claims, is never trusted for a key.

// ErrPeerKey means an identity's key was refused: its chain does not verify,
// does not extend the head pinned for it, or the key is not the chain's
// head. Errors of this kind are *PeerKeyError, naming the identity.
var ErrPeerKey = errors.New("client: an identity key is not the head of a verified chain that extends the pinned one")

// PeerKeyError refuses identity Fingerprint's key for Reason. errors.Is(err,
// ErrPeerKey) holds for it; a chain that fails verification also unwraps to
// the *chusme.Error (code chusme.CodeChainConflict) saying where.
type PeerKeyError struct {
	Fingerprint string // the identity whose key is refused
	Reason      string // why, for people
	Err         error  // the verification error behind Reason, or nil
}

// Error implements error.
func (e *PeerKeyError) Error() string {
	return fmt.Sprintf("client: identity %s: key refused: %s", e.Fingerprint, e.Reason)
}

// Is makes errors.Is(err, ErrPeerKey) hold.
func (e *PeerKeyError) Is(target error) bool { return target == ErrPeerKey }

// Unwrap returns the verification error, if any.
func (e *PeerKeyError) Unwrap() error { return e.Err }

// identityTTL is how long a driver may use an identity key that the client
// verified from a chain fetched earlier (by another driver), before fetching
// the chain again: 1 minute. Back-to-back ceremonies among the same
// identities then don't each fetch every chain; a package that fails under
// such a key makes the driver fetch the chain again once (the identity may
// have rotated), so the cache never turns a good package away.
const identityTTL = time.Minute

// maxTrusted bounds how many verified chains a client remembers; past it the
// cache starts again empty.
const maxTrusted = 4096

// verifiedChain is what the client keeps of an identity chain it verified
// and pinned.
type verifiedChain struct {
	key     ed25519.PublicKey   // the current key: the head's first device key
	devices []ed25519.PublicKey // every current device key, key first
	hashes  [][]byte            // every entry's hash, by sequence number
	at      time.Time           // when the chain was fetched
}

// hasDevice reports whether pub is one of v's current device keys.
func (v verifiedChain) hasDevice(pub ed25519.PublicKey) bool {
	return slices.ContainsFunc(v.devices, func(d ed25519.PublicKey) bool { return d.Equal(pub) })
}

// signer returns the current device key of v whose signature over msg sig
// is, nil if none. It tries hint first (the key that signed last), so that
// a ceremony's checks cost one verification per statement however many
// devices the identity has.
func (v verifiedChain) signer(msg, sig []byte, hint ed25519.PublicKey) ed25519.PublicKey {
	if len(sig) != ed25519.SignatureSize {
		return nil
	}
	if hint != nil && v.hasDevice(hint) && ed25519.Verify(hint, msg, sig) {
		return hint
	}
	for _, d := range v.devices {
		if !d.Equal(hint) && ed25519.Verify(d, msg, sig) {
			return d
		}
	}
	return nil
}

// head returns the chain's head.
func (v verifiedChain) head() chusme.ChainHead {
	n := len(v.hashes) - 1
	return chusme.ChainHead{Seq: uint64(n), Hash: v.hashes[n]}
}

// trustCache holds the chains the client verified, by fingerprint. A chain
// fetched again with the same head (sequence number and hash) is not
// verified again: the entries are hash-linked up to the head.
type trustCache struct {
	mu sync.Mutex
	m  map[string]verifiedChain

	// pinMu serializes the pin check and advance, so that two drivers
	// can't move a pin backwards.
	pinMu sync.Mutex

	// keyMu serializes a group key's lineage check and pin advance
	// (checkLine) and guards keys: by key id, the generation last
	// verified and pinned.
	keyMu sync.Mutex
	keys  map[string]chusme.GroupKeyInfo
}

func (tc *trustCache) get(fp string) (verifiedChain, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	v, ok := tc.m[fp]
	return v, ok
}

func (tc *trustCache) put(fp string, v verifiedChain) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil || len(tc.m) >= maxTrusted {
		tc.m = map[string]verifiedChain{}
	}
	tc.m[fp] = v
}

// forget drops identity fp's chain: its key changed through this client,
// so the one remembered is no longer its head.
func (tc *trustCache) forget(fp string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	delete(tc.m, fp)
}

// trust verifies identity fp's chain ch as the server sent it, checks that
// it extends the head pinned for fp and advances the pin to its head. With
// reuse, a chain whose head is that of the chain verified last for fp is
// taken as that chain without verifying it again.
func (c *Client) trust(ctx context.Context, fp string, ch chusme.ChainResponse, reuse bool) (verifiedChain, error) {
	refuse := func(err error, format string, args ...any) (verifiedChain, error) {
		return verifiedChain{}, &PeerKeyError{Fingerprint: fp, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	if ch.Fingerprint != fp || ch.Issuer != c.issuer {
		return refuse(nil, "the server answered the chain of %s at issuer %q, not of %s at %q", ch.Fingerprint, ch.Issuer, fp, c.issuer)
	}
	v, ok := c.trusted.get(fp)
	if h := ch.Head(); !reuse || !ok || h.Seq != v.head().Seq || !bytes.Equal(h.Hash, v.head().Hash) || len(ch.Entries) != len(v.hashes) {
		k, err := chusme.VerifyChainKeys(c.issuer, fp, ch.Entries, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			return refuse(err, "its chain does not verify: %s", chusme.ErrorMessage(err))
		}
		v = verifiedChain{key: ed25519.PublicKey(k.Devices[0]), devices: make([]ed25519.PublicKey, len(k.Devices)), hashes: make([][]byte, len(ch.Entries))}
		for i, d := range k.Devices {
			v.devices[i] = ed25519.PublicKey(d)
		}
		for i, e := range ch.Entries {
			v.hashes[i] = e.Hash
		}
	}
	v.at = c.now()
	if err := c.advancePin(ctx, fp, v); err != nil {
		return verifiedChain{}, err
	}
	c.trusted.put(fp, v)
	return v, nil
}

// advancePin checks that verified chain v of identity fp extends the head
// pinned for it (the same hash at the pinned sequence number) and pins v's
// head. A chain shorter than the pin (rolled back) or with another entry at
// the pinned sequence number (a fork) is a *PeerKeyError naming both heads.
func (c *Client) advancePin(ctx context.Context, fp string, v verifiedChain) error {
	c.trusted.pinMu.Lock()
	defer c.trusted.pinMu.Unlock()
	pin, ok, err := c.pins.Load(ctx, c.issuer, fp)
	if err != nil {
		return fmt.Errorf("client: loading the pin of %s: %w", fp, err)
	}
	head := v.head()
	switch {
	case !ok:
	case pin.Seq > head.Seq:
		return &PeerKeyError{Fingerprint: fp, Reason: fmt.Sprintf("its chain was rolled back: the server's ends at %s, before the pinned head %s", head, pin)}
	case !bytes.Equal(v.hashes[pin.Seq], pin.Hash):
		return &PeerKeyError{Fingerprint: fp, Reason: fmt.Sprintf("its chain forks from the pinned one: the server's, with head %s, holds %s where the pinned head is %s",
			head, chusme.ChainHead{Seq: pin.Seq, Hash: v.hashes[pin.Seq]}, pin)}
	case pin.Seq == head.Seq:
		return nil
	}
	if err := c.pins.Save(ctx, c.issuer, fp, head); err != nil {
		return fmt.Errorf("client: pinning the chain of %s: %w", fp, err)
	}
	return nil
}

// holds reports whether the verified chain holds head h: h is its head or
// an earlier entry of it.
func (v verifiedChain) holds(h chusme.ChainHead) bool {
	return h.Seq < uint64(len(v.hashes)) && bytes.Equal(v.hashes[h.Seq], h.Hash)
}

// ceremonyHeads returns the participants' chain heads as the server lists
// them for ceremony id (GET /v1/ceremonies/{id}/heads), by fingerprint.
// They are the server's word only: see reuseAt.
func (c *Client) ceremonyHeads(ctx context.Context, id string) (map[string]chusme.ChainHead, error) {
	p, err := ceremonyPath(id)
	if err != nil {
		return nil, err
	}
	var hs chusme.CeremonyHeads
	if err := c.do(ctx, http.MethodGet, p+"/heads", nil, &hs); err != nil {
		return nil, err
	}
	out := make(map[string]chusme.ChainHead, len(hs.Heads))
	for _, h := range hs.Heads {
		out[h.Fingerprint] = h.ChainHead
	}
	return out, nil
}

// reuseAt trusts again, for identityTTL from now and without a fetch, the
// verified chain of every identity whose head the server lists as exactly
// the head the client verified and pinned for it. A lying server gains
// nothing: the most it can list is a head older than the chain it holds,
// as it can serve a shorter chain, and the pin is the newest head the
// client has seen. Any other listed head is left to a fetch, whose chain
// must hold it (holds).
func (c *Client) reuseAt(ctx context.Context, listed map[string]chusme.ChainHead) {
	for fp, h := range listed {
		v, ok := c.trusted.get(fp)
		if !ok || v.head().Seq != h.Seq || !bytes.Equal(v.head().Hash, h.Hash) {
			continue
		}
		pin, ok, err := c.pins.Load(ctx, c.issuer, fp)
		if err != nil || !ok || pin.Seq != h.Seq || !bytes.Equal(pin.Hash, h.Hash) {
			continue
		}
		v.at = c.now()
		c.trusted.put(fp, v)
	}
}

// fresh reports whether the client verified identity fp's chain within
// identityTTL.
func (c *Client) fresh(fp string) bool {
	v, ok := c.trusted.get(fp)
	age := c.now().Sub(v.at)
	return ok && age >= 0 && age < identityTTL
}

// peerKey returns identity fp's current key and chain head: the ones the
// client verified within identityTTL unless fresh, else from the chain,
// fetched (retried as retry does: transport failures, 429 and 503) and
// trusted.
func (c *Client) peerKey(ctx context.Context, fp string, fresh bool) (verifiedChain, error) {
	if v, ok := c.trusted.get(fp); ok && !fresh && c.fresh(fp) {
		return v, nil
	}
	ch, err := retry(ctx, func() (chusme.ChainResponse, error) { return c.Chain(ctx, fp) })
	if err != nil {
		return verifiedChain{}, err
	}
	return c.trust(ctx, fp, ch, true)
}
