package server

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// subcommands is what `chusmed -h` and `chusmed help` list besides the
// flags of serving.
const subcommands = `Usage: chusmed [serve] [flags]     serve (the default); flags below
       chusmed keys rotate         add a JWT signing key to the keyring (published before it signs)
       chusmed backup --to FILE [--data-dir DIR]
                                   a consistent copy of the SQLite database (0600)
       chusmed restore --from FILE [--data-dir DIR]
                                   put a backup in place of the database (stop the servers first)
       chusmed store copy --from sqlite:FILE|postgres://… --to …
                                   copy a whole store between engines, into an empty one
       chusmed healthcheck [--url URL]
                                   exit 0 if the server's /readyz answers 200 (for containers)
       chusmed version             print the version
       chusmed help                this text

Flags of serve (each has a CHUSME_* environment variable; the flag wins):
`

// checkDataDir fails, naming the directory and the user the server runs
// as, when the data directory can't be written (a volume owned by another
// user), rather than let SQLite fail later with "unable to open database
// file".
func checkDataDir(dir string) error {
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err == nil {
		name := f.Name()
		f.Close()
		return os.Remove(name)
	}
	who := strconv.Itoa(os.Getuid())
	if u, uerr := user.Current(); uerr == nil {
		who = u.Username + " (uid " + u.Uid + ")"
	}
	return fmt.Errorf("the data directory %s is not writable by %s, the user chusmed runs as: give it that user (chown) or choose another with --data-dir: %w", dir, who, err)
}

// announceSetup writes the pending setup token as plain lines on w (the
// server's standard error), besides the log record, so that an operator
// reading the terminal sees what to run.
func announceSetup(w io.Writer, token, path string) {
	fmt.Fprintf(w, "\nNo identity exists yet. Register the first administrator, once, with:\n\n    chusme setup --token %s\n\n(the token is also in %s until it is used)\n\n", token, path)
}

// certReloader serves the TLS certificate of --tls-cert and --tls-key,
// reloading the pair when either file changes (a renewal), at most once a
// second; a pair that fails to load keeps the last good one in use.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the two files' sizes and modification times at the last load
	checked time.Time // when the files were last looked at
}

// newCertReloader loads the pair once: an error here stops the start.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return r, nil
}

func (r *certReloader) fileStamp() string {
	var b strings.Builder
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// load reads the pair; r.mu is held or r is not shared yet.
func (r *certReloader) load() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= time.Second {
		r.checked = now
		if r.fileStamp() != r.stamp {
			if err := r.load(); err != nil {
				r.log.Error("reloading the TLS certificate failed: still serving the previous one", "err", err)
			} else {
				r.log.Info("TLS certificate reloaded", "file", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// warnPlainIssuer warns when the issuer says https:// but chusmed serves
// plain HTTP and trusts no proxy to terminate TLS in front of it.
func warnPlainIssuer(cfg Config, log *slog.Logger) {
	if strings.HasPrefix(cfg.Issuer, "https://") && cfg.TLSCert == "" && len(cfg.TrustedProxies) == 0 {
		log.Warn("the issuer is https:// but chusmed serves plain HTTP and trusts no proxy: set --tls-cert and --tls-key, or --trusted-proxies for the proxy that terminates TLS",
			"issuer", cfg.Issuer)
	}
}

// runHealthcheck is `chusmed healthcheck`: GET the server's /readyz and
// succeed only on 200. The default URL is the local listener's.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chusmed healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := getenv(envVar("listen"))
	if listen == "" {
		listen = DefaultListen
	}
	url := fs.String("url", localURL(listen, getenv(envVar("tls-cert")) != "")+"/readyz", "the readiness URL to ask")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// The check talks to this machine's own server, whose certificate may
	// name only its public host: it sends nothing secret and reads only
	// the status, so it does not verify the certificate.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

// localURL is the base URL of a listener on listen (host:port; an empty
// or wildcard host is 127.0.0.1): the default issuer, and what the
// healthcheck asks.
func localURL(listen string, tlsOn bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "", "1984"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
