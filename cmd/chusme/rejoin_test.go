package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
// sent its package of each round of a DKG (1, 2, 3) and of a signing (the
// commitment, the share), while the peer holds its own back, finishes when
// join runs again, which says where it resumes.
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
	resumed := func(t *testing.T, errOut, id string, round int) {
		t.Helper()
		if want := fmt.Sprintf("resuming ceremony %s at round %d", id, round); !strings.Contains(errOut, want) {
			t.Fatalf("join again: stderr %q, want %q", errOut, want)
		}
		if _, err := os.Stat(stateFile(id)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state file after the ceremony: %v", err)
		}
	}

	var key *client.DKGResult
	for _, round := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("dkg_round_%d", round), func(t *testing.T) {
			info, err := peer.Client.StartDKG(ctx, peer.Key, 2, []string{peer.Fingerprint, aliceFP})
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			slow := s.Gated(t, peer, round, release)
			peerDKG := make(chan *client.DKGResult, 1)
			go func() {
				res, err := slow.Client.RunDKG(ctx, info.ID, slow.Key, nil)
				if err != nil {
					t.Error(err)
				}
				peerDKG <- res
			}()
			killAfter(t, bin, alice, peer.Client, info.ID, aliceFP, round, "ceremony", "join", info.ID)
			close(release)
			out, errOut, err := alice.run("ceremony", "join", info.ID, "--json")
			if err != nil {
				t.Fatalf("join again: %v\n%s", err, errOut)
			}
			res := <-peerDKG
			if res == nil {
				t.FailNow()
			}
			if !strings.Contains(out, res.KeyID) {
				t.Fatalf("the resumed join made another key than the peer's %s:\n%s", res.KeyID, out)
			}
			resumed(t, errOut, info.ID, round)
			if key == nil {
				key = res
			} else {
				res.KeyPackage.Zero()
			}
		})
	}
	if key == nil {
		t.FailNow()
	}
	defer key.KeyPackage.Zero()
	for _, round := range []int{1, 2} {
		t.Run(fmt.Sprintf("sign_round_%d", round), func(t *testing.T) {
			msg := []byte(fmt.Sprintf("resume after kill -9 in round %d", round))
			sum := sha256.Sum256(msg)
			info, err := peer.Client.CreateCeremony(ctx, peer.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: key.KeyID,
				Message: msg, AllSigners: true})
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			slow := s.Gated(t, peer, round, release)
			peerSig := make(chan []byte, 1)
			go func() {
				sig, err := slow.Client.RunSign(ctx, info.ID, slow.Key, key.KeyID, key.KeyPackage, servertest.ApproveAll, nil)
				if err != nil {
					t.Error(err)
				}
				peerSig <- sig
			}()
			killAfter(t, bin, alice, peer.Client, info.ID, aliceFP, round, "ceremony", "join", info.ID, "--yes", "--expect-sha256", hex.EncodeToString(sum[:]))
			close(release)
			out, errOut, err := alice.run("ceremony", "join", info.ID, "--json")
			if err != nil {
				t.Fatalf("join again: %v\n%s", err, errOut)
			}
			var so signOutput
			if err := json.Unmarshal([]byte(out), &so); err != nil {
				t.Fatal(err)
			}
			sig := []byte(so.Signature)
			if !ed25519.Verify(key.PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) {
				t.Fatalf("the resumed signer's signature does not verify: %+v", so)
			}
			if peer := <-peerSig; !bytes.Equal(peer, sig) {
				t.Fatal("the peer got another signature")
			}
			resumed(t, errOut, info.ID, round)
		})
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
