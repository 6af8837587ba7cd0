// Package server wires chusmed together: configuration, store, secrets,
// services and the HTTP server, with graceful shutdown. cmd/chusmed's main
// and the end-to-end tests call the same Run.
package server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ceremony"
	"github.com/chusme/chusme/internal/crossnode"
	"github.com/chusme/chusme/internal/httpapi"
	"github.com/chusme/chusme/internal/identity"
	"github.com/chusme/chusme/internal/metrics"
	"github.com/chusme/chusme/internal/postgres"
	"github.com/chusme/chusme/internal/ratelimit"
	"github.com/chusme/chusme/internal/secrets"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/storecopy"
	"github.com/chusme/chusme/internal/tokens"
	"github.com/chusme/chusme/internal/webapp"
	"github.com/chusme/chusme/internal/wsapi"
)

// SetupTokenFile is the name of the file in the data directory that holds
// the pending setup token (mode 0600) until it is redeemed.
const SetupTokenFile = "setup-token"

// Background intervals.
const (
	keyReloadInterval = 10 * time.Second // how often the keyring file is checked for a rotation
	purgeInterval     = time.Minute      // how often expired challenges, invites and sessions are deleted
	readyTimeout      = 5 * time.Second  // how long a scrape's readiness check may take
)

// Run runs chusmed with the given arguments until ctx is cancelled. Logs go
// to stderr as JSON; command output to stdout.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "keys":
			return runKeys(args[1:], getenv, stdout, stderr)
		case "backup":
			return runBackup(ctx, args[1:], getenv, stdout, stderr)
		case "restore":
			return runRestore(ctx, args[1:], getenv, stdout, stderr)
		case "store":
			return runStore(ctx, args[1:], stdout)
		case "version":
			fmt.Fprintln(stdout, "chusmed", chusme.Version)
			return nil
		case "healthcheck":
			return runHealthcheck(ctx, args[1:], getenv, stdout, stderr)
		case "help":
			args = []string{"-h"}
		case "serve":
			args = args[1:]
		}
	}
	cfg, err := parseConfig("chusmed", args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not a level", cfg.LogLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	return serve(ctx, cfg, log, stderr)
}

// serve runs the server until ctx ends; notices for the operator (the
// setup token) go to stderr as plain lines besides the log.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stderr io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return err
	}
	warnDataDirMode(cfg.DataDir, log)
	var certs *certReloader
	if cfg.TLSCert != "" {
		var err error
		if certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			return err
		}
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	keyring, err := loadKeyring(cfg)
	if err != nil {
		return err
	}
	dataKey, err := secrets.DataKey(cfg.DataKey, cfg.DataKeyFile)
	if err != nil {
		return err
	}
	defer clear(dataKey)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.Issuer == "" {
		cfg.Issuer = localURL(ln.Addr().String(), certs != nil)
	}
	warnPlainIssuer(cfg, log)

	m := metrics.New()
	issuer := &tokens.Issuer{Keys: keyring, Issuer: cfg.Issuer, Audience: cfg.Issuer, Now: time.Now}
	svc, err := auth.New(store, issuer, auth.Config{
		Issuer:          cfg.Issuer,
		Registration:    cfg.Registration,
		RefreshGrace:    cfg.RefreshGrace,
		SessionIdle:     cfg.SessionIdle,
		SessionLifetime: cfg.SessionMax,
		DataKey:         dataKey,
		TOTPLimit:       cfg.Lifecycle.TOTPLimit,
	}, time.Now, log, m)
	if err != nil {
		return err
	}

	setupPath := filepath.Join(cfg.DataDir, SetupTokenFile)
	if err := bootstrap(ctx, svc, setupPath, log, stderr); err != nil {
		return err
	}
	ceremonies := ceremony.New(store, ceremony.Config{RoundTimeout: cfg.Ceremony.RoundTimeout, RoundMax: cfg.Ceremony.RoundMax, OpenMax: cfg.Ceremony.OpenMax, Now: time.Now, Issuer: cfg.Issuer}, m, log)
	// One limiter of each for both transports: switching bypasses none.
	limits := wsapi.Limits{
		IP: ratelimit.New(cfg.IPLimit, time.Now), Identity: ratelimit.New(cfg.IdentityLimit, time.Now),
		Create: ratelimit.New(cfg.Ceremony.CreateLimit, time.Now), Submit: ratelimit.New(cfg.Ceremony.SubmitLimit, time.Now),
	}
	realtime := wsapi.New(wsapi.Config{
		Name: "chusme", Version: chusme.Version, Issuer: cfg.Issuer, Origins: cfg.WS.Origins,
		PingInterval: cfg.WS.PingInterval, PongTimeout: cfg.WS.PongTimeout, WriteTimeout: cfg.WS.WriteTimeout,
		Limits: limits,
	}, svc, ceremonies, m, log)
	ceremonies.OnChange(realtime.CeremonyChanged)
	onBan := realtime.Banned
	if db, ok := store.(*postgres.DB); ok {
		// Several nodes may share the database: exchange events with them.
		relay, err := crossnode.Start(ctx, db, ceremonies, realtime, log)
		if err != nil {
			return err
		}
		defer relay.Stop()
		onBan = relay.Banned
	}
	var disk func() (httpapi.DiskSpace, error)
	if cfg.Database == "" { // PostgreSQL's disk is its server's to watch
		disk = diskCheck(cfg.DataDir, cfg.Storage.MinFreeMB)
	}
	api := httpapi.New(httpapi.Config{
		Version:        chusme.Version,
		TrustedProxies: cfg.TrustedProxies,
		IPLimit:        limits.IP,
		AuthLimit:      cfg.AuthLimit,
		IdentityLimit:  limits.Identity,
		Now:            time.Now,
		OnSetup:        func() { os.Remove(setupPath) },
		App:            webapp.Handler(),

		Ceremonies:          ceremonies,
		CeremonyCreateLimit: limits.Create,
		CeremonySubmitLimit: limits.Submit,
		AuthFailLimit:       ratelimit.New(cfg.IPLimit, time.Now),

		Identity:  identity.New(store, cfg.Issuer, time.Now, log),
		BlobLimit: cfg.Lifecycle.BlobLimit,

		Realtime: realtime,
		OnBan:    onBan,
		Disk:     disk,
	}, svc, keyring, store, m, log)

	m.Readiness(func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		return api.Ready(ctx)
	})

	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var conns connStates
	srv.ConnState = conns.track
	// The background jobs use the store: they end before it closes (its
	// Close was deferred first, so it runs last).
	var bgWork sync.WaitGroup
	bg, stopBG := context.WithCancel(ctx)
	defer bgWork.Wait()
	defer stopBG()
	if cfg.JWTKey == "" {
		bgWork.Go(func() { reloadKeys(bg, keyring, cfg.JWTKeysFile, log) })
	}
	bgWork.Go(func() { purge(bg, store, svc, cfg.Storage.CeremonyRetention, log) })
	bgWork.Go(func() { ceremonies.RunScheduler(bg) })
	srv.RegisterOnShutdown(ceremonies.Shutdown) // end long-polls so that shutdown doesn't wait for them

	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "version", chusme.Version, "registration", cfg.Registration)
	errc := make(chan error, 1)
	go func() {
		if certs == nil {
			errc <- srv.Serve(ln)
			return
		}
		srv.TLSConfig = &tls.Config{GetCertificate: certs.getCertificate, MinVersion: tls.VersionTLS12}
		errc <- srv.ServeTLS(ln, "", "")
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	// Shutdown leaves hijacked connections alone: close the WebSockets with
	// 1001, in the same grace as the requests.
	wsDone := make(chan error, 1)
	go func() { wsDone <- realtime.Shutdown(shutdownCtx) }()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Shutdown also waits, up to five seconds, for connections that never
		// sent a request (a client's preconnect): a shorter grace ends on
		// them. Only a request still running is a failure.
		busy := conns.active()
		srv.Close()
		if busy > 0 {
			return fmt.Errorf("shutdown: %d requests still running after --shutdown-grace %s", busy, cfg.ShutdownGrace)
		}
	}
	if err := <-wsDone; err != nil {
		return fmt.Errorf("shutdown: websockets: %w", err)
	}
	log.Info("stopped")
	return nil
}

// connStates tracks the HTTP connections by state, to tell at the end of
// the shutdown grace whether any request is still running.
type connStates struct {
	mu     sync.Mutex
	states map[net.Conn]http.ConnState
}

// track is the http.Server's ConnState hook.
func (c *connStates) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(c.states, conn)
		return
	}
	if c.states == nil {
		c.states = make(map[net.Conn]http.ConnState)
	}
	c.states[conn] = st
}

// active returns how many connections are in the middle of a request.
func (c *connStates) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.states {
		if st == http.StateActive {
			n++
		}
	}
	return n
}

// warnDataDirMode logs a warning when group or others may read, write or
// enter the data directory: it holds the store and the secrets, whose own
// modes are 0600, but others could still list, add or swap files in it.
func warnDataDirMode(dir string, log *slog.Logger) {
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("the data directory is accessible to group or others; chmod 0700 it",
		"path", dir, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}

// openStore opens the configured store: SQLite in the data directory, or
// PostgreSQL when --database is a postgres:// URL.
func openStore(ctx context.Context, cfg Config) (chusme.Store, error) {
	if cfg.Database != "" {
		return postgres.Open(ctx, cfg.Database)
	}
	return sqlite.OpenOptions(ctx, filepath.Join(cfg.DataDir, "chusme.db"), sqlite.Options{Synchronous: cfg.Storage.Synchronous})
}

func loadKeyring(cfg Config) (*tokens.Keyring, error) {
	if cfg.JWTKey != "" {
		seed, err := base64.RawURLEncoding.DecodeString(cfg.JWTKey)
		if err != nil {
			return nil, errors.New("CHUSME_JWT_KEY is not unpadded base64url")
		}
		defer clear(seed)
		return tokens.FromSeed(seed)
	}
	return tokens.LoadOrCreateFile(cfg.JWTKeysFile, time.Now())
}

// bootstrap creates the setup token on a first start and writes it to a
// 0600 file; it is logged once, as DESIGN §2 asks, so the operator can find it.
func bootstrap(ctx context.Context, svc *auth.Service, path string, log *slog.Logger, stderr io.Writer) error {
	token, err := svc.Bootstrap(ctx)
	if err != nil || token == "" {
		return err
	}
	if err := secrets.WriteFile(path, []byte(token+"\n")); err != nil {
		return err
	}
	log.Warn("no identity exists yet: redeem the one-time setup token with `chusme setup` to register the first administrator",
		"setup_token", token, "file", path)
	announceSetup(stderr, token, path)
	return nil
}

// reloadKeys picks up a keyring file rewritten by `chusmed keys rotate`.
func reloadKeys(ctx context.Context, kr *tokens.Keyring, path string, log *slog.Logger) {
	var last time.Time
	if fi, err := os.Stat(path); err == nil {
		last = fi.ModTime()
	}
	t := time.NewTicker(keyReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil || fi.ModTime().Equal(last) {
			continue
		}
		next, err := tokens.LoadFile(path)
		if err != nil {
			log.Error("keyring reload failed; keeping the current keys", "err", err)
			continue
		}
		last = fi.ModTime()
		kr.Replace(next)
		log.Info("keyring reloaded", "signing_kid", kr.Signing(time.Now()).ID)
	}
}

// purge deletes, every purgeInterval, what svc says has ended and the
// ceremonies closed longer than retention ago (none if retention is 0).
func purge(ctx context.Context, store chusme.Store, svc *auth.Service, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p := svc.Purge(now)
			if retention > 0 {
				p.CeremoniesBefore = now.Add(-retention)
			}
			n, err := store.PurgeExpired(ctx, p)
			if err != nil && ctx.Err() == nil {
				log.Error("purging expired records failed", "err", err, "purged", n)
			} else if n > 0 {
				log.Debug("purged expired records", "purged", n)
			}
		}
	}
}

// keyPublishLead is how long after `chusmed keys rotate` the new key signs:
// every server has read it within keyReloadInterval, then it is in the JWKS
// for at least a cache lifetime before any token carries it.
const keyPublishLead = keyReloadInterval + tokens.JWKSCacheTTL

// runKeys implements `chusmed keys rotate`.
func runKeys(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: chusmed keys rotate [--data-dir DIR] [--jwt-keys-file FILE]")
	}
	cfg, err := parseConfig("chusmed keys rotate", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.JWTKey != "" {
		return errors.New("the signing key comes from CHUSME_JWT_KEY: rotate it there")
	}
	if _, err := tokens.LoadOrCreateFile(cfg.JWTKeysFile, time.Now()); err != nil {
		return err
	}
	k, err := tokens.RotateFile(cfg.JWTKeysFile, time.Now(), keyPublishLead, tokens.AccessTTL+tokens.Leeway)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s: running servers publish it within %s and sign with it from %s\n",
		k.ID, keyReloadInterval, k.NotBefore.Format(time.RFC3339))
	return nil
}

// runStore implements `chusmed store copy --from SQLITE --to POSTGRES`.
func runStore(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = "usage: chusmed store copy --from sqlite:PATH --to postgres://URL"
	if len(args) == 0 || args[0] != "copy" {
		return errors.New(usage)
	}
	var from, to string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--from" && i+1 < len(args):
			from = args[i+1]
			i++
		case strings.HasPrefix(a, "--from="):
			from = strings.TrimPrefix(a, "--from=")
		case a == "--to" && i+1 < len(args):
			to = args[i+1]
			i++
		case strings.HasPrefix(a, "--to="):
			to = strings.TrimPrefix(a, "--to=")
		default:
			return fmt.Errorf("chusmed store copy: unexpected argument %q; %s", a, usage)
		}
	}
	if from == "" || to == "" {
		return errors.New(usage)
	}
	return storecopy.Copy(ctx, from, to, stdout)
}

// runBackup implements `chusmed backup --to FILE`: a consistent online copy
// of the SQLite store, taken while servers keep running on it.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	to, cfg, err := sqliteTool("backup", "to", args, getenv, stderr,
		"usage: chusmed backup --to FILE [--data-dir DIR]",
		"chusmed backup copies the SQLite store; back PostgreSQL up with its own tools (pg_dump)")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "chusme.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no store to back up: %w", err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", path, to)
	return nil
}

// runRestore implements `chusmed restore --from FILE`, with every server on
// the data directory stopped: it copies FILE (a `chusmed backup` copy) into
// the data directory as the store, 0600, after opening the copy as this
// binary would (which refuses a schema newer than it knows and applies the
// migrations it lacks). The store it replaces, with its -wal and -shm
// files, is kept beside it as chusme.db.replaced.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	from, cfg, err := sqliteTool("restore", "from", args, getenv, stderr,
		"usage: chusmed restore --from FILE [--data-dir DIR] (stop the servers first)",
		"chusmed restore restores the SQLite store; restore PostgreSQL with its own tools (pg_restore)")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "chusme.db")
	if _, err := os.Stat(path + ".replaced"); err == nil {
		return fmt.Errorf("restore: %s.replaced exists from an earlier restore: move it away first", path)
	}
	staged := path + ".restoring"
	if err := copyFile(from, staged); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() { // no-ops once renamed
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(staged + suffix)
		}
	}()
	db, err := sqlite.Open(ctx, staged)
	if err != nil {
		return fmt.Errorf("restore %s: %w", from, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The last connection's close checkpoints the WAL into the file.
	if _, err := os.Stat(staged + "-wal"); err == nil {
		return errors.New("restore: the staged copy kept a WAL after closing")
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, path+".replaced"+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: keeping the current store: %w", err)
		}
	}
	if err := os.Rename(staged, path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s from %s; the store it replaced is %s.replaced\n", path, from, path)
	return nil
}

// copyFile copies the file src to dst, a new file of mode 0600.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// sqliteTool parses the arguments of `chusmed NAME`, a tool of the SQLite
// store only: the value of its required --flagName, and the configuration
// from the other arguments. usage is the error without the flag, onPostgres
// the error when --database names PostgreSQL.
func sqliteTool(name, flagName string, args []string, getenv func(string) string, stderr io.Writer, usage, onPostgres string) (string, Config, error) {
	value, rest := cutFlag(args, flagName)
	if value == "" {
		return "", Config{}, errors.New(usage)
	}
	cfg, err := parseConfig("chusmed "+name, rest, getenv, stderr)
	if err != nil {
		return "", cfg, err
	}
	if cfg.Database != "" {
		return "", cfg, errors.New(onPostgres)
	}
	return value, cfg, nil
}

// cutFlag returns the value of --name VALUE or --name=VALUE in args (the
// last one given) and the other arguments.
func cutFlag(args []string, name string) (value string, rest []string) {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--"+name && i+1 < len(args):
			value = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--"+name+"="):
			value = strings.TrimPrefix(args[i], "--"+name+"=")
		default:
			rest = append(rest, args[i])
		}
	}
	return value, rest
}
