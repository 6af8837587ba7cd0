package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// lieAboutCeremonies rewrites every answer carrying one ceremony's state
// (its GET and long-poll, its submissions) with f, which may change the
// ceremony and its signed request.
func lieAboutCeremonies(t *testing.T, f func(*chusme.CeremonyInfo)) func(string, []byte) []byte {
	state := func(p string) bool {
		parts := strings.Split(p, "/") // "", v1, ceremonies, {id}, …
		return len(parts) >= 4 && parts[2] == "ceremonies" && !strings.HasSuffix(p, "/inbox") && !strings.HasSuffix(p, "/cancel") && !strings.HasSuffix(p, "/heads")
	}
	return rewriteJSON(t, state, func(_ string, info *chusme.CeremonyInfo) { f(info) })
}

// wantForged checks that err refuses the ceremony's request
// (ErrForgedRequest) saying what.
func wantForged(t *testing.T, err error, what ...string) {
	t.Helper()
	if !errors.Is(err, client.ErrForgedRequest) {
		t.Fatalf("error %v, want ErrForgedRequest", err)
	}
	for _, w := range what {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not say %q", err, w)
		}
	}
}

// TestSignRefusesForgedRequest: a proxy in front of the real server makes
// up or alters the request of a signing ceremony the peer started (the
// requester, the message, the threshold, the signers, the request itself);
// the victim refuses before it is asked to approve and submits nothing,
// naming what failed.
func TestSignRefusesForgedRequest(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	victim, peer, boss, attacker := register(t, s, true), register(t, s, false), register(t, s, false), register(t, s, false)
	keyID, kps := dkg2(t, victim, peer)
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	message, forged := []byte("pay 5 EUR to Bob"), []byte("pay 5000 EUR to Mallory")
	resign := func(info *chusme.CeremonyInfo) {
		info.Request.Signature = ed25519.Sign(attacker.key, info.Request.Message(s.URL))
	}
	for _, c := range []struct {
		name string
		lie  func(*chusme.CeremonyInfo)
		what []string
	}{
		{"fabricated_requester", func(info *chusme.CeremonyInfo) { info.Creator = boss.fp; resign(info) },
			[]string{"requester signature", boss.fp}},
		{"requester_is_the_attacker_signing_as_peer", func(info *chusme.CeremonyInfo) { resign(info) },
			[]string{"requester signature", peer.fp}},
		{"altered_message", func(info *chusme.CeremonyInfo) { info.Message = forged },
			[]string{"message hash"}},
		{"altered_message_and_hash", func(info *chusme.CeremonyInfo) {
			h := sha256.Sum256(forged)
			info.Message, info.Request.MessageSHA256 = forged, h[:]
		}, []string{"requester signature"}},
		{"altered_threshold", func(info *chusme.CeremonyInfo) { info.Threshold = 1 }, []string{"threshold"}},
		{"altered_signers", func(info *chusme.CeremonyInfo) { info.Request.Participants = info.Request.Participants[:1] },
			[]string{"requester signature"}},
		{"altered_key", func(info *chusme.CeremonyInfo) { info.Request.KeyID = attacker.fp }, []string{"requester signature"}},
		{"no_request", func(info *chusme.CeremonyInfo) { info.Request = nil }, []string{"no signed request"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			asked, rounds, err := signAttack(t, proxy, v, peer, keyID, keyID, kps[0], kps[1], message, func(string) func(string, []byte) []byte {
				return lieAboutCeremonies(t, c.lie)
			})
			wantForged(t, err, c.what...)
			if asked || len(rounds) != 0 {
				t.Fatalf("asked %v, submitted rounds %v; want a refusal before approval", asked, rounds)
			}
		})
	}
}

// TestDKGRefusesForgedRequest: the same for a DKG the peer started: a
// requester the server made up, or altered participants or threshold, are
// refused before the victim commits anything in round 1.
func TestDKGRefusesForgedRequest(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	victim, peer, boss, attacker := register(t, s, true), register(t, s, false), register(t, s, false), register(t, s, false)
	attackerHPKE, err := attackKEM.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	proxy := newLyingProxy(t, s.URL)
	for _, c := range []struct {
		name string
		lie  func(*chusme.CeremonyInfo)
		what []string
	}{
		{"fabricated_requester", func(info *chusme.CeremonyInfo) {
			info.Creator = boss.fp
			info.Request.Signature = ed25519.Sign(attacker.key, info.Request.Message(s.URL))
		}, []string{"requester signature", boss.fp}},
		{"altered_threshold_and_request", func(info *chusme.CeremonyInfo) { info.Threshold, info.Request.Threshold = 1, 1 },
			[]string{"requester signature"}},
		{"altered_participants", func(info *chusme.CeremonyInfo) {
			info.Participants = []string{info.Participants[1], info.Participants[0]}
		},
			[]string{"participants"}},
		{"another_issuer", func(info *chusme.CeremonyInfo) {
			info.Request.Signature = ed25519.Sign(peer.key, info.Request.Message("https://evil.example"))
		}, []string{"requester signature", peer.fp}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
			sent, err := dkgAttack(t, proxy, v, peer, attackerHPKE, lieAboutCeremonies(t, c.lie))
			wantForged(t, err, c.what...)
			if sent != 0 {
				t.Fatalf("the victim submitted %d packages", sent)
			}
		})
	}
}

// The approval callback gets the verified requester: its fingerprint, the
// key its request verified under and the chain head of that key, and the
// request's deadline.
func TestApproverGetsVerifiedRequester(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	keyID, kps := dkg2(t, victim, peer)
	info, err := peer.c.StartSign(ctx, peer.key, keyID, []byte("m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	yes := func(context.Context, client.SignRequest) (bool, error) { return true, nil }
	var wg sync.WaitGroup
	wg.Go(func() { peer.c.RunSign(ctx, info.ID, peer.key, keyID, kps[1], yes, nil) })
	defer wg.Wait()
	var got client.SignRequest
	if _, err := victim.c.RunSign(ctx, info.ID, victim.key, keyID, kps[0], func(_ context.Context, r client.SignRequest) (bool, error) {
		got = r
		return true, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	chain, err := victim.c.Chain(ctx, peer.fp)
	if err != nil {
		t.Fatal(err)
	}
	head := chain.Entries[len(chain.Entries)-1]
	if got.Requester != peer.fp || !got.RequesterKey.Equal(peer.key.Public()) || got.RequesterHead.Seq != head.Seq ||
		!bytes.Equal(got.RequesterHead.Hash, head.Hash) || time.Until(got.Deadline) < 59*time.Minute || time.Until(got.Deadline) > client.RequestLifetime {
		t.Fatalf("the approver got requester %s key %x head %s deadline %s; want %s at its chain head, an hour ahead",
			got.Requester, got.RequesterKey, got.RequesterHead, got.Deadline, peer.fp)
	}
}
