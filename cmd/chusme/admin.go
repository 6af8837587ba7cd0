package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// adminIdentitiesOutput is what admin identities prints: every identity,
// of every page.
type adminIdentitiesOutput struct {
	Identities []chusme.AdminIdentity `json:"identities"`
}

// adminIdentities lists the server's identities by fingerprint, walking
// every page.
func (e *env) adminIdentities(args []string) error {
	fs := e.flags("admin identities")
	status := fs.String("status", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *status != "" && *status != chusme.StatusActive && *status != chusme.StatusBanned {
		return usagef("admin identities: --status is %s or %s", chusme.StatusActive, chusme.StatusBanned)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	list, err := allPages("identity", func(cursor string) ([]chusme.AdminIdentity, string, error) {
		page, err := c.AdminIdentities(e.ctx, client.IdentityQuery{Status: *status, Cursor: cursor, Limit: chusme.MaxAdminPage})
		return page.Identities, page.NextCursor, err
	})
	if err != nil {
		return err
	}
	out := adminIdentitiesOutput{Identities: list}
	return e.output(out, func(w io.Writer) {
		for _, id := range out.Identities {
			fmt.Fprintf(w, "%s\t%s\t%s\tcreated %s\t%d chain entries\t%d devices\t%d recovery keys\n",
				id.Fingerprint, id.Status, id.Role, formatTime(id.CreatedAt), id.ChainLength, id.Devices, id.RecoveryKeys)
		}
	})
}

// allPages walks a paged admin list from the first page: fetch returns a
// page's items and the next cursor ("" after the last). A list that does
// not end (an empty page, or a cursor seen before) is an error, not a loop.
func allPages[T any](what string, fetch func(cursor string) ([]T, string, error)) ([]T, error) {
	all := []T{}
	seen := map[string]bool{"": true}
	for cursor := ""; ; {
		items, next, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] || len(items) == 0 {
			return nil, fmt.Errorf("the server's %s list does not end (an empty page, or a cursor that does not advance)", what)
		}
		seen[next] = true
		cursor = next
	}
}

// adminIdentity shows an identity, its chain and its live sessions.
func (e *env) adminIdentity(args []string) error {
	fp, c, err := e.adminTarget("admin identity", args)
	if err != nil {
		return err
	}
	d, err := c.AdminIdentity(e.ctx, fp)
	if err != nil {
		return err
	}
	return e.output(d, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\nrole\t%s\nstatus\t%s\ncreated\t%s\n", d.Fingerprint, d.Role, d.Status, formatTime(d.CreatedAt))
		if d.BannedAt != nil {
			fmt.Fprintf(w, "banned\t%s\n", formatTime(*d.BannedAt))
		}
		fmt.Fprintf(w, "devices\t%d\nrecovery keys\t%d\n", d.Devices, d.RecoveryKeys)
		for _, en := range d.Chain.Entries {
			fmt.Fprintf(w, "entry\t%d\t%s\taccepted %s\n", en.Seq, en.Kind, formatTime(en.AcceptedAt))
		}
		for _, s := range d.Sessions {
			fmt.Fprintf(w, "session\t%s\tcreated %s\tlast used %s\texpires %s\tdevice %s\n", s.ID, formatTime(s.CreatedAt), formatTime(s.LastUsedAt), formatTime(s.ExpiresAt),
				base64.RawURLEncoding.EncodeToString(s.DeviceKey))
		}
	})
}

// adminUnban lets a banned identity log in again.
func (e *env) adminUnban(args []string) error {
	return e.adminSetStatus("admin unban", args, (*client.Client).Unban)
}

// adminSetStatus runs cmd, admin ban or admin unban: set, Ban or Unban, on
// its FINGERPRINT, and prints the identity.
func (e *env) adminSetStatus(cmd string, args []string, set func(*client.Client, context.Context, string) (chusme.IdentityInfo, error)) error {
	fp, c, err := e.adminTarget(cmd, args)
	if err != nil {
		return err
	}
	info, err := set(c, e.ctx, fp)
	if err != nil {
		return err
	}
	return e.output(info, identityText(info))
}

// adminTarget parses the one FINGERPRINT (or contact name) of cmd and
// returns it resolved, with a client.
func (e *env) adminTarget(cmd string, args []string) (string, *client.Client, error) {
	rest, err := parse(e.flags(cmd), args)
	if err != nil {
		return "", nil, err
	}
	if len(rest) != 1 {
		return "", nil, usagef("%s: give exactly one FINGERPRINT", cmd)
	}
	fp, err := e.resolveFingerprint(cmd, rest[0])
	if err != nil {
		return "", nil, err
	}
	c, err := e.client()
	return fp, c, err
}
