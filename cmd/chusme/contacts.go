package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

const contactsUsage = `
Contacts (CONFIG/contacts.json; wherever a FINGERPRINT or FP is asked for, a contact's NAME or a prefix
of 8 or more hex digits of exactly one contact's fingerprint will do):
  contacts add NAME FINGERPRINT      name an identity (NAME: 1 to 32 of a-z 0-9 . _ -, starting with a letter)
  contacts list                      your contacts, by name
  contacts show NAME                 a contact's fingerprint and the safety number of you and them: compare
                                     it with the one their chusme shows for you (in person, on a call)
  contacts remove NAME               forget a contact
  contacts block FP                  refuse ceremonies from an identity (server-side): any it starts
                                     naming you is refused
  contacts unblock FP                lift a block
  contacts blocked                   whom you block
`

// Codes of the errors the contact commands report themselves.
const (
	codeUnknownContact   = "unknown_contact"   // a name or prefix of no contact
	codeAmbiguousContact = "ambiguous_contact" // a prefix of several contacts' fingerprints
	codeContactExists    = "contact_exists"    // contacts add of a name or fingerprint already there
)

// contactsArgs are the arguments of each contacts subcommand.
var contactsArgs = map[string][]string{"add": {"NAME", "FINGERPRINT"}, "list": nil, "show": {"NAME"}, "remove": {"NAME"},
	"block": {"FP"}, "unblock": {"FP"}, "blocked": nil}

// contacts runs the contact subcommands.
func (e *env) contacts(args []string) error {
	sub, args, err := e.subcommand("contacts", args, "add, list, show, remove, block, unblock or blocked")
	if err != nil {
		return err
	}
	rest, err := parse(e.flags("contacts "+sub), args)
	if err != nil {
		return err
	}
	want, ok := contactsArgs[sub]
	if !ok {
		return usagef("unknown contacts subcommand %q; run chusme help", sub)
	}
	if len(rest) != len(want) {
		if want == nil {
			return usagef("contacts %s takes no arguments", sub)
		}
		return usagef("contacts %s: give %s", sub, strings.Join(want, " "))
	}
	book, err := e.contactBook()
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		return e.contactsAdd(book, rest[0], rest[1])
	case "list":
		return e.contactsList(book)
	case "show":
		return e.contactsShow(book, rest[0])
	case "block", "unblock", "blocked":
		return e.contactsBlock(sub, rest)
	}
	c, err := book.Remove(rest[0])
	if err != nil {
		return contactError("contacts remove", err)
	}
	return e.output(struct {
		Removed client.Contact `json:"removed"`
	}{c}, func(w io.Writer) { fmt.Fprintf(w, "removed\t%s\t%s\n", c.Name, c.Fingerprint) })
}

// contactsBlock runs contacts block FP, contacts unblock FP and contacts
// blocked: the server-side list of whom this identity refuses ceremonies
// from. It prints the list as it is afterwards.
func (e *env) contactsBlock(sub string, rest []string) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	if sub != "blocked" {
		fp, err := e.resolveFingerprint("contacts "+sub, rest[0])
		if err != nil {
			return err
		}
		call := c.Block
		if sub == "unblock" {
			call = c.Unblock
		}
		if err := call(e.ctx, fp); err != nil {
			return err
		}
	}
	blocked, err := c.Blocked(e.ctx)
	if err != nil {
		return err
	}
	names := e.contactNames()
	return e.output(chusme.BlockList{Blocked: blocked}, func(w io.Writer) {
		for _, fp := range blocked {
			fmt.Fprintf(w, "blocked\t%s\n", names.label(fp))
		}
	})
}

// contactBook returns the contact book of the config directory.
func (e *env) contactBook() (*client.ContactBook, error) {
	dir, err := e.config()
	if err != nil {
		return nil, err
	}
	return client.NewContactBook(filepath.Join(dir, client.ContactsFileName)), nil
}

// contactError turns the contact book's refusals into the CLI's errors:
// malformed input is a usage error, the others have their codes.
func contactError(what string, err error) error {
	var ce *client.ContactError
	if !errors.As(err, &ce) {
		return err
	}
	msg := what + ": " + ce.Error()
	switch {
	case errors.Is(err, client.ErrNoContact):
		return chusme.Errorf(codeUnknownContact, "%s", msg)
	case errors.Is(err, client.ErrAmbiguousContact):
		return chusme.Errorf(codeAmbiguousContact, "%s", msg)
	case errors.Is(err, client.ErrContactExists):
		return chusme.Errorf(codeContactExists, "%s", msg)
	}
	return usagef("%s", msg)
}

// resolveFingerprint is the fingerprint s names (a fingerprint, a
// contact's name or a prefix of one contact's fingerprint, see
// client.ContactBook.Resolve); what names the argument in errors.
func (e *env) resolveFingerprint(what, s string) (string, error) {
	book, err := e.contactBook()
	if err != nil {
		return "", err
	}
	fp, err := book.Resolve(s)
	if err != nil {
		return "", contactError(what, err)
	}
	return fp, nil
}

func (e *env) contactsAdd(book *client.ContactBook, name, fp string) error {
	c, err := book.Add(name, fp)
	if err != nil {
		return contactError("contacts add", err)
	}
	if !e.json {
		fmt.Fprintf(e.stderr, "Added %s. Run chusme contacts show %s for the safety number to compare with them.\n", c.Name, c.Name)
	}
	return e.output(c, func(w io.Writer) { fmt.Fprintf(w, "added\t%s\t%s\n", c.Name, c.Fingerprint) })
}

func (e *env) contactsList(book *client.ContactBook) error {
	list, err := book.List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []client.Contact{}
	}
	return e.output(struct {
		Contacts []client.Contact `json:"contacts"`
	}{list}, func(w io.Writer) {
		fmt.Fprintf(w, "NAME\tFINGERPRINT\tADDED\n")
		for _, c := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\n", c.Name, c.Fingerprint, formatTime(c.AddedAt))
		}
	})
}

// contactShown is what contacts show prints.
type contactShown struct {
	Name            string    `json:"name,omitempty"` // empty for a fingerprint that is no contact
	Fingerprint     string    `json:"fingerprint"`
	AddedAt         time.Time `json:"added_at,omitzero"`
	YourFingerprint string    `json:"your_fingerprint,omitempty"`
	SafetyNumber    string    `json:"safety_number,omitempty"`
}

// contactsShow shows a contact (or any fingerprint) and, when the config
// directory holds an identity key, the safety number of the two.
func (e *env) contactsShow(book *client.ContactBook, s string) error {
	fp, err := book.Resolve(s)
	if err != nil {
		return contactError("contacts show", err)
	}
	list, err := book.List()
	if err != nil {
		return err
	}
	out := contactShown{Fingerprint: fp}
	for _, c := range list {
		if c.Fingerprint == fp {
			out.Name, out.AddedAt = c.Name, c.AddedAt
		}
	}
	if me, err := e.identityFingerprint(); err != nil {
		fmt.Fprintf(e.stderr, "chusme: no identity key to compute a safety number with (%v)\n", err)
	} else if out.SafetyNumber, err = chusme.SafetyNumber(me, fp); err != nil {
		return err
	} else {
		out.YourFingerprint = me
	}
	if !e.json && out.SafetyNumber != "" {
		fmt.Fprintln(e.stderr, "Compare this safety number with the one chusme contacts show prints for you on their side, in person or on a call: if the two differ, one of you holds a wrong fingerprint.")
	}
	return e.output(out, func(w io.Writer) {
		if out.Name != "" {
			fmt.Fprintf(w, "name\t%s\n", out.Name)
		}
		fmt.Fprintf(w, "fingerprint\t%s\n", out.Fingerprint)
		if out.Name != "" {
			fmt.Fprintf(w, "added\t%s\n", formatTime(out.AddedAt))
		}
		if out.SafetyNumber == "" {
			return
		}
		fmt.Fprintf(w, "you\t%s\n", out.YourFingerprint)
		// Three lines of four groups, as they are read aloud.
		groups := strings.Fields(out.SafetyNumber)
		for i := 0; i < len(groups); i += 4 {
			head := ""
			if i == 0 {
				head = "safety number"
			}
			fmt.Fprintf(w, "%s\t%s\n", head, strings.Join(groups[i:i+4], " "))
		}
	})
}

// contactNames maps fingerprints to contact names, for display.
type contactNames map[string]string

// contactNames returns the names of the contact book; a book that can't be
// read is reported on stderr and shows no names.
func (e *env) contactNames() contactNames {
	book, err := e.contactBook()
	var list []client.Contact
	if err == nil {
		list, err = book.List()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "chusme: contact names not shown: %v\n", err)
	}
	names := contactNames{}
	for _, c := range list {
		names[c.Fingerprint] = c.Name
	}
	return names
}

// label is a fingerprint with its contact name beside it, when it has one.
func (n contactNames) label(fp string) string {
	if name, ok := n[fp]; ok {
		return fp + " (" + name + ")"
	}
	return fp
}

// labels is label of each fingerprint, joined by commas.
func (n contactNames) labels(fps []string) string {
	out := make([]string, len(fps))
	for i, fp := range fps {
		out[i] = n.label(fp)
	}
	return strings.Join(out, ", ")
}
