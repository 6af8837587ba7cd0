package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/servertest"
)

// The setup token of a first start is printed as a plain command to run,
// besides its log record.
func TestSetupTokenAnnounced(t *testing.T) {
	s := servertest.Start(t)
	if want := "chusme setup --token " + s.SetupToken(t); !strings.Contains(s.Logs(), want) {
		t.Fatalf("the server's stderr lacks %q:\n%s", want, s.Logs())
	}
}

// A data directory the server can't write stops the start with one line
// naming the directory and the user (a root-owned volume, say). /proc
// refuses new files even to root, which runs these tests in CI.
func TestDataDirNotWritable(t *testing.T) {
	var out bytes.Buffer
	err := server.Run(t.Context(), []string{"--listen", "127.0.0.1:0", "--data-dir", "/proc"}, func(string) string { return "" }, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "the data directory /proc is not writable by") || !strings.Contains(err.Error(), "uid") {
		t.Fatalf("start on /proc: %v", err)
	}
}

// chusmed help and -h list the subcommands and the flags; --tls-cert
// without --tls-key is refused.
func TestHelpListsSubcommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}} {
		var out bytes.Buffer
		err := server.Run(t.Context(), args, func(string) string { return "" }, &out, &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("chusmed %v: %v", args, err)
		}
		for _, want := range []string{"chusmed keys rotate", "chusmed backup", "chusmed store copy", "chusmed healthcheck", "-listen", "-tls-cert"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("chusmed %v lacks %q:\n%s", args, want, out.String())
			}
		}
	}
	err := server.Run(t.Context(), []string{"--tls-cert", "c.pem"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
		t.Fatalf("--tls-cert alone: %v", err)
	}
}

var testIPs = []net.IP{net.IPv4(127, 0, 0, 1)}

// writeCert writes a new self-signed certificate for 127.0.0.1, named cn,
// to certFile and keyFile, and returns it.
func writeCert(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: testIPs,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path, typ string
		b         []byte
	}{{keyFile, "PRIVATE KEY", kb}, {certFile, "CERTIFICATE", der}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.b}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// chusmed serves HTTPS with --tls-cert and --tls-key, picks up a renewed
// certificate without a restart, and its healthcheck subcommand reads
// /readyz over it; a server that is not there fails the healthcheck.
func TestTLSServedAndReloaded(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, "first")
	s := servertest.Start(t, "--tls-cert", certFile, "--tls-key", keyFile)
	base := "https://" + strings.TrimPrefix(s.URL, "http://")
	served := func() *x509.Certificate {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil {
			t.Fatalf("GET /healthz over TLS: %s", resp.Status)
		}
		return resp.TLS.PeerCertificates[0]
	}
	if got := served(); !got.Equal(first) {
		t.Fatalf("served %s, want the first certificate", got.Subject)
	}
	if !strings.Contains(s.Logs(), `"issuer":"https://`) {
		t.Fatalf("the default issuer is not https:\n%s", s.Logs())
	}
	second := writeCert(t, certFile, keyFile, "second")
	deadline := time.Now().Add(10 * time.Second)
	for !served().Equal(second) {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 10 s")
		}
		time.Sleep(100 * time.Millisecond) // the reload looks at the files at most once a second
	}

	var out bytes.Buffer
	if err := server.Run(t.Context(), []string{"healthcheck", "--url", base + "/readyz"}, func(string) string { return "" }, &out, &out); err != nil || !strings.Contains(out.String(), "ready") {
		t.Fatalf("healthcheck: %v %s", err, out.String())
	}
	s.Stop(t)
	if err := server.Run(t.Context(), []string{"healthcheck", "--url", base + "/readyz", "--timeout", "2s"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Fatal("the healthcheck of a stopped server succeeded")
	}
}

// An https issuer served over plain HTTP, with no proxy trusted to
// terminate TLS, is warned about.
func TestPlainHTTPSIssuerWarned(t *testing.T) {
	s := servertest.Start(t, "--issuer", "https://id.example.org")
	if !strings.Contains(s.Logs(), "the issuer is https:// but chusmed serves plain HTTP") {
		t.Fatalf("no warning:\n%s", s.Logs())
	}
}
