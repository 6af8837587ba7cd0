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
	str(&c.ping, "ws-ping-interval", wsapi.DefaultPingInterval.String(), "how often the server pings a WebSocket peer")
	str(&c.pong, "ws-pong-timeout", wsapi.DefaultPongTimeout.String(), "how long a WebSocket peer has to answer a ping")
	str(&c.write, "ws-write-timeout", wsapi.DefaultWriteTimeout.String(), "how long one WebSocket write may take before the peer is cut")
}

// parse reads the values registered by flags.
func (c *WSConfig) parse() error {
	for _, o := range strings.Split(c.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Origins = append(c.Origins, o)
		}
	}
	for _, d := range []struct {
		dst  *time.Duration
		name string
		v    string
	}{{&c.PingInterval, "ws-ping-interval", c.ping}, {&c.PongTimeout, "ws-pong-timeout", c.pong}, {&c.WriteTimeout, "ws-write-timeout", c.write}} {
		v, err := time.ParseDuration(d.v)
		if err != nil || v <= 0 {
			return fmt.Errorf("--%s: %q is not a positive duration", d.name, d.v)
		}
		*d.dst = v
	}
	return nil
}
