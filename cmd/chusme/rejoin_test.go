package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// buildCLI builds the chusme command into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chusme")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// killAfter runs the CLI binary with c's environment and args, kills it
// with SIGKILL once the server (watched through w) shows fp's round-r
// package of ceremony id, and checks that its state file stayed.
func killAfter(t *testing.T, bin string, c *cli, w *client.Client, id, fp string, r int, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	servertest.WaitSubmitted(t.Context(), t, w, id, fp, r)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("chusme %s: %v, want killed\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(c.env["CHUSME_CONFIG_DIR"], stateDir, id+".state")); err != nil {
		t.Fatalf("no state file after kill -9 in round %d: %v", r, err)
	}
}

// TestJoinAfterKill: "chusme ceremony join" killed with SIGKILL after it
// sent its DKG round-2 package, and a signer killed after its commitment,
// finish when join runs again, which says it resumes.
func TestJoinAfterKill(t *testing.T) {
	bin := buildCLI(t)
	ctx := t.Context()
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	admin.ok("keygen")
	admin.ok("setup", "--token", s.SetupToken(t))
	alice, aliceFP := newMember(t, s, admin, "alice pw")
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	peer := servertest.NewMember(t, s.URL, nil)
	peer.Register(t, inv.Invite)
	alice.ok("contacts", "add", "peer", peer.Fingerprint)
	stateFile := func(id string) string { return filepath.Join(alice.env["CHUSME_CONFIG_DIR"], stateDir, id+".state") }

	// DKG, killed in round 2.
	info, err := peer.Client.StartDKG(ctx, peer.Key, 2, []string{peer.Fingerprint, aliceFP})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	slow := s.Gated(t, peer, 2, release)
	peerDKG := make(chan *client.DKGResult, 1)
	go func() {
		res, err := slow.Client.RunDKG(ctx, info.ID, slow.Key, nil)
		if err != nil {
			t.Error(err)
		}
		peerDKG <- res
	}()
	killAfter(t, bin, alice, peer.Client, info.ID, aliceFP, 2, "ceremony", "join", info.ID)
	close(release)
	out, errOut, err := alice.run("ceremony", "join", info.ID, "--json")
	if err != nil {
		t.Fatalf("join again: %v\n%s", err, errOut)
	}
	if want := "resuming ceremony " + info.ID + " at round 2"; !strings.Contains(errOut, want) {
		t.Fatalf("join again: stderr %q, want %q", errOut, want)
	}
	res := <-peerDKG
	if res == nil {
		t.FailNow()
	}
	defer res.KeyPackage.Zero()
	if !strings.Contains(out, res.KeyID) {
		t.Fatalf("the resumed join made another key than the peer's %s:\n%s", res.KeyID, out)
	}
	if _, err := os.Stat(stateFile(info.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after the DKG: %v", err)
	}

	// Signing, killed after its commitment.
	msg := []byte("resume after kill -9")
	sum := sha256.Sum256(msg)
	info, err = peer.Client.StartSign(ctx, peer.Key, res.KeyID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	release = make(chan struct{})
	slow = s.Gated(t, peer, 1, release)
	peerSig := make(chan []byte, 1)
	go func() {
		sig, err := slow.Client.RunSign(ctx, info.ID, slow.Key, res.KeyID, res.KeyPackage, servertest.ApproveAll, nil)
		if err != nil {
			t.Error(err)
		}
		peerSig <- sig
	}()
	killAfter(t, bin, alice, peer.Client, info.ID, aliceFP, 1, "ceremony", "join", info.ID, "--yes", "--expect-sha256", hex.EncodeToString(sum[:]))
	close(release)
	var so signOutput
	alice.okJSON(&so, "ceremony", "join", info.ID)
	sig, err := hex.DecodeString(so.Signature)
	if err != nil || !ed25519.Verify(res.PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatalf("the resumed signer's signature does not verify: %+v", so)
	}
	if peer := <-peerSig; !bytes.Equal(peer, sig) {
		t.Fatal("the peer got another signature")
	}
	if _, err := os.Stat(stateFile(info.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after the signing: %v", err)
	}
}

// TestInterruptLeavesState: a creator interrupted (Ctrl-C cancels run's
// context) after its round-1 package keeps its round state and its
// ceremony, says how to resume, and "ceremony join" then finishes it.
func TestInterruptLeavesState(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	adminFP := strings.TrimSpace(admin.ok("keygen"))
	admin.ok("setup", "--token", s.SetupToken(t))
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	peer := servertest.NewMember(t, s.URL, nil)
	peer.Register(t, inv.Invite)
	admin.ok("contacts", "add", "peer", peer.Fingerprint)

	cctx, interrupt := context.WithCancel(ctx)
	b := &background{args: []string{"ceremony", "dkg"}, stderr: &idWatcher{id: make(chan string, 1)}, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.err = run(cctx, []string{"ceremony", "dkg", "--threshold", "2", "--participants", "peer"}, admin.getenv, strings.NewReader(""), &b.stdout, b.stderr)
	}()
	id := b.ceremonyID(t)
	servertest.WaitSubmitted(ctx, t, peer.Client, id, adminFP, 1)
	interrupt()
	if err := b.wait(t, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted dkg: %v", err)
	}
	if want := `"chusme ceremony join ` + id + `" resumes`; !strings.Contains(b.stderr.String(), want) {
		t.Fatalf("stderr %q, want %q", b.stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(admin.env["CHUSME_CONFIG_DIR"], stateDir, id+".state")); err != nil {
		t.Fatalf("no state file after Ctrl-C: %v", err)
	}
	peerDone := make(chan error, 1)
	go func() {
		res, err := peer.Client.RunDKG(ctx, id, peer.Key, nil)
		if err == nil {
			res.KeyPackage.Zero()
		}
		peerDone <- err
	}()
	var out dkgOutput
	admin.okJSON(&out, "ceremony", "join", id)
	if err := <-peerDone; err != nil || out.Status != chusme.CeremonyCompleted {
		t.Fatalf("resumed DKG: %+v, peer %v", out, err)
	}
}
