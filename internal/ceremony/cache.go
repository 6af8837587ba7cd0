package ceremony

import (
	"context"
	"sync"
	"time"

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

	keys flight[keyGeneration, *cachedKey] // a generation of a group key never changes once stored

	cmu   sync.Mutex
	heads map[string]chusme.Ceremony // open ceremony id → its head (see head)
	// open sign ceremony id → round 1's submissions, for those this node
	// moved to round 2 (see Relayed); they never change once round 2 began
	relayed map[string][]chusme.CeremonySubmission

	// the inboxes of complete broadcast rounds (DKG rounds 1 and 3,
	// every sign round): the round's broadcasts, the same for every
	// participant, which never change once the round is over (a 67-of-100
	// DKG's round-1 inbox is 100 packages of 67 points, which all 100 read)
	inboxes flight[inboxKey, []chusme.CeremonySubmission]
	// the submissions of complete point-to-point rounds that this node
	// did not store all of (see inbox), which never change either
	rounds flight[inboxKey, []chusme.CeremonySubmission]
	// the same inboxes as the transports encode them (EncodedInbox)
	encodedInboxes flight[encodedKey, []byte]
	// open ceremony id → its participants' chain heads (see Heads)
	chainHeads flight[string, []chusme.ParticipantHead]

	dmu sync.Mutex
	// open DKG id → sender → recipient → the round-2 package this node
	// stored (see rememberDirect); they never change once stored
	direct      map[string]map[string]map[string]chusme.CeremonySubmission
	directBytes int
}

// maxDirectBytes bounds the DKG round-2 packages that the service keeps;
// past it, it starts over.
const maxDirectBytes = 64 << 20

// rememberDirect keeps the DKG round-2 packages, rows, that sender's
// submission to ceremony id has just stored through this node. A node that
// stored every participant's answers each recipient's round-2 inbox from
// them (directInbox): at 67-of-100 that is 99 rows read back per
// recipient, 9,900 per DKG.
func (s *Service) rememberDirect(id, sender string, rows []chusme.CeremonySubmission) {
	byRecipient := make(map[string]chusme.CeremonySubmission, len(rows))
	for _, r := range rows {
		byRecipient[r.Recipient] = r
	}
	s.cache.dmu.Lock()
	defer s.cache.dmu.Unlock()
	if s.cache.direct == nil || s.cache.directBytes >= maxDirectBytes {
		s.cache.direct, s.cache.directBytes = map[string]map[string]map[string]chusme.CeremonySubmission{}, 0
	}
	if s.cache.direct[id] == nil {
		s.cache.direct[id] = map[string]map[string]chusme.CeremonySubmission{}
	}
	s.cache.direct[id][sender] = byRecipient
	s.cache.directBytes += payloadBytes(rows)
}

// directInbox returns recipient's round-2 inbox of c (a DKG or a refresh:
// a reshare's round 2, sent by its dealers only, is never all held), ordered by
// sender as the store orders it, if this node stored every participant's
// round-2 packages.
func (s *Service) directInbox(c chusme.Ceremony, recipient string) ([]chusme.CeremonySubmission, bool) {
	s.cache.dmu.Lock()
	defer s.cache.dmu.Unlock()
	bySender := s.cache.direct[c.ID]
	if len(bySender) != len(c.Participants) {
		return nil, false
	}
	out := make([]chusme.CeremonySubmission, 0, len(c.Participants)-1)
	for _, sender := range c.Participants { // sorted, as the store's order by sender
		if sender == recipient {
			continue
		}
		r, ok := bySender[sender][recipient]
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// headsTTL is how long Heads answers the chain heads it read for a
// ceremony: the n drivers of a ceremony ask as they start, within seconds
// of each other. A rotation in that time shows late, as a stale head, which
// a driver answers as it does a key that fails: it fetches the chain.
const headsTTL = 5 * time.Second

// maxSharedInboxBytes bounds the payloads that the shared inboxes hold;
// past it the cache starts over.
const maxSharedInboxBytes = 32 << 20

// inboxKey names one round of one ceremony.
type inboxKey struct {
	id    string
	round int
}

// encodedKey names a shared inbox in one encoding.
type encodedKey struct {
	inboxKey
	format string
}

// flight caches values by key, each loaded once: the callers that ask for
// a key while it is being loaded wait for that load. (A round's n drivers
// ask for the same inbox within milliseconds of the event that starts the
// next round; a cache filled only after each read would read it n times.)
type flight[K comparable, V any] struct {
	mu    sync.Mutex
	m     map[K]*landing[V]
	total int // the sizes of m's values
}

// landing is one load of a flight's value.
type landing[V any] struct {
	done chan struct{} // closed when v and err are set
	v    V
	err  error
	at   time.Time
}

// load returns k's value: the one loaded at most ttl before now (ttl 0:
// whenever), else read's, which runs once however many callers ask
// meanwhile. Each value counts size(v) against max; past max the cache
// starts over. A failed read is not kept.
func (f *flight[K, V]) load(ctx context.Context, k K, now time.Time, ttl time.Duration, max int, size func(V) int, read func() (V, error)) (V, error) {
	f.mu.Lock()
	l, ok := f.m[k]
	if ok {
		select {
		case <-l.done:
			if age := now.Sub(l.at); ttl > 0 && (age < 0 || age >= ttl) {
				ok = false
			}
		default:
		}
	}
	if !ok {
		if f.m == nil || f.total >= max {
			f.m, f.total = map[K]*landing[V]{}, 0
		}
		l = &landing[V]{done: make(chan struct{}), at: now}
		f.m[k] = l
		f.mu.Unlock()
		l.v, l.err = read()
		f.mu.Lock()
		if l.err != nil {
			if f.m[k] == l {
				delete(f.m, k)
			}
		} else {
			f.total += size(l.v)
		}
		close(l.done)
		f.mu.Unlock()
		return l.v, l.err
	}
	f.mu.Unlock()
	select {
	case <-l.done:
		return l.v, l.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// head is the part of an open ceremony that Submit needs before its
// transaction: identity, kind, members, threshold, key and (past round 1)
// transcript never change; status and round are a hint that the
// transaction checks again (a stale one makes it fail with errMoved, and
// Submit then reads the store).
func head(c chusme.Ceremony) chusme.Ceremony {
	return chusme.Ceremony{ID: c.ID, Kind: c.Kind, Creator: c.Creator, Participants: c.Participants,
		Threshold: c.Threshold, KeyID: c.KeyID, KeyGeneration: c.KeyGeneration, NewParticipants: c.NewParticipants,
		Dealers: c.Dealers, Status: c.Status, Round: c.Round, Transcript: c.Transcript}
}

// rememberHead keeps the head of c while it is open.
func (s *Service) rememberHead(c chusme.Ceremony) {
	s.cache.cmu.Lock()
	defer s.cache.cmu.Unlock()
	if c.Status != chusme.CeremonyOpen {
		delete(s.cache.heads, c.ID)
		delete(s.cache.relayed, c.ID)
		s.cache.dmu.Lock()
		delete(s.cache.direct, c.ID)
		s.cache.dmu.Unlock()
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

	emu     sync.Mutex
	encoded map[string][]byte // format → the key's answer (see EncodedKey)
}

// encode returns the key's answer in format, encoding it the first time.
func (k *cachedKey) encode(format string, encode func(chusme.GroupKey) ([]byte, error)) ([]byte, error) {
	k.emu.Lock()
	defer k.emu.Unlock()
	if b, ok := k.encoded[format]; ok {
		return b, nil
	}
	b, err := encode(k.key)
	if err != nil {
		return nil, err
	}
	if k.encoded == nil {
		k.encoded = map[string][]byte{}
	}
	k.encoded[format] = b
	return b, nil
}

// keyGeneration names one generation of a group key.
type keyGeneration struct {
	id         string
	generation int
}

// groupKey returns a generation of group key id (0: the current one, which
// it reads from the store), from the cache or the store, decoding its
// public key package once however many ask at once (a DKG's n drivers
// read the new key as it ends). The caller must not modify it.
func (s *Service) groupKey(ctx context.Context, id string, generation int) (*cachedKey, error) {
	rctx := context.WithoutCancel(ctx) // read for every caller waiting
	var current *chusme.GroupKey
	if generation == 0 {
		key, err := s.store.GetGroupKey(ctx, id)
		if err != nil {
			return nil, err
		}
		current, generation = &key, key.Generation
	}
	return s.cache.keys.load(ctx, keyGeneration{id, generation}, s.now(), 0, maxDecoded, func(*cachedKey) int { return 1 }, func() (*cachedKey, error) {
		if current == nil {
			key, err := s.store.GetGroupKeyGeneration(rctx, id, generation)
			if err != nil {
				return nil, err
			}
			current = &key
		}
		k := &cachedKey{key: *current}
		var pub frost.PublicKeyPackage
		if pub.UnmarshalBinary(current.PublicKeyPackage) == nil {
			k.pub = &pub
		}
		return k, nil
	})
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
// (chusme.DKGConfirmAgreed: all but the signatures, and all n must agree):
// the statement each participant signs, the certificate's entries (the
// heads, current when the first of them was checked, and their first
// device keys), the device keys current at those heads and the verifying
// shares, by holder. The caller must not modify it.
type checkedConfirmation struct {
	statement []byte
	confirmed []chusme.GroupKeyConfirmation
	devices   map[string][]chusme.Bytes
	shares    map[string][]byte
}
