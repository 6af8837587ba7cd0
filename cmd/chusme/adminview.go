package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// adminStats shows the ceremony stats: the totals by kind, status and
// reason, and a sparkline of each status over the hours.
func (e *env) adminStats(args []string) error {
	fs := e.flags("admin stats")
	hours := fs.Int("hours", chusme.DefaultStatsHours, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *hours < 1 || *hours > chusme.MaxStatsHours {
		return usagef("admin stats: --hours is 1 to %d", chusme.MaxStatsHours)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	st, err := c.AdminCeremonyStats(e.ctx, *hours)
	if err != nil {
		return err
	}
	return e.output(st, func(w io.Writer) {
		fmt.Fprintf(w, "ceremonies from %s to %s, by the hour\n", formatTime(st.Since), formatTime(st.Until))
		if len(st.Totals) == 0 {
			fmt.Fprintln(w, "none")
			return
		}
		fmt.Fprintln(w, "KIND\tSTATUS\tREASON\tCOUNT")
		for _, t := range st.Totals {
			reason := t.Reason
			if reason == "" {
				reason = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", t.Kind, t.Status, reason, t.Count)
		}
		fmt.Fprintln(w, "\nSTATUS\tHOURLY, OLDEST FIRST")
		for _, status := range []string{chusme.CeremonyCompleted, chusme.CeremonyFailed, chusme.CeremonyCancelled, chusme.CeremonyOpen} {
			counts := make([]int, len(st.Buckets))
			for i, b := range st.Buckets {
				for _, n := range b.Counts {
					if n.Status == status {
						counts[i] += n.Count
					}
				}
			}
			if line, ok := sparkline(counts); ok {
				fmt.Fprintf(w, "%s\t%s\n", status, line)
			}
		}
	})
}

// sparkline draws counts, one character each: · for none, then ▁ to █ up
// to the largest. ok is false when every count is zero.
func sparkline(counts []int) (line string, ok bool) {
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	if most == 0 {
		return "", false
	}
	bars := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, n := range counts {
		if n == 0 {
			b.WriteRune('·')
			continue
		}
		b.WriteRune(bars[(n*len(bars)-1)/most])
	}
	return b.String(), true
}

// adminInvitesOutput is what admin invites prints: every stored invite,
// of every page.
type adminInvitesOutput struct {
	Invites []chusme.AdminInvite `json:"invites"`
}

// adminInvites lists the stored invites, newest first, walking every page.
func (e *env) adminInvites(args []string) error {
	if err := parseNoArgs(e.flags("admin invites"), args); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	list, err := allPages("invite", func(cursor string) ([]chusme.AdminInvite, string, error) {
		page, err := c.AdminInvites(e.ctx, client.InviteQuery{Cursor: cursor, Limit: chusme.MaxInvitePage})
		return page.Invites, page.NextCursor, err
	})
	if err != nil {
		return err
	}
	out := adminInvitesOutput{Invites: list}
	return e.output(out, func(w io.Writer) {
		for _, inv := range out.Invites {
			used := ""
			if inv.UsedAt != nil {
				used = fmt.Sprintf("\tused by %s at %s", inv.UsedBy, formatTime(*inv.UsedAt))
			}
			fmt.Fprintf(w, "%s\t%s\tcreated %s by %s\texpires %s%s\n", inv.ID, inv.Status, formatTime(inv.CreatedAt), inv.CreatedBy, formatTime(inv.ExpiresAt), used)
		}
	})
}

// adminInviteRevoke revokes the unused invite ID.
func (e *env) adminInviteRevoke(args []string) error {
	rest, err := parse(e.flags("admin invite revoke"), args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("admin invite revoke: give exactly one invite ID (admin invites lists them)")
	}
	if !chusme.ValidInviteID(rest[0]) {
		return usagef("admin invite revoke: %q is not an invite ID (%d lowercase hex digits)", rest[0], 2*chusme.InviteIDSize)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if err := c.AdminRevokeInvite(e.ctx, rest[0]); err != nil {
		return err
	}
	return e.output(struct {
		Revoked string `json:"revoked"`
	}{rest[0]}, func(w io.Writer) { fmt.Fprintf(w, "invite %s revoked\n", rest[0]) })
}
