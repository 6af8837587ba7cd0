package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ratelimit"
)

// DefaultListen is where chusmed listens with no configuration.
const DefaultListen = ":1984"

// Config is chusmed's configuration: flags, each with a CHUSME_* variable
// (the flag wins when both are given).
type Config struct {
	Listen         string
	DataDir        string
	Database       string // empty: SQLite in DataDir
	Issuer         string // empty: derived from the listen address
	Registration   string
	JWTKeysFile    string // empty: DataDir/jwt-keys.json
	JWTKey         string // from CHUSME_JWT_KEY only: a base64url seed, instead of the file
	DataKeyFile    string // empty: DataDir/data-key
	DataKey        string // from CHUSME_DATA_KEY only
	TrustedProxies []netip.Prefix
	IPLimit        ratelimit.Limit
	AuthLimit      ratelimit.Limit
	IdentityLimit  ratelimit.Limit
	RefreshGrace   time.Duration
	SessionIdle    time.Duration
	SessionMax     time.Duration
	ShutdownGrace  time.Duration
	LogLevel       string
	Ceremony       CeremonyConfig
	Lifecycle      LifecycleConfig
	Storage        StorageConfig
	WS             WSConfig
}

// parseConfig reads flags from args and CHUSME_* variables from getenv.
func parseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(flagName, def string) string {
		if v := getenv("CHUSME_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, flagName, def, usage string) {
		fs.StringVar(p, flagName, env(flagName, def), usage+" (CHUSME_"+strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))+")")
	}
	var proxies, ipLimit, authLimit, idLimit, grace, idle, maxAge, shutdown string
	str(&c.Listen, "listen", DefaultListen, "host:port to listen on")
	str(&c.DataDir, "data-dir", "data", "data directory (SQLite file, generated secrets)")
	str(&c.Database, "database", "", "empty for SQLite in the data directory, or a postgres:// URL (several nodes)")
	str(&c.Issuer, "issuer", "", "public base URL, bound into tokens and signed login messages (default http://127.0.0.1:PORT)")
	str(&c.Registration, "registration", auth.RegistrationInvite, "registration mode: open or invite")
	str(&c.JWTKeysFile, "jwt-keys-file", "", "JWT signing keyring (default DATA_DIR/jwt-keys.json)")
	str(&c.DataKeyFile, "data-key-file", "", "data key file (default DATA_DIR/data-key)")
	str(&proxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For is trusted")
	str(&ipLimit, "rate-ip", "600/m:120", "requests per client IP: N/s|m|h[:burst], 0 = off")
	str(&authLimit, "rate-auth", "60/m:20", "setup, registration and login requests per client IP, 0 = off")
	str(&idLimit, "rate-identity", "300/m:60", "authenticated requests and challenges per identity, 0 = off")
	str(&grace, "refresh-grace", auth.DefaultRefreshGrace.String(), "how long the previous refresh token may be presented once more (0 = none)")
	str(&idle, "session-idle", auth.DefaultSessionIdle.String(), "a session unused this long ends")
	str(&maxAge, "session-max", auth.DefaultSessionLifetime.String(), "absolute session lifetime")
	str(&shutdown, "shutdown-grace", "15s", "how long shutdown waits for requests to finish")
	str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	c.Ceremony.flags(str)
	c.Lifecycle.flags(str)
	c.Storage.flags(str)
	c.WS.flags(str)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.Ceremony.parse(); err != nil {
		return c, err
	}
	if err := c.Lifecycle.parse(); err != nil {
		return c, err
	}
	if err := c.Storage.parse(); err != nil {
		return c, err
	}
	if err := c.WS.parse(); err != nil {
		return c, err
	}
	c.JWTKey = getenv("CHUSME_JWT_KEY")
	c.DataKey = getenv("CHUSME_DATA_KEY")
	if c.JWTKeysFile == "" {
		c.JWTKeysFile = filepath.Join(c.DataDir, "jwt-keys.json")
	}
	if c.DataKeyFile == "" {
		c.DataKeyFile = filepath.Join(c.DataDir, "data-key")
	}
	if c.Registration != auth.RegistrationOpen && c.Registration != auth.RegistrationInvite {
		return c, fmt.Errorf("--registration must be open or invite, not %q", c.Registration)
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return c, errors.New("--database must be empty (SQLite in the data directory) or a postgres:// URL")
	}
	var err error
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, perr := netip.ParsePrefix(p)
		if perr != nil {
			return c, fmt.Errorf("--trusted-proxies: %q is not a CIDR", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	for _, l := range []struct {
		dst  *ratelimit.Limit
		name string
		v    string
	}{{&c.IPLimit, "rate-ip", ipLimit}, {&c.AuthLimit, "rate-auth", authLimit}, {&c.IdentityLimit, "rate-identity", idLimit}} {
		if *l.dst, err = parseLimit(l.v); err != nil {
			return c, fmt.Errorf("--%s: %w", l.name, err)
		}
	}
	for _, d := range []struct {
		dst  *time.Duration
		name string
		v    string
	}{{&c.RefreshGrace, "refresh-grace", grace}, {&c.SessionIdle, "session-idle", idle}, {&c.SessionMax, "session-max", maxAge}, {&c.ShutdownGrace, "shutdown-grace", shutdown}} {
		if *d.dst, err = time.ParseDuration(d.v); err != nil || *d.dst < 0 {
			return c, fmt.Errorf("--%s: %q is not a duration", d.name, d.v)
		}
	}
	if c.RefreshGrace == 0 {
		c.RefreshGrace = -1 // auth: negative disables the grace
	}
	return c, nil
}

// parseLimit parses "N/s", "N/m" or "N/h", optionally ":BURST"; "0" is off.
func parseLimit(s string) (ratelimit.Limit, error) {
	if s == "0" || s == "off" {
		return ratelimit.Limit{}, nil
	}
	rateStr, burstStr, hasBurst := strings.Cut(s, ":")
	nStr, unit, ok := strings.Cut(rateStr, "/")
	n, err := strconv.Atoi(nStr)
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok || err != nil || n <= 0 || per == 0 {
		return ratelimit.Limit{}, fmt.Errorf("%q is not N/s, N/m or N/h[:burst]", s)
	}
	l := ratelimit.Limit{Events: n, Per: per, Burst: n}
	if hasBurst {
		if l.Burst, err = strconv.Atoi(burstStr); err != nil || l.Burst < 1 {
			return ratelimit.Limit{}, fmt.Errorf("%q has a bad burst", s)
		}
	}
	return l, nil
}
