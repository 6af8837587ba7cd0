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
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/sharefile"
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
	killWhen(t, bin, c, id, func() { servertest.WaitSubmitted(t.Context(), t, w, id, fp, r) }, args...)
}

// killWhen runs the CLI binary with c's environment and args, kills it
// with SIGKILL once ready returns, and checks that the state file of
// ceremony id stayed.
func killWhen(t *testing.T, bin string, c *cli, id string, ready func(), args ...string) {
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
	ready()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("chusme %s: %v, want killed\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(c.env["CHUSME_CONFIG_DIR"], stateDir, id+".state")); err != nil {
		t.Fatalf("no state file after kill -9: %v", err)
	}
}

// startWithAdmin starts a server and sets up its administrator, a CLI.
func startWithAdmin(t *testing.T) (*servertest.Server, *cli) {
	t.Helper()
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	admin.ok("keygen")
	admin.ok("setup", "--token", s.SetupToken(t))
	return s, admin
}

// resumedAt checks that c's join, which wrote errOut on stderr, said it
// resumed ceremony id at round, and left no state file behind.
func resumedAt(t *testing.T, c *cli, errOut, id string, round int) {
	t.Helper()
	if want := fmt.Sprintf("resuming ceremony %s at round %d", id, round); !strings.Contains(errOut, want) {
		t.Fatalf("join again: stderr %q, want %q", errOut, want)
	}
	if _, err := os.Stat(filepath.Join(c.env["CHUSME_CONFIG_DIR"], stateDir, id+".state")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after the ceremony: %v", err)
	}
}

// TestJoinAfterKill: "chusme ceremony join" killed with SIGKILL after it
// sent its package of each round of a DKG (1, 2, 3) and of a signing (the
// commitment, the share), while the peer holds its own back, finishes when
// join runs again, which says where it resumes.
func TestJoinAfterKill(t *testing.T) {
	bin := buildCLI(t)
	ctx := t.Context()
	s, admin := startWithAdmin(t)
	alice, aliceFP := newMember(t, s, admin, "alice pw")
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	peer := servertest.NewMember(t, s.URL, nil)
	peer.Register(t, inv.Invite)
	alice.ok("contacts", "add", "peer", peer.Fingerprint)
	resumed := func(t *testing.T, errOut, id string, round int) { resumedAt(t, alice, errOut, id, round) }

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

// holdRound4 returns the URL of a proxy to the server at target that,
// while hold is set, passes a ceremony's round-4 package on and keeps the
// answer back until the sender gives up: the package is in, and its sender
// still waits.
func holdRound4(t *testing.T, target string, hold *atomic.Bool) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/rounds/4") {
			rp.ServeHTTP(httptest.NewRecorder(), r)
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL
}

// TestJoinAfterKillKeyChanges: as TestJoinAfterKill, for every round alice
// (the CLI) sends a package in, of a refresh (1 to 3), of a reshare as a
// dealer that stays (1 to 3) and as a new holder (1 and 3), and of a repair
// as a helper (1 to 3) and as the holder being repaired (1 and 4), all on
// one 2-of-3 key of alice and two peers: chusme ceremony join killed with
// SIGKILL after that package resumes and finishes. Alice's share file is
// then of the new generation, from that ceremony, and signs with a peer's;
// a repaired share is the lost one.
func TestJoinAfterKillKeyChanges(t *testing.T) {
	bin := buildCLI(t)
	ctx := t.Context()
	s, admin := startWithAdmin(t)
	var hold atomic.Bool
	alice := newCLI(t, holdRound4(t, s.URL, &hold), "alice pw")
	alice.env["CHUSME_ISSUER"] = s.URL
	aliceFP := strings.TrimSpace(alice.ok("keygen"))
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	alice.ok("register", "--invite", inv.Invite)
	var peers []*servertest.Member
	for range 2 {
		admin.okJSON(&inv, "admin", "invite")
		m := servertest.NewMember(t, s.URL, nil)
		m.Register(t, inv.Invite)
		peers = append(peers, m)
	}
	aliceKey, err := keyfile.Load(filepath.Join(alice.env["CHUSME_CONFIG_DIR"], keyFileName), []byte("alice pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer := servertest.NewMember(t, s.URL, aliceKey) // alice's key, to sign with her share file
	signer.Login(t)
	all := append(servertest.Fingerprints(peers), aliceFP)

	info, err := peers[0].Client.StartDKG(ctx, peers[0].Key, 2, all)
	if err != nil {
		t.Fatal(err)
	}
	join := alice.start("ceremony", "join", info.ID, "--json")
	shares := map[string]*client.OldShare{} // the peers' current shares
	var mu sync.Mutex
	var wg sync.WaitGroup
	keep := func(fp string, res *client.DKGResult, generation int) {
		mu.Lock()
		defer mu.Unlock()
		t.Cleanup(res.KeyPackage.Zero)
		shares[fp] = &client.OldShare{KeyPackage: res.KeyPackage, PublicKeyPackage: res.PublicKeyPackage, Generation: generation}
	}
	for _, m := range peers {
		wg.Go(func() {
			res, err := m.Client.RunDKG(ctx, info.ID, m.Key, nil)
			if err != nil {
				t.Error(err)
				return
			}
			keep(m.Fingerprint, res, 1)
		})
	}
	var made dkgOutput
	join.wait(t, &made)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	keyID, generation := made.KeyID, 1

	// change runs key change req, created by peers[0]: the peers take part
	// at once, peers[0] held back in round gate (0: not held); alice's join
	// is killed once kill returns, then runs again and must say it resumes
	// at round state. With kill nil alice's join just runs. It returns the
	// ceremony id, and keeps the peers' new shares.
	change := func(t *testing.T, req chusme.CreateCeremonyRequest, gate, state int, kill func(id string)) string {
		t.Helper()
		req.KeyID = keyID
		info, err := peers[0].Client.CreateCeremony(ctx, peers[0].Key, req)
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		drivers := slices.Clone(peers)
		if gate > 0 {
			drivers[0] = s.Gated(t, peers[0], gate, release)
		}
		next := generation
		if req.Kind != chusme.KindRepair {
			next++
		}
		lost := shares[peers[1].Fingerprint]
		for _, m := range drivers {
			old := shares[m.Fingerprint]
			wg.Go(func() {
				var res *client.DKGResult
				var err error
				switch req.Kind {
				case chusme.KindRefresh:
					res, err = m.Client.RunRefresh(ctx, info.ID, m.Key, *old, nil)
				case chusme.KindReshare:
					res, err = m.Client.RunReshare(ctx, info.ID, m.Key, old, nil)
				default:
					if slices.Contains(req.NewParticipants, m.Fingerprint) {
						old = nil // the holder being repaired
					}
					res, err = m.Client.RunRepair(ctx, info.ID, m.Key, old, nil)
				}
				if err != nil {
					t.Error(err)
				} else if res.KeyPackage != nil {
					keep(m.Fingerprint, res, next)
				}
			})
		}
		if kill != nil {
			killWhen(t, bin, alice, info.ID, func() { kill(info.ID) }, "ceremony", "join", info.ID)
		}
		close(release)
		_, errOut, err := alice.run("ceremony", "join", info.ID, "--json")
		if err != nil {
			t.Fatalf("join again: %v\n%s", err, errOut)
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if kill != nil {
			resumedAt(t, alice, errOut, info.ID, state)
		}
		if req.Kind == chusme.KindRepair && slices.Contains(req.NewParticipants, peers[1].Fingerprint) &&
			!bytes.Equal(shares[peers[1].Fingerprint].KeyPackage.SigningShare().Bytes(), lost.KeyPackage.SigningShare().Bytes()) {
			t.Fatal("the peer's repaired share is not the lost one")
		}
		generation = next
		return info.ID
	}
	after := func(round int) func(id string) {
		return func(id string) { servertest.WaitSubmitted(ctx, t, peers[0].Client, id, aliceFP, round) }
	}
	// signs checks that alice's share file is of the current generation,
	// from ceremony id, and signs with peers[0]'s share.
	signs := func(t *testing.T, id string) *sharefile.Share {
		t.Helper()
		sh := loadShareOf(t, alice, keyID)
		if sh.Generation != generation || sh.CeremonyID != id {
			t.Fatalf("alice's share: generation %d from ceremony %s, want %d from %s", sh.Generation, sh.CeremonyID, generation, id)
		}
		peer := shares[peers[0].Fingerprint]
		msg := []byte("signed after " + id)
		sig, _ := servertest.Sign(t, peers[0], []*servertest.Member{signer, peers[0]}, []*client.DKGResult{
			{KeyID: keyID, KeyPackage: sh.KeyPackage, PublicKeyPackage: sh.PublicKeyPackage},
			{KeyID: keyID, KeyPackage: peer.KeyPackage, PublicKeyPackage: peer.PublicKeyPackage}}, []int{0, 1}, msg)
		if !ed25519.Verify(sh.PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) || !bytes.Equal(sh.PublicKeyPackage.VerifyingKey().Bytes(), made.PublicKey) {
			t.Fatal("alice's share does not sign under the group key")
		}
		return sh
	}
	reshare := func(holders ...string) chusme.CreateCeremonyRequest {
		return chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, Threshold: 2, Participants: all, NewParticipants: holders}
	}
	leave := func(t *testing.T) {
		t.Helper()
		change(t, reshare(servertest.Fingerprints(peers)...), 0, 0, nil)
		if _, err := os.Stat(sharePathOf(alice, keyID)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("alice left the key with a share file: %v", err)
		}
	}

	for _, round := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("refresh_round_%d", round), func(t *testing.T) {
			signs(t, change(t, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh}, round, round, after(round)))
		})
	}
	for _, round := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("reshare_dealer_round_%d", round), func(t *testing.T) {
			signs(t, change(t, reshare(all...), round, round, after(round)))
		})
	}
	for _, round := range []int{1, 3} {
		t.Run(fmt.Sprintf("reshare_new_holder_round_%d", round), func(t *testing.T) {
			leave(t)
			signs(t, change(t, reshare(all...), round, round, after(round)))
		})
	}
	for _, round := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("repair_helper_round_%d", round), func(t *testing.T) {
			before := loadShareOf(t, alice, keyID).CeremonyID
			change(t, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, Participants: all, NewParticipants: []string{peers[1].Fingerprint}},
				round, round, after(round))
			signs(t, before)
		})
	}
	for _, round := range []int{1, 4} {
		t.Run(fmt.Sprintf("repair_repaired_round_%d", round), func(t *testing.T) {
			lost := loadShareOf(t, alice, keyID)
			if err := os.Remove(sharePathOf(alice, keyID)); err != nil {
				t.Fatal(err)
			}
			kill, gate := after(round), round
			if round == 4 {
				// Alice alone sends round 4, which completes the repair:
				// the proxy keeps the answer back, and she is killed once
				// the ceremony is completed.
				hold.Store(true)
				defer hold.Store(false)
				gate, kill = 0, func(id string) {
					info, err := peers[0].Client.Ceremony(ctx, id)
					for err == nil && info.Status == chusme.CeremonyOpen {
						info, err = peers[0].Client.WaitCeremony(ctx, id, info.Version)
					}
					if err != nil || info.Status != chusme.CeremonyCompleted {
						t.Fatalf("the repair: %s, %v", info.Status, err)
					}
				}
			}
			id := change(t, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, Participants: all, NewParticipants: []string{aliceFP}}, gate, 1, kill)
			got := signs(t, id)
			if !got.KeyPackage.VerifyingShare().Equal(lost.KeyPackage.VerifyingShare()) ||
				!bytes.Equal(got.KeyPackage.SigningShare().Bytes(), lost.KeyPackage.SigningShare().Bytes()) {
				t.Fatal("the repaired share is not the lost one")
			}
		})
	}
}
