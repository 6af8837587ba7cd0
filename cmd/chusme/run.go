package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/vault"
)

// DefaultServer is the server the CLI talks to unless told otherwise: a
// chusmed started with no arguments on the same machine.
const DefaultServer = "http://127.0.0.1:1984"

// File names inside the config directory.
const (
	keyFileName     = "identity.key" // the sealed identity key (package keyfile)
	sessionFileName = "session.json" // the tokens of the current session (client.FileTokenStore)
	pinsFileName    = "pins.json"    // the chain heads verified (client.FilePinStore)
)

// userAgent identifies the CLI to the server.
const userAgent = "chusme-cli/1"

const usage = `Usage: chusme [global flags] COMMAND [flags] [arguments]

chusme is the command-line client of a ChusMe server.

Commands:
  keygen [--force]                   create an identity key (CONFIG/identity.key), print its fingerprint
  setup --token T | --token-file F   redeem the server's setup token: become its administrator, log in
  register [--invite TOKEN]          register the identity key on the server, log in
  login                              log in with the identity key
  whoami                             show the logged-in identity and session
  logout                             end the session
  admin invite [--ttl 24h]           issue a single-use registration invite (administrators)
  admin ban FINGERPRINT              ban an identity and revoke its sessions (administrators)
  admin unban FINGERPRINT            let a banned identity log in again (administrators)
  admin identities [--status S]      list every identity: status, role, chain length, recovery
                                     keys (administrators; S is active or banned)
  admin identity FINGERPRINT         show an identity, its chain and its live sessions
                                     (administrators)
  admin invites                      list the stored invites, newest first: id, status, who
                                     issued and who used each; never a token (administrators)
  admin invite revoke ID             revoke an unused invite: it registers no one (administrators)
  admin stats [--hours 24]           ceremonies of the last hours (1 to 168) by kind, status and
                                     reason, and each status hour by hour (administrators)
  load login|refresh [--n 2000] [--concurrency 8] [--duration 1m] [--max-error-rate 0.01]
                                     bounded load test with the identity key: logins (challenge
                                     + token) or refreshes per second, latency percentiles, 429s
                                     and other errors apart; fails (load_errors) when more than
                                     the rate of requests failed
  help [COMMAND]                     show this help, or only COMMAND's (also COMMAND -h)
  version                            print the version
  completion bash|zsh|fish           print a shell completion script (e.g. source <(chusme completion bash))

Global flags, accepted before or after the command:
  --server URL             the server (CHUSME_SERVER, default http://127.0.0.1:1984)
  --issuer URL             the issuer the server must advertise; registrations and logins
                           are signed for it (CHUSME_ISSUER, default the server URL)
  --config-dir DIR         where identity.key and session.json live
                           (CHUSME_CONFIG_DIR, default the user config directory + /chusme)
  --passphrase-file FILE   read the key passphrase from FILE instead of the terminal
  --json                   print one JSON object on stdout, errors included:
                           {"error":{"code":"...","message":"..."}}

Environment:
  CHUSME_PASSPHRASE        the key passphrase, for scripts (--passphrase-file wins)
  CHUSME_KDF_MEMORY_KIB    Argon2id memory used by keygen, in KiB (default 65536 = 64 MiB);
                           lower it only on machines that can't spare the memory

Without --passphrase-file or CHUSME_PASSPHRASE the passphrase is asked on the
terminal (twice for keygen). Sessions refresh on their own; errors print
"chusme: MESSAGE (CODE)" on stderr and exit with status 1.
`

// Codes of errors that the CLI itself reports (the server's errors keep
// theirs).
const (
	codeUsage  = "usage"        // bad command line
	codeClient = "client_error" // any other local failure: files, network, passphrase
)

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// env holds what every command needs: global flags, environment, streams.
type env struct {
	ctx            context.Context
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer

	server, issuer, configDir, passphraseFile string
	json                                      bool
}

// run is the whole CLI: main calls it with the process's arguments (without
// the program name), environment and streams, and tests call it in process.
// It reports errors itself (on stderr, or as a JSON object on stdout with
// --json) and returns them so that main can set the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := e.dispatch(args)
	var he *helpError
	if errors.As(err, &he) {
		// Help goes to standard output and succeeds; an unknown command's
		// is a usage error.
		if err = showHelp(stdout, he); err == nil {
			return nil
		}
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) && slices.Contains(args, "--json") {
			// The command line was refused before --json was parsed.
			e.json = true
		}
		err = e.explain(err)
		e.report(err)
	}
	return err
}

// dispatch parses the global flags and runs the command.
func (e *env) dispatch(args []string) error {
	e.server = e.envOr("CHUSME_SERVER", DefaultServer)
	e.issuer = e.getenv("CHUSME_ISSUER")
	e.configDir = e.getenv("CHUSME_CONFIG_DIR")
	e.passphraseFile = e.getenv("CHUSME_PASSPHRASE_FILE")
	fs := e.flags("chusme")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpFor("")
		}
		return usagef("%v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("no command given; run chusme help")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		return helpFor(strings.Join(args, " "))
	case "version":
		return e.version(args)
	case "completion":
		return e.completion(args)
	case "keygen":
		return e.keygen(args)
	case "setup":
		return e.setup(args)
	case "register":
		return e.register(args)
	case "login":
		return e.login(args)
	case "whoami":
		return e.whoami(args)
	case "logout":
		return e.logout(args)
	case "load":
		return e.load(args)
	case "totp":
		return e.totp(args)
	case "backup":
		return e.backup(args)
	case "rotate":
		return e.rotate(args)
	case "identity":
		return e.identity(args)
	case "recovery":
		return e.recovery(args)
	case "recover":
		return e.recover(args)
	case "devices":
		return e.devices(args)
	case "ceremony":
		return e.ceremony(args)
	case "keys":
		return e.keys(args)
	case "contacts":
		return e.contacts(args)
	case "watch":
		return e.watch(args)
	case "admin":
		return e.admin(args)
	}
	return usagef("unknown command %q; run chusme help", cmd)
}

func (e *env) envOr(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// flags returns a flag set with the global flags registered, their defaults
// being the values set so far (so global flags may come before or after the
// command).
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&e.server, "server", e.server, "")
	fs.StringVar(&e.issuer, "issuer", e.issuer, "")
	fs.StringVar(&e.configDir, "config-dir", e.configDir, "")
	fs.StringVar(&e.passphraseFile, "passphrase-file", e.passphraseFile, "")
	fs.BoolVar(&e.json, "json", e.json, "")
	return fs
}

// parse parses a command's flags, which may be interleaved with its
// arguments, and returns the arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		// A base64url value (a signature, a key) may start with "-": a
		// word that long names no flag, so it is an argument.
		if len(args) > 0 && looksLikeValue(fs, args[0]) {
			rest, args = append(rest, args[0]), args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpFor(fs.Name())
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// looksLikeValue reports whether arg, which may start with "-", is a value
// rather than a flag of fs: longer than any flag name, with no "=", and no
// flag of that name.
func looksLikeValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	return strings.HasPrefix(arg, "-") && len(name) > 32 && !strings.Contains(name, "=") && fs.Lookup(name) == nil
}

// parseNoArgs parses a command that takes flags only.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	rest, err := parse(fs, args)
	if err == nil && len(rest) > 0 {
		err = usagef("%s: unexpected argument %q", fs.Name(), rest[0])
	}
	return err
}

// report prints err for the user: on stderr as "chusme: MESSAGE (CODE)", or
// with --json as an error object on stdout.
func (e *env) report(err error) {
	code, msg := codeClient, err.Error()
	var ce *chusme.Error
	var ue *usageError
	switch {
	case errors.As(err, &ce):
		code, msg = ce.Code, ce.Message
		if errors.Is(err, client.ErrNotLoggedIn) {
			msg = "not logged in; run chusme login"
		}
	case errors.As(err, &ue):
		code = codeUsage
	case errors.Is(err, vault.ErrDecrypt):
		msg = "wrong passphrase (or a corrupted key file)"
	}
	if e.json {
		type errObj struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		json.NewEncoder(e.stdout).Encode(struct {
			Error errObj `json:"error"`
		}{errObj{code, msg}})
		return
	}
	fmt.Fprintf(e.stderr, "chusme: %s (%s)\n", msg, code)
}

// output prints v as JSON with --json, or the text lines otherwise.
func (e *env) output(v any, text func(w io.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// config returns the config directory.
func (e *env) config() (string, error) {
	if e.configDir != "" {
		return e.configDir, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (set --config-dir or CHUSME_CONFIG_DIR): %w", err)
	}
	return filepath.Join(dir, "chusme"), nil
}

func (e *env) keyPath() (string, error) {
	dir, err := e.config()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, keyFileName), nil
}

// client returns a client of the server keeping its session in the config
// directory.
func (e *env) client() (*client.Client, error) {
	if err := checkServerURL(e.server); err != nil {
		return nil, err
	}
	dir, err := e.config()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{
		client.WithTokenStore(client.NewFileTokenStore(filepath.Join(dir, sessionFileName))),
		client.WithPinStore(client.NewFilePinStore(filepath.Join(dir, pinsFileName))),
		client.WithUserAgent(userAgent),
	}
	if e.issuer != "" {
		opts = append(opts, client.WithIssuer(e.issuer))
	}
	return client.New(e.server, opts...)
}

// loadKey opens the identity key with the passphrase. The caller wipes it.
func (e *env) loadKey() (ed25519.PrivateKey, error) {
	_, key, _, err := e.loadIdentityKey()
	return key, err
}

// kdfParams returns the Argon2id parameters for keygen: the defaults, with
// the memory of CHUSME_KDF_MEMORY_KIB if set.
func (e *env) kdfParams() (vault.Params, error) {
	p := vault.DefaultParams
	s := e.getenv("CHUSME_KDF_MEMORY_KIB")
	if s == "" {
		return p, nil
	}
	mem, err := strconv.ParseUint(s, 10, 32)
	if err != nil || mem < 8 || mem > vault.MaxMemoryKiB {
		return p, usagef("CHUSME_KDF_MEMORY_KIB must be a number of KiB from 8 to %d, not %q", vault.MaxMemoryKiB, s)
	}
	p.MemoryKiB = uint32(mem)
	if max := p.MemoryKiB / 8; uint32(p.Threads) > max {
		p.Threads = uint8(max) // Argon2id needs 8 KiB per thread
	}
	return p, nil
}

// identityText prints an identity's public view.
func identityText(info chusme.IdentityInfo) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", info.Fingerprint)
		fmt.Fprintf(w, "role\t%s\n", info.Role)
		fmt.Fprintf(w, "status\t%s\n", info.Status)
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

// readTokenFile reads a secret token from a file, trimming white space.
func readTokenFile(path string) (string, error) {
	b, err := readSmallFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readSmallFile reads at most 64 KiB from path.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 64<<10 {
		return nil, fmt.Errorf("%s: larger than 64 KiB", path)
	}
	return b, nil
}
