package client_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// Both pin stores keep a pin per issuer and identity, copy what they are
// given and replace a pin on Save; concurrent Saves all land.
func TestPinStores(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "conf", "pins.json")
	for name, s := range map[string]client.PinStore{"memory": &client.MemoryPinStore{}, "file": client.NewFilePinStore(path)} {
		t.Run(name, func(t *testing.T) {
			if _, ok, err := s.Load(ctx, "https://a.test", "fp"); ok || err != nil {
				t.Fatalf("Load of an empty store = %v, %v", ok, err)
			}
			hash := []byte{1, 2, 3}
			if err := s.Save(ctx, "https://a.test", "fp", chusme.ChainHead{Seq: 1, Hash: hash}); err != nil {
				t.Fatal(err)
			}
			hash[0] = 9
			if h, ok, err := s.Load(ctx, "https://a.test", "fp"); !ok || err != nil || h.Seq != 1 || !bytes.Equal(h.Hash, []byte{1, 2, 3}) {
				t.Fatalf("Load = %+v, %v, %v", h, ok, err)
			}
			if _, ok, _ := s.Load(ctx, "https://b.test", "fp"); ok {
				t.Fatal("a pin of one issuer is another's")
			}
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					if err := s.Save(ctx, "https://a.test", fmt.Sprint("fp", i), chusme.ChainHead{Seq: uint64(i), Hash: []byte{byte(i)}}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for i := range 16 {
				if h, ok, err := s.Load(ctx, "https://a.test", fmt.Sprint("fp", i)); !ok || err != nil || h.Seq != uint64(i) {
					t.Fatalf("pin %d = %+v, %v, %v", i, h, ok, err)
				}
			}
			if err := s.Save(ctx, "https://a.test", "fp", chusme.ChainHead{Seq: 2, Hash: []byte{4}}); err != nil {
				t.Fatal(err)
			}
			if h, _, _ := s.Load(ctx, "https://a.test", "fp"); h.Seq != 2 {
				t.Fatalf("Save did not replace the pin: %+v", h)
			}
		})
	}

	// The file is the owner's only, its pins outlive the store, and a file
	// that is not a pin file is an error, not an empty store.
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pin file: %v, %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("pin directory: %v, %v", fi, err)
	}
	if h, ok, err := client.NewFilePinStore(path).Load(ctx, "https://a.test", "fp7"); !ok || err != nil || h.Seq != 7 {
		t.Fatalf("a new store reads %+v, %v, %v", h, ok, err)
	}
	for _, bad := range []string{`{"version":2,"pins":{}}`, `{"version":1,"pins":{},"extra":1}`, `not json`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		s := client.NewFilePinStore(path)
		if _, _, err := s.Load(ctx, "https://a.test", "fp"); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Load of %q = %v, want an error naming the file", bad, err)
		}
		if err := s.Save(ctx, "https://a.test", "fp", chusme.ChainHead{}); err == nil {
			t.Fatalf("Save over %q overwrote it", bad)
		}
	}
}

// A client that pinned a chain head accepts a chain that extends it and
// advances the pin, and refuses a fork (a different entry at the pinned
// seq, signed with a stolen old key) naming both heads — also for its own
// identity's chain. A client with no pin takes the fork for good: only the
// pin tells.
func TestPinnedChains(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	proxy := newLyingProxy(t, s.URL)
	k0, k1, k2 := peer.key, testkit.NewKey(t), testkit.NewKey(t)
	if _, err := peer.c.Rotate(ctx, peer.fp, k0, k1); err != nil {
		t.Fatal(err)
	}
	pins := &client.MemoryPinStore{}
	v := viaProxy(t, s, proxy, victim, pins)
	ch, cur, err := v.c.VerifiedChain(ctx, peer.fp)
	if err != nil || !cur.Equal(k1.Public()) {
		t.Fatalf("VerifiedChain = %x, %v", cur, err)
	}
	pinned := ch.Head()

	// The attacker, holding k0, forks the chain at seq 1 to its own k2.
	g := ch.Entries[0]
	fork := forkRotation(s.URL, peer.fp, g, k0, k2)
	forked := chusme.ChainResponse{Entries: []chusme.ChainEntry{g, fork}}.Head()
	proxy.setLie(answerChain(t, peer.fp, func(ch *chusme.ChainResponse) { ch.Entries = []chusme.ChainEntry{g, fork} }))
	_, _, err = v.c.VerifiedChain(ctx, peer.fp)
	wantPeerKeyError(t, err, peer.fp, "forks", pinned.String(), forked.String())
	if _, cur, err := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{}).c.VerifiedChain(ctx, peer.fp); err != nil || !cur.Equal(k2.Public()) {
		t.Fatalf("an unpinned client: VerifiedChain = %x, %v; want the forked key", cur, err)
	}

	// The identity's own chain: the peer, through the proxy, pinned its
	// rotation and refuses the rolled-back chain when it rotates again.
	self := viaProxy(t, s, proxy, party{fp: peer.fp, key: k1}, pins)
	proxy.setLie(answerChain(t, peer.fp, func(ch *chusme.ChainResponse) { ch.Entries = ch.Entries[:1] }))
	_, err = self.c.Rotate(ctx, peer.fp, k0, k2)
	wantPeerKeyError(t, err, peer.fp, "rolled back", pinned.String())
	proxy.setLie(nil)

	// An honest extension (the cancellation) passes and advances the pin.
	cancel, err := peer.c.CancelRotation(ctx, peer.fp, k0)
	if err != nil {
		t.Fatal(err)
	}
	if _, cur, err := v.c.VerifiedChain(ctx, peer.fp); err != nil || !cur.Equal(k0.Public()) {
		t.Fatalf("VerifiedChain after the cancellation = %x, %v", cur, err)
	}
	if h, _, _ := pins.Load(ctx, s.URL, peer.fp); h.Seq != cancel.Seq || !bytes.Equal(h.Hash, cancel.Hash) {
		t.Fatalf("pin = %+v, want the cancellation's head", h)
	}
}
