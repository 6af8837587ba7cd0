package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme/client"
)

// fpWith returns a fingerprint starting with prefix, the rest filled with c.
func fpWith(prefix string, c byte) string {
	return prefix + strings.Repeat(string(c), 64-len(prefix))
}

func newBook(t *testing.T) *client.ContactBook {
	return client.NewContactBook(filepath.Join(t.TempDir(), "config", client.ContactsFileName))
}

// contactErr asserts that err is a *ContactError wrapping want and returns
// it.
func contactErr(t *testing.T, err, want error) *client.ContactError {
	t.Helper()
	var ce *client.ContactError
	if !errors.Is(err, want) || !errors.As(err, &ce) {
		t.Fatalf("error %v, want a ContactError wrapping %v", err, want)
	}
	return ce
}

func TestContactBook(t *testing.T) {
	b := newBook(t)
	if list, err := b.List(); err != nil || len(list) != 0 {
		t.Fatalf("a book with no file: %v, %v", list, err)
	}
	alice, bob := fpWith("a1", '1'), fpWith("b0", '2')
	c, err := b.Add("Alice", strings.ToUpper(alice))
	if err != nil || c.Name != "alice" || c.Fingerprint != alice || c.AddedAt.IsZero() {
		t.Fatalf("Add = %+v, %v", c, err)
	}
	if _, err := b.Add("bob", bob); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(b.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("contacts file: %v, %v", fi, err)
	}
	before, _ := os.ReadFile(b.Path())

	// Refusals change nothing.
	ce := contactErr(t, func() error { _, err := b.Add("ALICE", fpWith("cc", '3')); return err }(), client.ErrContactExists)
	if len(ce.Candidates) != 1 || ce.Candidates[0].Fingerprint != alice {
		t.Fatalf("duplicate name: %+v", ce)
	}
	ce = contactErr(t, func() error { _, err := b.Add("carol", bob); return err }(), client.ErrContactExists)
	if !strings.Contains(ce.Error(), "bob") {
		t.Fatalf("duplicate fingerprint: %v", ce)
	}
	for _, name := range []string{"", "1alice", "-x", "al ice", "alice!", "élise", strings.Repeat("a", 33), "deadbeef", "cafebabe00", strings.Repeat("a", 64)} {
		if _, err := b.Add(name, fpWith("dd", '4')); !errors.Is(err, client.ErrInvalidContact) {
			t.Errorf("Add(%q) = %v, want ErrInvalidContact", name, err)
		}
	}
	for _, fp := range []string{"", "abc", alice[:63], alice + "0", fpWith("zz", '0')} {
		if _, err := b.Add("dave", fp); !errors.Is(err, client.ErrInvalidContact) {
			t.Errorf("Add(dave, %q) = %v, want ErrInvalidContact", fp, err)
		}
	}
	for _, name := range []string{"beef", "a.b_c-9", strings.Repeat("z", 32)} {
		if _, err := client.CheckContactName(name); err != nil {
			t.Errorf("CheckContactName(%q): %v", name, err)
		}
	}
	if after, _ := os.ReadFile(b.Path()); !bytes.Equal(before, after) {
		t.Fatalf("a refused Add changed the file:\n%s\n%s", before, after)
	}

	list, err := b.List()
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// Another book on the same file sees the same contacts.
	if c, err := client.NewContactBook(b.Path()).Get("BOB"); err != nil || c.Fingerprint != bob {
		t.Fatalf("Get(BOB) = %+v, %v", c, err)
	}
	ce = contactErr(t, func() error { _, err := b.Get("al"); return err }(), client.ErrNoContact)
	if len(ce.Candidates) != 1 || !strings.Contains(ce.Error(), "alice") {
		t.Fatalf("Get(al): %v", ce)
	}
	if c, err := b.Remove("alice"); err != nil || c.Fingerprint != alice {
		t.Fatalf("Remove = %+v, %v", c, err)
	}
	contactErr(t, func() error { _, err := b.Remove("alice"); return err }(), client.ErrNoContact)
	if list, _ := b.List(); len(list) != 1 || list[0].Name != "bob" {
		t.Fatalf("after Remove: %+v", list)
	}
}

func TestContactBookResolve(t *testing.T) {
	b := newBook(t)
	alice, bob, carol := fpWith("3f2a19c4d1", '1'), fpWith("3f2a19c4e7", '2'), fpWith("90", '3')
	for name, fp := range map[string]string{"alice": alice, "bob": bob, "carol": carol} {
		if _, err := b.Add(name, fp); err != nil {
			t.Fatal(err)
		}
	}
	stranger := fpWith("55", '5')
	for in, want := range map[string]string{
		"alice": alice, " Bob ": bob, "carol": carol,
		"3f2a19c4d": alice, "3F2A19C4E7": bob, "90333333": carol,
		carol: carol, stranger: stranger, strings.ToUpper(stranger): stranger,
	} {
		if got, err := b.Resolve(in); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}

	// An ambiguous prefix names both candidates.
	_, err := b.Resolve("3f2a19c4")
	ce := contactErr(t, err, client.ErrAmbiguousContact)
	if len(ce.Candidates) != 2 || !strings.Contains(err.Error(), "alice (3f2a19c4d1") || !strings.Contains(err.Error(), "bob (3f2a19c4e7") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	for in, want := range map[string]error{
		"3f2a19c":   client.ErrInvalidContact, // too short a prefix
		"dave":      client.ErrNoContact,
		"ali":       client.ErrNoContact, // names are matched whole
		"55555555":  client.ErrNoContact, // a prefix of no contact's fingerprint
		"":          client.ErrInvalidContact,
		"not a fp":  client.ErrInvalidContact,
		alice + "1": client.ErrInvalidContact,
	} {
		if got, err := b.Resolve(in); !errors.Is(err, want) {
			t.Errorf("Resolve(%q) = %q, %v; want %v", in, got, err, want)
		}
	}
	if _, err := b.Resolve("3f2a19c"); !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short prefix: %v", err)
	}
	if _, err := b.Resolve("ali"); !strings.Contains(err.Error(), "alice") {
		t.Errorf("a prefix of a name does not suggest it: %v", err)
	}
}

// A contacts file that is not one the book wrote is refused, naming the
// file, and never written over.
// memFiles is a roundstate.Files in memory, as the web app's IndexedDB.
type memFiles map[string][]byte

func (m memFiles) ReadFile(name string) ([]byte, error) {
	if d, ok := m[name]; ok {
		return d, nil
	}
	return nil, fs.ErrNotExist
}
func (m memFiles) WriteFile(name string, data []byte) error { m[name] = data; return nil }
func (m memFiles) Remove(name string) error                 { delete(m, name); return nil }

// backings are the two places a book is kept: a file, and files of the
// web app's (NewContactBookIn). Each gives the book, and functions that
// write and read its file's content.
var backings = map[string]func(t *testing.T) (*client.ContactBook, func(string), func() string){
	"file": func(t *testing.T) (*client.ContactBook, func(string), func() string) {
		b := newBook(t)
		os.MkdirAll(filepath.Dir(b.Path()), 0o700)
		put := func(c string) {
			if err := os.WriteFile(b.Path(), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return b, put, func() string { got, _ := os.ReadFile(b.Path()); return string(got) }
	},
	"files": func(t *testing.T) (*client.ContactBook, func(string), func() string) {
		m := memFiles{}
		return client.NewContactBookIn(m, client.ContactsFileName),
			func(c string) { m[client.ContactsFileName] = []byte(c) },
			func() string { return string(m[client.ContactsFileName]) }
	},
}

// TestContactBookIn keeps a book in files, not a file system: what it
// adds is read back through the files, by a second book too, and removed.
func TestContactBookIn(t *testing.T) {
	m := memFiles{}
	b := client.NewContactBookIn(m, client.ContactsFileName)
	fp := fpWith("ab", '1')
	if _, err := b.Add("Alice", fp); err != nil {
		t.Fatal(err)
	}
	if got, err := client.NewContactBookIn(m, client.ContactsFileName).Resolve("alice"); err != nil || got != fp {
		t.Fatalf("a second book over the same files resolves alice to %q, %v", got, err)
	}
	if !bytes.Contains(m[client.ContactsFileName], []byte(`"alice"`)) {
		t.Fatalf("the files hold %q", m[client.ContactsFileName])
	}
	if _, err := b.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if list, err := b.List(); err != nil || len(list) != 0 {
		t.Fatalf("after Remove: %v, %v", list, err)
	}
}

func TestContactBookBadFile(t *testing.T) {
	fp := fpWith("ab", '1')
	for name, content := range map[string]string{
		"not json":      "{",
		"unknown field": `{"version":1,"contacts":[],"extra":1}`,
		"version":       `{"version":2,"contacts":[]}`,
		"bad name":      `{"version":1,"contacts":[{"name":"Alice","fingerprint":"` + fp + `","added_at":"2026-01-01T00:00:00Z"}]}`,
		"bad fp":        `{"version":1,"contacts":[{"name":"alice","fingerprint":"ab","added_at":"2026-01-01T00:00:00Z"}]}`,
		"repeated": `{"version":1,"contacts":[{"name":"alice","fingerprint":"` + fp + `","added_at":"2026-01-01T00:00:00Z"},` +
			`{"name":"bob","fingerprint":"` + fp + `","added_at":"2026-01-01T00:00:00Z"}]}`,
		"trailing":  `{"version":1,"contacts":[]} {}`,
		"too large": `{"version":1,"contacts":[]}` + strings.Repeat(" ", 1<<20),
	} {
		for kind, backing := range backings {
			t.Run(name+"/"+kind, func(t *testing.T) {
				b, put, get := backing(t)
				put(content)
				for _, err := range []error{
					func() error { _, err := b.List(); return err }(),
					func() error { _, err := b.Add("carol", fpWith("cd", '2')); return err }(),
					func() error { _, err := b.Resolve("alice"); return err }(),
				} {
					if !errors.Is(err, client.ErrContactsFile) || !strings.Contains(err.Error(), b.Path()) {
						t.Fatalf("error %v, want ErrContactsFile naming the file", err)
					}
				}
				if get() != content {
					t.Fatal("the file was written over")
				}
			})
		}
	}
}

func ExampleContactBook_Resolve() {
	dir, err := os.MkdirTemp("", "chusme-contacts")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	book := client.NewContactBook(filepath.Join(dir, client.ContactsFileName))
	book.Add("Alice", "3f2a19c4d1"+strings.Repeat("1", 54))
	book.Add("bob", "3f2a19c4e7"+strings.Repeat("2", 54))

	fp, _ := book.Resolve("ALICE")
	fmt.Println(fp[:16])
	fp, _ = book.Resolve("3f2a19c4e")
	fmt.Println(fp[:16])
	_, err = book.Resolve("3f2a19c4")
	fmt.Println(errors.Is(err, client.ErrAmbiguousContact), err)
	// Output:
	// 3f2a19c4d1111111
	// 3f2a19c4e7222222
	// true fingerprint prefix 3f2a19c4 starts the fingerprints of several contacts (give more digits, or a name): alice (3f2a19c4d1111111…), bob (3f2a19c4e7222222…)
}
