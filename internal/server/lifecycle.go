package server

import (
	"github.com/chusme/chusme/internal/ratelimit"
)

// LifecycleConfig is the identity lifecycle's part of the configuration.
type LifecycleConfig struct {
	BlobLimit ratelimit.Limit // --rate-blob: public blob reads per client IP
	TOTPLimit ratelimit.Limit // --rate-totp: TOTP and recovery codes per identity

	blobLimit, totpLimit string
}

// flags registers the lifecycle's flags; str is parseConfig's helper that
// reads the CHUSME_* variable as the default.
func (c *LifecycleConfig) flags(str func(p *string, flagName, def, usage string)) {
	str(&c.blobLimit, "rate-blob", "10/m:10", "public identity blob reads per client IP, 0 = off")
	str(&c.totpLimit, "rate-totp", "5/m:5", "TOTP and recovery code attempts per identity, 0 = off")
}

// parse reads the flag values registered by flags.
func (c *LifecycleConfig) parse() error {
	var err error
	if c.BlobLimit, err = parseLimit("rate-blob", c.blobLimit); err != nil {
		return err
	}
	c.TOTPLimit, err = parseLimit("rate-totp", c.totpLimit)
	return err
}
