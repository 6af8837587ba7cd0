package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/chusme/chusme"
)

// AdminCeremonyStats returns the ceremonies of the last hours (0 for the
// server's default, chusme.DefaultStatsHours; at most
// chusme.MaxStatsHours) by the hour, by kind, status and failure reason;
// administrators only (GET /v1/admin/ceremony-stats).
func (c *Client) AdminCeremonyStats(ctx context.Context, hours int) (chusme.CeremonyStats, error) {
	var st chusme.CeremonyStats
	path := "/v1/admin/ceremony-stats"
	if hours != 0 {
		path += "?hours=" + strconv.Itoa(hours)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &st)
	return st, err
}

// InviteQuery selects a page of GET /v1/admin/invites: Limit invites (0
// for the server's default, at most chusme.MaxInvitePage) after Cursor (a
// page's NextCursor, "" from the first).
type InviteQuery struct {
	Cursor string
	Limit  int
}

// AdminInvites returns a page of the server's stored invites, newest
// first, without their tokens; administrators only (GET
// /v1/admin/invites).
func (c *Client) AdminInvites(ctx context.Context, q InviteQuery) (chusme.AdminInvitePage, error) {
	var page chusme.AdminInvitePage
	err := c.do(ctx, http.MethodGet, pagePath("/v1/admin/invites", "", q.Cursor, q.Limit), nil, &page)
	return page, err
}

// AdminRevokeInvite revokes the unused invite id, so that it registers no
// one; administrators only (DELETE /v1/admin/invites/{id}). A used invite
// can't be revoked: chusme.CodeInviteUsed.
func (c *Client) AdminRevokeInvite(ctx context.Context, id string) error {
	if !chusme.ValidInviteID(id) {
		return fmt.Errorf("client: %q is not an invite id (%d lowercase hex digits)", id, 2*chusme.InviteIDSize)
	}
	return c.do(ctx, http.MethodDelete, "/v1/admin/invites/"+id, nil, nil)
}
