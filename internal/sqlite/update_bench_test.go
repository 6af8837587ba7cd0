package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// BenchmarkSubmission is one DKG round-1 submission's store update, as
// the ceremony service makes it, in a ceremony of n participants: the
// ceremony's row rewritten with one more submitter, and the sender's
// 2.2 KB broadcast inserted. The rounds restart when every participant
// has submitted, so the row's size stays that of a round in progress.
func BenchmarkSubmission(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ctx := b.Context()
			db := benchDB(b)
			fps := make([]string, n)
			for i := range fps {
				fps[i] = fmt.Sprintf("%064x", i+1)
			}
			slices.Sort(fps)
			now := time.Now().UTC()
			c := chusme.Ceremony{ID: "c1", Kind: chusme.KindDKG, Creator: fps[0], Status: chusme.CeremonyOpen, Round: 1,
				Threshold: n * 2 / 3, Participants: fps, Deadline: now.Add(time.Hour), Version: 1, CreatedAt: now, UpdatedAt: now,
				RoundStarted: now, RequestNonce: []byte(strings.Repeat("n", 16)), RequestSignature: make([]byte, 64)}
			if err := db.CreateCeremony(ctx, c); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 2200)
			b.ResetTimer()
			for i := range b.N {
				_, err := db.UpdateCeremony(ctx, c.ID, func(st *chusme.CeremonyState) error {
					cer := &st.Ceremony
					if len(cer.Submitted) == n {
						cer.Round++
						cer.Submitted = nil
					}
					sender := fps[len(cer.Submitted)]
					cer.Submitted = append(cer.Submitted, sender)
					cer.UpdatedAt = time.Now().UTC()
					st.Add = []chusme.CeremonySubmission{{Round: cer.Round, Sender: sender, Payload: payload, Signature: make([]byte, 64), CreatedAt: cer.UpdatedAt}}
					return nil
				})
				if err != nil {
					b.Fatal(i, err)
				}
			}
		})
	}
}

// BenchmarkDueCeremonies is the deadline scheduler's scan, which runs once
// a second (a tenth of the round timeout) however idle the server is.
func BenchmarkDueCeremonies(b *testing.B) {
	ctx := b.Context()
	db := benchDB(b)
	now := time.Now()
	b.ResetTimer()
	for range b.N {
		if _, err := db.DueCeremonies(ctx, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListChain is a read transaction of two queries (the identity's
// existence, then its chain), as every fetch of an identity's chain and each
// read of a DKG participant's chain head make it.
func BenchmarkListChain(b *testing.B) {
	ctx := b.Context()
	db := benchDB(b)
	key := make([]byte, 32)
	key[0] = 1
	id := chusme.Identity{Fingerprint: fmt.Sprintf("%064x", 1), GenesisKey: key, PublicKey: key,
		Role: chusme.RoleUser, Status: chusme.StatusActive, CreatedAt: time.Now().UTC()}
	if err := db.CreateIdentity(ctx, id, chusme.Admission{Kind: chusme.AdmitOpen}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := db.ListChain(ctx, id.Fingerprint); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDB opens a new database for a benchmark and closes it when it ends.
func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "chusme.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
