package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/chusme/chusme"
)

// Block blocks identity fp from inviting the caller to ceremonies (PUT
// /v1/me/blocks/{fp}): its later ceremonies naming the caller are refused
// with chusme.CodeParticipantBlocked.
func (c *Client) Block(ctx context.Context, fp string) error {
	return c.blockCall(ctx, http.MethodPut, fp)
}

// Unblock lifts a block (DELETE /v1/me/blocks/{fp}).
func (c *Client) Unblock(ctx context.Context, fp string) error {
	return c.blockCall(ctx, http.MethodDelete, fp)
}

func (c *Client) blockCall(ctx context.Context, method, fp string) error {
	if !chusme.ValidFingerprint(fp) {
		return fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	return c.do(ctx, method, "/v1/me/blocks/"+fp, nil, nil)
}

// Blocked returns whom the caller blocks, sorted (GET /v1/me/blocks).
func (c *Client) Blocked(ctx context.Context) ([]string, error) {
	var l chusme.BlockList
	err := c.do(ctx, http.MethodGet, "/v1/me/blocks", nil, &l)
	return l.Blocked, err
}
