package ceremony

import (
	"context"
	"sync"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// Decoding a FROST group element costs a torsion check (tens of
// microseconds), and a signing ceremony used to decode the same commitments,
// signing package and public key package several times over its requests.
// These caches keep decoded values keyed by exactly the bytes (or the
// immutable key id) they were decoded from, so a hit is the same value a
// fresh decode would give: no check is skipped, only repeated. Nothing in
// them is state: a restart empties them and everything is decoded again.

// maxDecoded bounds each decode cache; when full it starts over.
const maxDecoded = 4096

// decoded is a bounded cache of values decoded from byte strings.
type decoded[T any] struct {
	mu sync.Mutex
	m  map[string]*T
}

func (d *decoded[T]) get(b []byte) *T {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[string(b)]
}

func (d *decoded[T]) put(b []byte, v *T) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= maxDecoded {
		d.m = make(map[string]*T)
	}
	d.m[string(b)] = v
}

// caches holds the service's decode caches.
type caches struct {
	commitments   decoded[frost.SigningCommitments]
	signingPkgs   decoded[frost.SigningPackage]
	confirmations decoded[checkedConfirmation] // by ceremony id ‖ DKGConfirmAgreed

	mu   sync.Mutex
	keys map[keyGeneration]*cachedKey // a generation of a group key never changes once stored

	cmu   sync.Mutex
	heads map[string]chusme.Ceremony // open ceremony id → its head (see head)
	// open sign ceremony id → round 1's submissions, for those this node
	// moved to round 2 (see Relayed); they never change once round 2 began
	relayed map[string][]chusme.CeremonySubmission
}

// head is the part of an open ceremony that Submit needs before its
// transaction: identity, kind, members, threshold and key never change;
// status and round are a hint that the transaction checks again (a stale
// one makes it fail with errMoved, and Submit then reads the store).
func head(c chusme.Ceremony) chusme.Ceremony {
	return chusme.Ceremony{ID: c.ID, Kind: c.Kind, Creator: c.Creator, Participants: c.Participants,
		Threshold: c.Threshold, KeyID: c.KeyID, KeyGeneration: c.KeyGeneration, NewParticipants: c.NewParticipants,
		Dealers: c.Dealers, Status: c.Status, Round: c.Round}
}

// rememberHead keeps the head of c while it is open.
func (s *Service) rememberHead(c chusme.Ceremony) {
	s.cache.cmu.Lock()
	defer s.cache.cmu.Unlock()
	if c.Status != chusme.CeremonyOpen {
		delete(s.cache.heads, c.ID)
		delete(s.cache.relayed, c.ID)
		return
	}
	if s.cache.heads == nil || len(s.cache.heads) >= maxDecoded {
		s.cache.heads = map[string]chusme.Ceremony{}
	}
	s.cache.heads[c.ID] = head(c)
}

// rememberRelayed keeps round 1's submissions of sign ceremony id, which this
// node has just moved to round 2 in a committed transaction.
func (s *Service) rememberRelayed(id string, subs []chusme.CeremonySubmission) {
	s.cache.cmu.Lock()
	defer s.cache.cmu.Unlock()
	if s.cache.relayed == nil || len(s.cache.relayed) >= maxDecoded {
		s.cache.relayed = map[string][]chusme.CeremonySubmission{}
	}
	s.cache.relayed[id] = subs
}

// Relayed returns the commitment round's packages (signed commitments) of
// open sign ceremony id when this node moved it to its share round and
// still remembers them, so that the WebSocket transport can push them to
// its participants with the event, sparing each signer a request for that
// inbox. They are
// the round's complete inbox, the same for every participant; only
// participants may be given them. The caller must not modify them.
func (s *Service) Relayed(id string) ([]chusme.CeremonySubmission, bool) {
	s.cache.cmu.Lock()
	defer s.cache.cmu.Unlock()
	subs, ok := s.cache.relayed[id]
	return subs, ok
}

// openHead returns the remembered head of ceremony id if caller is one of
// its members and, as far as this node knows, it is open in round.
func (s *Service) openHead(id, caller string, round int) (chusme.Ceremony, bool) {
	s.cache.cmu.Lock()
	c, ok := s.cache.heads[id]
	s.cache.cmu.Unlock()
	ok = ok && c.Status == chusme.CeremonyOpen && c.Round == round && (c.Creator == caller || c.IsParticipant(caller))
	return c, ok
}

// cachedKey is a stored group key and its decoded public key package (nil
// if it did not decode).
type cachedKey struct {
	key chusme.GroupKey
	pub *frost.PublicKeyPackage
}

// keyGeneration names one generation of a group key.
type keyGeneration struct {
	id         string
	generation int
}

// groupKey returns a generation of group key id (0: the current one, read
// from the store), from the cache or the store. The caller must not modify
// it.
func (s *Service) groupKey(ctx context.Context, id string, generation int) (*cachedKey, error) {
	s.cache.mu.Lock()
	k, ok := s.cache.keys[keyGeneration{id, generation}]
	s.cache.mu.Unlock()
	if ok && generation > 0 {
		return k, nil
	}
	var key chusme.GroupKey
	var err error
	if generation > 0 {
		key, err = s.store.GetGroupKeyGeneration(ctx, id, generation)
	} else {
		key, err = s.store.GetGroupKey(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	k = &cachedKey{key: key}
	var pub frost.PublicKeyPackage
	if pub.UnmarshalBinary(key.PublicKeyPackage) == nil {
		k.pub = &pub
	}
	s.cache.mu.Lock()
	if s.cache.keys == nil || len(s.cache.keys) >= maxDecoded {
		s.cache.keys = map[keyGeneration]*cachedKey{}
	}
	s.cache.keys[keyGeneration{id, key.Generation}] = k
	s.cache.mu.Unlock()
	return k, nil
}

// commitments decodes signing commitments, through the cache.
func (s *Service) commitments(b []byte) (*frost.SigningCommitments, error) {
	if c := s.cache.commitments.get(b); c != nil {
		return c, nil
	}
	c := new(frost.SigningCommitments)
	if err := c.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	s.cache.commitments.put(b, c)
	return c, nil
}

// signingPackage decodes a signing package, through the cache.
func (s *Service) signingPackage(b []byte) (*frost.SigningPackage, error) {
	if p := s.cache.signingPkgs.get(b); p != nil {
		return p, nil
	}
	p := new(frost.SigningPackage)
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	s.cache.signingPkgs.put(b, p)
	return p, nil
}

// checkedConfirmation is what the check of a DKG confirmation found that
// holds for every confirmation of its ceremony with the same agreed part
// (chusme.DKGConfirmAgreed: all but the signature, and all n must agree):
// the statement each participant signs, and the certificate's entries (the
// heads, current when the first of them was checked, and their keys). The
// caller must not modify it.
type checkedConfirmation struct {
	statement []byte
	confirmed []chusme.GroupKeyConfirmation
}
