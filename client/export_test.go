package client

import "time"

// Later moves c's clock on by d, as if d had passed (the test-only way to
// age the peer keys c verified).
func Later(c *Client, d time.Duration) {
	now := c.now
	c.now = func() time.Time { return now().Add(d) }
}
