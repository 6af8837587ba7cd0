package server

import (
	"strconv"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ceremony"
	"github.com/chusme/chusme/internal/ratelimit"
)

// CeremonyConfig is the FROST coordinator's part of the configuration.
type CeremonyConfig struct {
	RoundTimeout time.Duration   // --ceremony-round-timeout
	RoundMax     time.Duration   // --ceremony-round-timeout-max
	OpenMax      int             // --ceremony-open-max, per creator
	CreateLimit  ratelimit.Limit // --rate-ceremony-create, per client IP
	SubmitLimit  ratelimit.Limit // --rate-ceremony-submit, per access token's session

	roundTimeout, roundMax, openMax, createLimit, submitLimit string
}

// ceremonyFlags registers the coordinator's flags on fs; str is parseConfig's
// helper that reads the CHUSME_* variable as the default.
func (c *CeremonyConfig) flags(str func(p *string, flagName, def, usage string)) {
	str(&c.roundTimeout, "ceremony-round-timeout", ceremony.DefaultRoundTimeout.String(),
		"how long a ceremony round waits for its submissions before the ceremony fails, unless its request asks otherwise: 1s to 24h")
	str(&c.roundMax, "ceremony-round-timeout-max", ceremony.DefaultRoundMax.String(),
		"the longest round timeout a ceremony's request may ask for: 1s to 24h")
	str(&c.openMax, "ceremony-open-max", strconv.Itoa(ceremony.DefaultOpenMax),
		"how many open ceremonies one identity may have started at a time: 1 to 10000")
	str(&c.createLimit, "rate-ceremony-create", "5/m:5", "ceremony creations per client IP, 0 = off")
	str(&c.submitLimit, "rate-ceremony-submit", "30/m:30", "ceremony round submissions per access token, 0 = off")
}

// parse reads the flag values registered by flags.
func (c *CeremonyConfig) parse() error {
	var err error
	if c.RoundTimeout, err = parseDuration("ceremony-round-timeout", c.roundTimeout, time.Second, 24*time.Hour); err != nil {
		return err
	}
	if c.RoundMax, err = parseDuration("ceremony-round-timeout-max", c.roundMax, chusme.MinRoundTimeout, 24*time.Hour); err != nil {
		return err
	}
	if c.OpenMax, err = parseCount("ceremony-open-max", c.openMax, 1, 10000); err != nil {
		return err
	}
	if c.CreateLimit, err = parseLimit("rate-ceremony-create", c.createLimit); err != nil {
		return err
	}
	c.SubmitLimit, err = parseLimit("rate-ceremony-submit", c.submitLimit)
	return err
}
