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
	RefreshGrace   time.Duration // as auth.Config reads it: the grace, or noRefreshGrace (--refresh-grace 0); never 0
	SessionIdle    time.Duration
	SessionMax     time.Duration
	ShutdownGrace  time.Duration
	LogLevel       string
	TLSCert        string // --tls-cert: serve HTTPS with this certificate (PEM), reloaded on change
	TLSKey         string // --tls-key: its private key (PEM)
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
	fs.Usage = func() {
		fmt.Fprint(out, subcommands)
		fs.PrintDefaults()
	}
	env := func(flagName, def string) string {
		if v := getenv(envVar(flagName)); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, flagName, def, usage string) {
		fs.StringVar(p, flagName, env(flagName, def), usage+" ("+envVar(flagName)+")")
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
	str(&ipLimit, "rate-ip", "600/m:120", "requests per client IP but the ceremony routes' (charged to the identity): N/s|m|h[:burst], N and burst 1 to 1000000, 0 = off")
	str(&authLimit, "rate-auth", "60/m:40", "setup, registration and login requests per client IP, 0 = off")
	str(&idLimit, "rate-identity", "300/m:60", "authenticated requests (the ceremony routes' included) and challenges per identity, 0 = off")
	str(&grace, "refresh-grace", auth.DefaultRefreshGrace.String(), "how long the previous refresh token may be presented once more: 0 (none) to 1h")
	str(&idle, "session-idle", auth.DefaultSessionIdle.String(), "a session unused this long ends: 1m to --session-max")
	str(&maxAge, "session-max", auth.DefaultSessionLifetime.String(), "absolute session lifetime: 1m to 8760h")
	str(&shutdown, "shutdown-grace", "15s", "how long shutdown waits for requests to finish: 0 to 10m")
	str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(&c.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain), reloaded when the file changes; with --tls-key")
	str(&c.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
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
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, errors.New("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
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
		if *l.dst, err = parseLimit(l.name, l.v); err != nil {
			return c, err
		}
	}
	for _, d := range []struct {
		dst    *time.Duration
		name   string
		v      string
		lo, hi time.Duration
	}{
		{&c.RefreshGrace, "refresh-grace", grace, 0, time.Hour},
		{&c.SessionMax, "session-max", maxAge, time.Minute, maxSession},
		{&c.SessionIdle, "session-idle", idle, time.Minute, maxSession},
		{&c.ShutdownGrace, "shutdown-grace", shutdown, 0, 10 * time.Minute},
	} {
		if *d.dst, err = parseDuration(d.name, d.v, d.lo, d.hi); err != nil {
			return c, err
		}
	}
	if c.SessionIdle > c.SessionMax {
		return c, fmt.Errorf("--session-idle (%s): %s is longer than --session-max (%s)", envVar("session-idle"), c.SessionIdle, c.SessionMax)
	}
	if c.RefreshGrace == 0 {
		c.RefreshGrace = noRefreshGrace
	}
	return c, nil
}

// noRefreshGrace is Config.RefreshGrace for --refresh-grace 0: auth.Config
// reads a negative grace as none (and zero as its default).
const noRefreshGrace = -1

// maxSession bounds --session-idle and --session-max: a year.
const maxSession = 365 * 24 * time.Hour

// maxLimit bounds the N and the burst of a rate flag.
const maxLimit = 1_000_000

// envVar names the CHUSME_* variable of a flag.
func envVar(flagName string) string {
	return "CHUSME_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseDuration parses flag flagName's value v, a duration from lo to hi.
func parseDuration(flagName, v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi || (d == 0 && lo > 0) {
		return 0, fmt.Errorf("--%s (%s): %q is not a duration from %s to %s", flagName, envVar(flagName), v, lo, hi)
	}
	return d, nil
}

// parseCount parses a whole number from lo to hi.
func parseCount(flagName, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("--%s (%s): %q is not a whole number from %d to %d", flagName, envVar(flagName), v, lo, hi)
	}
	return n, nil
}

// parseLimit parses flag flagName's value s: "N/s", "N/m" or "N/h",
// optionally ":BURST", N and BURST from 1 to maxLimit; "0" is off.
func parseLimit(flagName, s string) (ratelimit.Limit, error) {
	if s == "0" || s == "off" {
		return ratelimit.Limit{}, nil
	}
	bad := fmt.Errorf("--%s (%s): %q is not N/s, N/m or N/h[:burst] with N and burst from 1 to %d, or 0", flagName, envVar(flagName), s, maxLimit)
	rateStr, burstStr, hasBurst := strings.Cut(s, ":")
	nStr, unit, ok := strings.Cut(rateStr, "/")
	n, err := strconv.Atoi(nStr)
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok || err != nil || n < 1 || n > maxLimit || per == 0 {
		return ratelimit.Limit{}, bad
	}
	l := ratelimit.Limit{Events: n, Per: per, Burst: n}
	if hasBurst {
		if l.Burst, err = strconv.Atoi(burstStr); err != nil || l.Burst < 1 || l.Burst > maxLimit {
			return ratelimit.Limit{}, bad
		}
	}
	return l, nil
}
