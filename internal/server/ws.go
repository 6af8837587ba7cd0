package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/chusme/chusme/internal/wsapi"
)

// WSConfig is the WebSocket transport's part of the configuration.
type WSConfig struct {
	Origins      []string      // --ws-origins: allowed Origin values; empty = the server's own host only
	PingInterval time.Duration // --ws-ping-interval
	PongTimeout  time.Duration // --ws-pong-timeout
	WriteTimeout time.Duration // --ws-write-timeout

	origins, ping, pong, write string
}

// flags registers the WebSocket flags on fs; str is parseConfig's helper.
func (c *WSConfig) flags(str func(p *string, flagName, def, usage string)) {
	str(&c.origins, "ws-origins", "", "comma-separated Origins allowed to open a WebSocket (scheme://host[:port], * = any); empty = the server's own host only")
	str(&c.ping, "ws-ping-interval", wsapi.DefaultPingInterval.String(), "how often the server pings a WebSocket peer: 10ms to 1h")
	str(&c.pong, "ws-pong-timeout", "", "how long a WebSocket peer has to answer a ping, shorter than --ws-ping-interval (default "+
		wsapi.DefaultPongTimeout.String()+", or half the ping interval when that is shorter)")
	str(&c.write, "ws-write-timeout", wsapi.DefaultWriteTimeout.String(), "how long one WebSocket write may take before the peer is cut: 10ms to 10m")
}

// parse reads the values registered by flags.
func (c *WSConfig) parse() error {
	for _, o := range strings.Split(c.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Origins = append(c.Origins, o)
		}
	}
	var err error
	if c.PingInterval, err = parseDuration("ws-ping-interval", c.ping, 10*time.Millisecond, time.Hour); err != nil {
		return err
	}
	if c.WriteTimeout, err = parseDuration("ws-write-timeout", c.write, 10*time.Millisecond, 10*time.Minute); err != nil {
		return err
	}
	if c.pong == "" {
		// A pong timeout at or above the interval would never expire: each
		// ping pushes the read deadline past the next one.
		c.PongTimeout = min(wsapi.DefaultPongTimeout, c.PingInterval/2)
		return nil
	}
	if c.PongTimeout, err = parseDuration("ws-pong-timeout", c.pong, time.Millisecond, time.Hour); err != nil {
		return err
	}
	if c.PongTimeout >= c.PingInterval {
		return fmt.Errorf("--ws-pong-timeout (%s): %s is not shorter than --ws-ping-interval (%s), so a silent peer would never time out",
			envVar("ws-pong-timeout"), c.PongTimeout, c.PingInterval)
	}
	return nil
}
