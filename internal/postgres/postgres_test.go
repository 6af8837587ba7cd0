package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/sqlstore"
	"github.com/chusme/chusme/internal/storetest"
)

func testServer(t *testing.T) string { return pgtest.Server(t) }

func freshDatabase(t *testing.T) string { return pgtest.FreshDatabase(t) }

// mustOpen opens the database at dsn and closes it when the test ends.
func mustOpen(t *testing.T, dsn string) *DB { return storetest.Open(t, Open, dsn) }

func TestStore(t *testing.T) {
	testServer(t)
	storetest.Run(t, func(t *testing.T) chusme.Store { return mustOpen(t, freshDatabase(t)) })
}

func TestMigrationsFromZeroThenNoop(t *testing.T) {
	dsn := freshDatabase(t)
	storetest.Migrations(t, migrationFS, func(t *testing.T) *sqlstore.Store { return mustOpen(t, dsn).Store })
}

// TestNewerSchema: a database migrated by a newer binary is refused.
func TestNewerSchema(t *testing.T) {
	dsn := freshDatabase(t)
	storetest.NewerSchema(t, migrationFS, func(ctx context.Context) (*DB, error) { return Open(ctx, dsn) }, func(db *DB, v int) error {
		_, err := db.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, v)
		return err
	})
}

// TestConcurrentOpen starts several "nodes" on one empty database at once:
// every Open succeeds and each migration is applied once.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshDatabase(t)
	const nodes = 4
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	files, _ := fs.Glob(migrationFS, "migrations/*.sql")
	if got := len(storetest.Applied(t, dbs[0].Store)); got != len(files) {
		t.Fatalf("schema_migrations has %d rows, want %d", got, len(files))
	}
}

// TestTwoNodes runs the contested operations through two separate pools on
// one database, as two chusmed nodes would: a ceremony's transitions are
// serialized by its row lock (no update is lost), one refresh token is
// exchanged once, one ticket and one challenge are consumed once.
func TestTwoNodes(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	nodes := []*DB{a, b}
	ctx := t.Context()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	c := chusme.Ceremony{
		ID: "c", Kind: chusme.KindSign, Creator: "creator", Status: chusme.CeremonyOpen, Round: 1, Threshold: 2,
		Participants: []string{"alice", "bob"}, KeyID: "k", Message: []byte("m"), Deadline: at.Add(time.Minute),
		Version: 1, CreatedAt: at, UpdatedAt: at, RoundStarted: at,
	}
	if err := a.CreateCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	const updates = 40
	var wg sync.WaitGroup
	errs := make([]error, updates)
	for i := range updates {
		wg.Go(func() {
			_, errs[i] = nodes[i%2].UpdateCeremony(ctx, "c", func(st *chusme.CeremonyState) error {
				// Read-modify-write of the stored state: a lost update
				// would drop a name.
				st.Ceremony.Submitted = append(st.Ceremony.Submitted, fmt.Sprint("p", i))
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetCeremony(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1+updates || len(got.Submitted) != updates {
		t.Fatalf("after %d updates on two nodes: version %d, %d submitted; want %d, %d",
			updates, got.Version, len(got.Submitted), 1+updates, updates)
	}

	// One refresh token, exchanged from both nodes at once.
	if err := b.CreateSession(ctx, chusme.NewSession{
		Session:   chusme.Session{ID: "s", Fingerprint: "fp", CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(time.Hour)},
		Challenge: &chusme.UsedChallenge{Nonce: []byte("n"), ExpiresAt: at.Add(time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	used := errors.New("used")
	const n = 20
	errs = make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = nodes[i%2].ExchangeRefreshToken(ctx, "s", func(st chusme.Session) (*chusme.Session, error) {
				if st.Refresh.Seq != 0 {
					return nil, used
				}
				st.Refresh = chusme.RefreshState{Seq: 1, IssuedAt: at.Add(time.Second)}
				return &st, nil
			})
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, used):
			t.Errorf("exchange %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d exchanges of one token succeeded on two nodes, want 1", wins)
	}

	// One WebSocket ticket, redeemed from both nodes at once.
	if err := a.CreateWSTicket(ctx, chusme.WSTicket{Hash: []byte("ticket"), Fingerprint: "fp", SessionID: "s", ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	errs = make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = nodes[i%2].ConsumeWSTicket(ctx, []byte("ticket"), time.Now()) })
	}
	wg.Wait()
	wins = 0
	for i, err := range errs {
		switch chusme.ErrorCode(err) {
		case "":
			wins++
		case chusme.CodeNotFound:
		default:
			t.Errorf("consume %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d consumptions of one ticket succeeded on two nodes, want 1", wins)
	}
}

// TestCommitmentsAcrossNodes has two ceremonies on one key, on two nodes,
// record the same signing commitments (in opposite orders) at once: one
// wins, the other gets CodeCommitmentReused, and neither deadlocks.
func TestCommitmentsAcrossNodes(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := t.Context()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for round := range 10 {
		digests := [][]byte{fmt.Appendf(nil, "d1-%d", round), fmt.Appendf(nil, "d2-%d", round), fmt.Appendf(nil, "d3-%d", round)}
		reversed := [][]byte{digests[2], digests[1], digests[0]}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		// Both callbacks return together, so both inserts race.
		var ready sync.WaitGroup
		ready.Add(2)
		for i, node := range []*DB{a, b} {
			id := fmt.Sprintf("c%d-%d", round, i)
			if err := node.CreateCeremony(ctx, chusme.Ceremony{
				ID: id, Kind: chusme.KindSign, Creator: "x", Status: chusme.CeremonyOpen, Round: 1, Threshold: 2,
				Participants: []string{"alice", "bob"}, KeyID: "k", Deadline: at, Version: 1, CreatedAt: at, UpdatedAt: at, RoundStarted: at,
			}); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				_, errs[i] = node.UpdateCeremony(ctx, id, func(st *chusme.CeremonyState) error {
					st.Commitments = [][][]byte{digests, reversed}[i]
					ready.Done()
					ready.Wait()
					return nil
				})
			})
		}
		wg.Wait()
		codes := []string{chusme.ErrorCode(errs[0]), chusme.ErrorCode(errs[1])}
		if !(codes[0] == "" && codes[1] == chusme.CodeCommitmentReused) && !(codes[1] == "" && codes[0] == chusme.CodeCommitmentReused) {
			t.Fatalf("round %d: errors %v, %v; want one success and one %s", round, errs[0], errs[1], chusme.CodeCommitmentReused)
		}
	}
}
