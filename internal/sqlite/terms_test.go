package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/migrations"
)

// TestCeremonyTermsMigration: a ceremony stored before migration 0022 keeps
// its participants, message, new participants and dealers when 0022 moves
// them into ceremony_terms, and goes on taking submissions after it.
func TestCeremonyTermsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	old, err := sql.Open("sqlite", fileDSN(path, "rwc", nil))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations.List(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 22 {
			break
		}
		if _, err := old.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := old.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if _, err := old.Exec(`INSERT INTO ceremonies (id, kind, creator, status, round, threshold, participants, key_id,
		message, submitted, deadline, version, created_at, updated_at, round_started_at, new_participants, dealers)
		VALUES ('cer-1', 'reshare', 'alice', 'open', 1, 2, '["alice","bob","carol"]', 'key-1', x'6869', '["alice"]',
		?, 3, ?, ?, ?, '["dave","erin"]', '["alice","bob"]')`, now.Add(time.Hour).UnixNano(), now.UnixNano(), now.UnixNano(), now.UnixNano()); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := mustOpen(t, path)
	ctx := t.Context()
	c, err := db.GetCeremony(ctx, "cer-1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Participants, []string{"alice", "bob", "carol"}) || string(c.Message) != "hi" ||
		!slices.Equal(c.NewParticipants, []string{"dave", "erin"}) || !slices.Equal(c.Dealers, []string{"alice", "bob"}) ||
		!slices.Equal(c.Submitted, []string{"alice"}) || c.Version != 3 || c.KeyID != "key-1" {
		t.Fatalf("after 0022: %+v", c)
	}
	c, err = db.UpdateCeremony(ctx, "cer-1", func(st *chusme.CeremonyState) error {
		st.Ceremony.Submitted = append(st.Ceremony.Submitted, "bob")
		return nil
	})
	if err != nil || c.Version != 4 || !slices.Equal(c.Participants, []string{"alice", "bob", "carol"}) {
		t.Fatalf("update after 0022: %+v, %v", c, err)
	}
	var cols int
	if err := db.write.QueryRow(`SELECT count(*) FROM pragma_table_info('ceremonies')
		WHERE name IN ('participants', 'message', 'new_participants', 'dealers')`).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("ceremonies still has %d of the moved columns (%v)", cols, err)
	}
}
