package sqlstore

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/chusme/chusme"
)

// A sender's point-to-point packages of one round are one row of
// ceremony_packages (migration 0016): at 67-of-100 a DKG round-2
// submission writes one row of 99 packages instead of 99 rows, which with
// their recipient index entries, one on each of 99 index pages, were most
// of the submission's transaction and its commit.
//
// The packages column is the packages in recipient order, each as
// uvarint-length-prefixed recipient, payload and signature, then its
// creation time as a varint of Unix nanoseconds (0: the zero time). It is
// the store's own encoding: nothing signs or hashes it.

var errBadPackages = errors.New("a ceremony_packages row does not decode")

// packSubmissions encodes subs, one sender's point-to-point packages of
// one round, ordered by recipient, as a packages value.
func packSubmissions(subs []chusme.CeremonySubmission) []byte {
	n := 0
	for _, r := range subs {
		n += 4*binary.MaxVarintLen64 + len(r.Recipient) + len(r.Payload) + len(r.Signature)
	}
	b := make([]byte, 0, n)
	for _, r := range subs {
		b = binary.AppendUvarint(b, uint64(len(r.Recipient)))
		b = append(b, r.Recipient...)
		b = binary.AppendUvarint(b, uint64(len(r.Payload)))
		b = append(b, r.Payload...)
		b = binary.AppendUvarint(b, uint64(len(r.Signature)))
		b = append(b, r.Signature...)
		var at int64
		if !r.CreatedAt.IsZero() {
			at = r.CreatedAt.UnixNano()
		}
		b = binary.AppendVarint(b, at)
	}
	return b
}

// unpackSubmissions decodes the packages of sender in a round of ceremony
// id, b, calling yield with each in recipient order. The packages' byte
// slices are b's.
func unpackSubmissions(id string, round int, sender string, b []byte, yield func(chusme.CeremonySubmission)) error {
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, true
	}
	for len(b) > 0 {
		recipient, ok1 := field()
		payload, ok2 := field()
		sig, ok3 := field()
		at, k := binary.Varint(b)
		if !ok1 || !ok2 || !ok3 || k <= 0 {
			return errBadPackages
		}
		b = b[k:]
		var created time.Time
		if at != 0 {
			created = time.Unix(0, at).UTC()
		}
		yield(chusme.CeremonySubmission{CeremonyID: id, Round: round, Sender: sender, Recipient: string(recipient),
			Payload: payload, Signature: sig, CreatedAt: created})
	}
	return nil
}

// packedRows groups the point-to-point submissions of subs by round and
// sender, each group ordered by recipient; broadcasts are returned apart,
// in their order. Two packages for one slot are CodeConflict, as the
// primary key of ceremony_submissions made them.
func packedRows(subs []chusme.CeremonySubmission) (broadcasts []chusme.CeremonySubmission, packed [][]chusme.CeremonySubmission, err error) {
	type slot struct {
		round  int
		sender string
	}
	// Counted first, so that each group is allocated once at its size (a
	// DKG round 2's n - 1 packages of one sender).
	at, sizes := map[slot]int{}, []int{}
	for _, r := range subs {
		if r.Recipient == "" {
			continue
		}
		k := slot{r.Round, r.Sender}
		i, ok := at[k]
		if !ok {
			i, at[k] = len(sizes), len(sizes)
			sizes = append(sizes, 0)
		}
		sizes[i]++
	}
	packed = make([][]chusme.CeremonySubmission, len(sizes))
	for i, n := range sizes {
		packed[i] = make([]chusme.CeremonySubmission, 0, n)
	}
	for _, r := range subs {
		if r.Recipient == "" {
			broadcasts = append(broadcasts, r)
			continue
		}
		i := at[slot{r.Round, r.Sender}]
		packed[i] = append(packed[i], r)
	}
	for _, p := range packed {
		slices.SortFunc(p, byRecipient)
		for i := 1; i < len(p); i++ {
			if p[i].Recipient == p[i-1].Recipient {
				return nil, nil, chusme.Errorf(chusme.CodeConflict, "two round-%d packages from %s to %s", p[i].Round, p[i].Sender, p[i].Recipient)
			}
		}
	}
	return broadcasts, packed, nil
}

// bySender orders submissions by sender, bytewise as the queries'
// {bytewise} order.
func bySender(a, b chusme.CeremonySubmission) int { return strings.Compare(a.Sender, b.Sender) }

// byRecipient orders submissions by recipient, bytewise.
func byRecipient(a, b chusme.CeremonySubmission) int {
	return strings.Compare(a.Recipient, b.Recipient)
}
