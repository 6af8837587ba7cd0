package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chusme/chusme"
)

// IdentityQuery selects a page of GET /v1/admin/identities: Limit
// identities (0 for the server's default, at most chusme.MaxAdminPage) of
// Status ("" for any) after Cursor (a page's NextCursor, "" from the
// first).
type IdentityQuery struct {
	Status string
	Cursor string
	Limit  int
}

// AdminIdentities returns a page of the server's identities by
// fingerprint; administrators only (GET /v1/admin/identities).
func (c *Client) AdminIdentities(ctx context.Context, q IdentityQuery) (chusme.AdminIdentityPage, error) {
	var page chusme.AdminIdentityPage
	err := c.do(ctx, http.MethodGet, pagePath("/v1/admin/identities", q.Status, q.Cursor, q.Limit), nil, &page)
	return page, err
}

// pagePath returns path with the query of a page of a list: its status,
// cursor and limit, each if set.
func pagePath(path, status, cursor string, limit int) string {
	v := url.Values{}
	for k, s := range map[string]string{"status": status, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return path
}

// AdminIdentity returns identity fp with its chain (unverified) and its
// live sessions; administrators only (GET /v1/admin/identities/{fp}).
func (c *Client) AdminIdentity(ctx context.Context, fp string) (chusme.AdminIdentityDetail, error) {
	var d chusme.AdminIdentityDetail
	if err := checkFingerprint(fp); err != nil {
		return d, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/admin/identities/"+fp, nil, &d)
	return d, err
}

// Unban lets identity fp log in again (an active one stays so);
// administrators only (POST /v1/admin/identities/{fp}/unban).
func (c *Client) Unban(ctx context.Context, fp string) (chusme.IdentityInfo, error) {
	return c.setStatus(ctx, fp, "unban")
}

// setStatus posts action (ban or unban) on identity fp and returns the
// identity.
func (c *Client) setStatus(ctx context.Context, fp, action string) (chusme.IdentityInfo, error) {
	var info chusme.IdentityInfo
	if err := checkFingerprint(fp); err != nil {
		return info, err
	}
	err := c.do(ctx, http.MethodPost, "/v1/admin/identities/"+fp+"/"+action, nil, &info)
	return info, err
}

// checkFingerprint refuses fp if it is not a fingerprint.
func checkFingerprint(fp string) error {
	if !chusme.ValidFingerprint(fp) {
		return fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	return nil
}
