package client

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
	"github.com/chusme/chusme/client/roundstate"
)

// ContactsFileName is the contact book's file in a config directory.
const ContactsFileName = "contacts.json"

// Limits of the contact book.
const (
	// MaxContactNameLen is the longest contact name, in bytes (names are
	// ASCII).
	MaxContactNameLen = 32
	// MinFingerprintPrefix is the fewest hex digits Resolve takes as a
	// fingerprint prefix: 32 bits, so that two contacts rarely share one
	// by chance. A contact name may not be 8 or more hex digits, so a
	// name is never read as a prefix or the other way round.
	MinFingerprintPrefix = 8
	// MaxContacts bounds the book (and so the file, with
	// maxContactsFileSize).
	MaxContacts = 4096
)

// contactsVersion is the contacts file format version.
const contactsVersion = 1

// contactsKind is the contacts file's format, for jsonfile.
var contactsKind = jsonfile.Kind{Version: contactsVersion, MaxSize: maxContactsFileSize, Mode: FileMode, ErrFormat: ErrContactsFile}

// maxContactsFileSize bounds what the book reads: MaxContacts entries of
// about 200 bytes each.
const maxContactsFileSize = 1 << 20

// Sentinel errors of the contact book, wrapped in a *ContactError (use
// errors.Is; errors.As gives the candidates).
var (
	// ErrInvalidContact means a name, fingerprint or prefix is malformed.
	ErrInvalidContact = errors.New("invalid contact")
	// ErrContactExists means Add found the name, or the fingerprint,
	// in the book already.
	ErrContactExists = errors.New("contact exists")
	// ErrNoContact means no contact has the name, or no contact's
	// fingerprint starts with the prefix.
	ErrNoContact = errors.New("no such contact")
	// ErrAmbiguousContact means a fingerprint prefix starts the
	// fingerprints of several contacts.
	ErrAmbiguousContact = errors.New("ambiguous contact")
	// ErrContactsFile means the contacts file is not one this version
	// reads; nothing is written over it.
	ErrContactsFile = errors.New("malformed contacts file")
)

// Contact is one entry of a ContactBook: a name for an identity's
// fingerprint.
type Contact struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	AddedAt     time.Time `json:"added_at"`
}

// ContactError is the error of a contact book operation refused for what
// it was given. Its message names the candidates.
type ContactError struct {
	Query  string // what was given, case-folded
	Err    error  // ErrInvalidContact, ErrContactExists, ErrNoContact or ErrAmbiguousContact
	Reason string // what is wrong, for people
	// Candidates are the contacts the query could mean: for
	// ErrAmbiguousContact those whose fingerprints the prefix starts, for
	// ErrNoContact those whose names start with the query, for
	// ErrContactExists the contact already there.
	Candidates []Contact
}

// Error returns the reason, followed by the candidates' names and the start
// of their fingerprints.
func (e *ContactError) Error() string {
	if len(e.Candidates) == 0 {
		return e.Reason
	}
	names := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		names[i] = fmt.Sprintf("%s (%s…)", c.Name, c.Fingerprint[:min(len(e.Query)+8, len(c.Fingerprint))])
	}
	return e.Reason + ": " + strings.Join(names, ", ")
}

// Unwrap returns the sentinel, e.Err.
func (e *ContactError) Unwrap() error { return e.Err }

// ContactBook is the client's address book: names for fingerprints, kept in
// one JSON file readable by its owner only (mode 0600), written atomically.
// The CLI keeps it in <config dir>/contacts.json. The methods of one
// ContactBook may be called concurrently; two books or processes changing
// the same file at the same moment may lose one of the changes (the last
// write wins, and the file is never half written).
//
// Names are 1 to MaxContactNameLen characters of [a-z0-9._-] starting with a
// letter; they are case-folded (Add("Alice", …) adds alice, and Resolve
// finds it as "ALICE"). A name of MinFingerprintPrefix or more hex digits
// only is refused, since it could be read as a fingerprint prefix. Each
// fingerprint has at most one name.
type ContactBook struct {
	path  string
	files roundstate.Files // where the file is kept, or nil: the file system
	mu    sync.Mutex
}

// NewContactBook returns the book kept in the file at path. A missing file
// is an empty book; the file and its directory (mode 0700) are created by
// the first Add.
func NewContactBook(path string) *ContactBook {
	return &ContactBook{path: path}
}

// NewContactBookIn returns the book kept as the file name in files, not on
// a file system: the web app's IndexedDB.
func NewContactBookIn(files roundstate.Files, name string) *ContactBook {
	return &ContactBook{path: name, files: files}
}

// Path returns the book's file.
func (b *ContactBook) Path() string { return b.path }

// contactsFile is the file's content.
type contactsFile struct {
	Version  int       `json:"version"`
	Contacts []Contact `json:"contacts"`
}

// CheckContactName case-folds name and checks it against the rules of
// ContactBook: the name as stored, or a *ContactError (ErrInvalidContact).
func CheckContactName(name string) (string, error) {
	n := strings.ToLower(name)
	invalid := func(format string, args ...any) (string, error) {
		return "", &ContactError{Query: n, Err: ErrInvalidContact, Reason: fmt.Sprintf(format, args...)}
	}
	if n == "" || len(n) > MaxContactNameLen || n[0] < 'a' || n[0] > 'z' {
		return invalid("contact name %q: give 1 to %d characters of a-z, 0-9, '.', '_' or '-', starting with a letter", name, MaxContactNameLen)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return invalid("contact name %q: give 1 to %d characters of a-z, 0-9, '.', '_' or '-', starting with a letter", name, MaxContactNameLen)
		}
	}
	if len(n) >= MinFingerprintPrefix && isHex(n) {
		return invalid("contact name %q could be read as a fingerprint prefix: use a name that is not %d or more hex digits", name, MinFingerprintPrefix)
	}
	return n, nil
}

// isHex reports whether s is lowercase hex digits only.
func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}

// load reads the book; the caller holds b.mu.
func (b *ContactBook) load() ([]Contact, error) {
	var f contactsFile
	ok, err := b.read(&f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.path, err)
	}
	if !ok {
		return nil, nil
	}
	if len(f.Contacts) > MaxContacts {
		return nil, fmt.Errorf("%s: %w: more than %d contacts", b.path, ErrContactsFile, MaxContacts)
	}
	for i, c := range f.Contacts {
		if n, err := CheckContactName(c.Name); err != nil || n != c.Name || !chusme.ValidFingerprint(c.Fingerprint) {
			return nil, fmt.Errorf("%s: %w: entry %d (%q) has a bad name or fingerprint", b.path, ErrContactsFile, i, c.Name)
		}
		if j := slices.IndexFunc(f.Contacts[:i], func(o Contact) bool { return o.Name == c.Name || o.Fingerprint == c.Fingerprint }); j >= 0 {
			return nil, fmt.Errorf("%s: %w: entries %d and %d repeat a name or fingerprint", b.path, ErrContactsFile, j, i)
		}
	}
	slices.SortFunc(f.Contacts, func(x, y Contact) int { return strings.Compare(x.Name, y.Name) })
	return f.Contacts, nil
}

// read decodes the book's file into f; false if there is none.
func (b *ContactBook) read(f *contactsFile) (bool, error) {
	if b.files == nil {
		return contactsKind.Load(b.path, f, &f.Version)
	}
	data, err := b.files.ReadFile(b.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case int64(len(data)) > contactsKind.MaxSize:
		return false, fmt.Errorf("%w: larger than %d bytes", ErrContactsFile, contactsKind.MaxSize)
	}
	return true, contactsKind.Decode(data, f, &f.Version)
}

// save writes the book, sorted by name; the caller holds b.mu.
func (b *ContactBook) save(contacts []Contact) error {
	slices.SortFunc(contacts, func(x, y Contact) int { return strings.Compare(x.Name, y.Name) })
	if contacts == nil {
		contacts = []Contact{}
	}
	f := contactsFile{Version: contactsVersion, Contacts: contacts}
	if b.files == nil {
		return contactsKind.Save(b.path, f)
	}
	data, err := jsonfile.Encode(f)
	if err != nil {
		return err
	}
	return b.files.WriteFile(b.path, data)
}

// Add adds a contact: name (case-folded, see ContactBook) for the identity
// of fingerprint fp (64 hex digits, either case). It refuses, with a
// *ContactError, a malformed name or fingerprint (ErrInvalidContact) and a
// name or fingerprint already in the book (ErrContactExists, naming the
// contact there).
func (b *ContactBook) Add(name, fp string) (Contact, error) {
	n, err := CheckContactName(name)
	if err != nil {
		return Contact{}, err
	}
	f := strings.ToLower(fp)
	if !chusme.ValidFingerprint(f) {
		return Contact{}, &ContactError{Query: f, Err: ErrInvalidContact, Reason: fmt.Sprintf("%q is not a fingerprint (64 hex digits)", fp)}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	contacts, err := b.load()
	if err != nil {
		return Contact{}, err
	}
	for _, c := range contacts {
		switch {
		case c.Name == n:
			return Contact{}, &ContactError{Query: n, Err: ErrContactExists, Reason: fmt.Sprintf("a contact named %s exists (remove it first)", n), Candidates: []Contact{c}}
		case c.Fingerprint == f:
			return Contact{}, &ContactError{Query: f, Err: ErrContactExists, Reason: fmt.Sprintf("fingerprint %s has a name already", f), Candidates: []Contact{c}}
		}
	}
	if len(contacts) >= MaxContacts {
		return Contact{}, &ContactError{Query: n, Err: ErrInvalidContact, Reason: fmt.Sprintf("the contact book is full (%d contacts)", MaxContacts)}
	}
	c := Contact{Name: n, Fingerprint: f, AddedAt: time.Now().UTC()}
	if err := b.save(append(contacts, c)); err != nil {
		return Contact{}, err
	}
	return c, nil
}

// List returns the contacts sorted by name.
func (b *ContactBook) List() ([]Contact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.load()
}

// Get returns the contact named name (case-folded), or a *ContactError:
// ErrInvalidContact for a malformed name, ErrNoContact (with the contacts
// whose names start with it) for an unknown one.
func (b *ContactBook) Get(name string) (Contact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, c, err := b.lookup(name)
	return c, err
}

// lookup reads the book and finds the contact named name in it; the caller
// holds b.mu.
func (b *ContactBook) lookup(name string) ([]Contact, Contact, error) {
	n, err := CheckContactName(name)
	if err != nil {
		return nil, Contact{}, err
	}
	contacts, err := b.load()
	if err != nil {
		return nil, Contact{}, err
	}
	c, err := byName(contacts, n)
	return contacts, c, err
}

// byName finds the contact named n, which is well-formed.
func byName(contacts []Contact, n string) (Contact, error) {
	if i := slices.IndexFunc(contacts, func(c Contact) bool { return c.Name == n }); i >= 0 {
		return contacts[i], nil
	}
	var like []Contact
	for _, c := range contacts {
		if strings.HasPrefix(c.Name, n) {
			like = append(like, c)
		}
	}
	reason := fmt.Sprintf("no contact is named %s", n)
	if like != nil {
		reason += " (names are matched whole; these start so)"
	} else if isHex(n) {
		reason += fmt.Sprintf(" (a fingerprint prefix needs at least %d hex digits)", MinFingerprintPrefix)
	}
	return Contact{}, &ContactError{Query: n, Err: ErrNoContact, Reason: reason, Candidates: like}
}

// Remove removes the contact named name and returns it; its errors are
// Get's.
func (b *ContactBook) Remove(name string) (Contact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	contacts, c, err := b.lookup(name)
	if err != nil {
		return Contact{}, err
	}
	if err := b.save(slices.DeleteFunc(contacts, func(o Contact) bool { return o.Name == c.Name })); err != nil {
		return Contact{}, err
	}
	return c, nil
}

// Resolve returns the fingerprint s names, case-folded and trimmed of white
// space: a full fingerprint (a contact or not; the book is not read), a
// contact's name (whole: a prefix of a name is not taken, so that adding a
// contact never changes what a name already meant), or a prefix of at least
// MinFingerprintPrefix hex digits of exactly one contact's fingerprint. It
// refuses with a *ContactError: ErrAmbiguousContact for a prefix of several
// contacts' fingerprints (naming them), ErrNoContact for a name or prefix
// of none, ErrInvalidContact for anything else.
func (b *ContactBook) Resolve(s string) (string, error) {
	q := strings.ToLower(strings.TrimSpace(s))
	if chusme.ValidFingerprint(q) {
		return q, nil
	}
	_, nameErr := CheckContactName(q)
	prefix := len(q) >= MinFingerprintPrefix && len(q) < 64 && isHex(q)
	if nameErr != nil && !prefix {
		reason := fmt.Sprintf("%q is not a fingerprint, a contact name or a fingerprint prefix", s)
		if q != "" && isHex(q) && len(q) < MinFingerprintPrefix {
			reason = fmt.Sprintf("fingerprint prefix %q is too short: give at least %d hex digits", s, MinFingerprintPrefix)
		}
		return "", &ContactError{Query: q, Err: ErrInvalidContact, Reason: reason}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	contacts, err := b.load()
	if err != nil {
		return "", err
	}
	if !prefix {
		c, err := byName(contacts, q)
		return c.Fingerprint, err
	}
	var matches []Contact
	for _, c := range contacts {
		if strings.HasPrefix(c.Fingerprint, q) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 0:
		return "", &ContactError{Query: q, Err: ErrNoContact, Reason: fmt.Sprintf("no contact's fingerprint starts with %s (give the whole fingerprint for someone not in your contacts)", q)}
	case 1:
		return matches[0].Fingerprint, nil
	}
	return "", &ContactError{Query: q, Err: ErrAmbiguousContact, Reason: fmt.Sprintf("fingerprint prefix %s starts the fingerprints of several contacts (give more digits, or a name)", q), Candidates: matches}
}

// FromContacts returns the ceremonies of infos, in their order, whose
// creator is in the contact book: a participant's way to see only the
// invitations of the identities it knows. The book is read once.
func (b *ContactBook) FromContacts(infos []chusme.CeremonyInfo) ([]chusme.CeremonyInfo, error) {
	contacts, err := b.List()
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(contacts))
	for _, c := range contacts {
		known[c.Fingerprint] = true
	}
	out := []chusme.CeremonyInfo{}
	for _, info := range infos {
		if known[info.Creator] {
			out = append(out, info)
		}
	}
	return out, nil
}
