package client

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/chusme/chusme"
)

// Later moves c's clock on by d, as if d had passed (the test-only way to
// age the peer keys c verified).
func Later(c *Client, d time.Duration) {
	now := c.now
	c.now = func() time.Time { return now().Add(d) }
}

// WithSecretTamper makes a driver a cheater: tamper changes each secret it
// seals (to recipient, in round) before it signs it.
func WithSecretTamper(tamper func(round int, recipient string, secret []byte)) RunOption {
	return func(c *runConfig) { c.tamper = tamper }
}

// ComplainSecret sends a complaint that reveals secret and its sender's
// signature, as a driver does about a bad secret.
func ComplainSecret(ctx context.Context, c *Client, id string, key ed25519.PrivateKey, round int, accused string, secret, sig []byte) (chusme.CeremonyInfo, error) {
	return c.complain(ctx, id, key, chusme.ComplaintRequest{Round: round, Accused: accused, Secret: secret, SecretSignature: sig})
}

// MissChange makes r's newest known state of ceremony id one version
// older, as if it had missed the last change pushed.
func MissChange(r *Realtime, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := r.latest[id]
	info.Version--
	r.latest[id] = info
}
