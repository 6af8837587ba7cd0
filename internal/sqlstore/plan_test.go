package sqlstore

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestQueryPlans: on SQLite's schema, the admin view's ceremony counts read
// the ceremonies of the window through two indexes and the invite list
// through its index in order; a ceremony is read with its terms by their
// primary keys, and a member's list walks its index in order, joining each
// ceremony and its terms by key. Never a scan of a table or a sort.
func TestQueryPlans(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := filepath.Glob(filepath.Join("..", "sqlite", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(files))
	}
	for _, f := range files {
		script, err := os.ReadFile(f)
		if err == nil {
			_, err = db.Exec(string(script))
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for _, c := range []struct {
		q      query
		args   []any
		using  []string
		forbid []string // a scan of the table, a sort
	}{
		{qCeremonyCounts, []any{1, 2, 3, 4, 5, 6, 7, 8}, []string{"ceremonies_closed_updated_at", "ceremonies_open_created_at"}, []string{"SCAN ceremonies"}},
		// The first page walks the index in order, as far as LIMIT; the
		// next ones start where the cursor is.
		{qListInvites, []any{10}, []string{"invites_created_at"}, []string{"SCAN invites\n", "TEMP B-TREE"}},
		{qListInvitesAfter, []any{1, "a", 10}, []string{"invites_created_at"}, []string{"SCAN invites", "TEMP B-TREE"}},
		{qLockCeremony, []any{"id"}, []string{"sqlite_autoindex_ceremonies_1", "sqlite_autoindex_ceremony_terms_1"}, []string{"SCAN"}},
		{qListCeremonies[1][0][1], []any{"fp", 1, 1, "id", 10}, []string{"ceremony_members_by_time", "sqlite_autoindex_ceremonies_1",
			"sqlite_autoindex_ceremony_terms_1"}, []string{"SCAN", "TEMP B-TREE"}},
	} {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+Dialect{}.render(queries[c.q]), c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n") + "\n"
		for _, index := range c.using {
			if !strings.Contains(text, "INDEX "+index) {
				t.Errorf("plan of %s\n%sdoes not read index %s", queries[c.q], text, index)
			}
		}
		for _, bad := range c.forbid {
			if strings.Contains(text, bad) {
				t.Errorf("plan of %s\n%shas %q", queries[c.q], text, bad)
			}
		}
	}
}
