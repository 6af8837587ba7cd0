package client_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// TestGroupKeyRefusesLyingServer: a proxy in front of the real server
// rewrites GET /v1/keys/{id}; GroupKey accepts the honest answer and refuses
// every rewritten one with ErrWrongGroupKey, naming the key.
func TestGroupKeyRefusesLyingServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	ids := s.SetUp(t)
	admin, user, userKey := ids.Admin, ids.User, ids.UserKey
	inv, err := admin.CreateInvite(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := servertest.NewMember(t, s.URL, nil)
	other.Register(t, inv.Invite)
	me := &servertest.Member{Key: userKey, Fingerprint: testkit.Fingerprint(userKey), Client: user}
	res := servertest.DKG(t, []*servertest.Member{me, other}, 2)
	keyID := res[0].KeyID
	honest, err := user.GroupKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}

	// The proxy rewrites every group key it relays.
	proxy := newLyingProxy(t, s.URL)
	viaProxy := newClient(t, proxy.URL, client.WithIssuer(s.URL))
	if _, err := viaProxy.Login(ctx, userKey); err != nil {
		t.Fatal(err)
	}

	t.Run("honest_answer_passes", func(t *testing.T) {
		got, err := viaProxy.GroupKey(ctx, keyID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.PublicKey, honest.PublicKey) || !bytes.Equal(got.PublicKeyPackage, honest.PublicKeyPackage) || got.Threshold != 2 {
			t.Fatalf("GroupKey through the proxy = %+v, want %+v", got, honest)
		}
	})
	otherPub := testkit.NewKey(t).Public().(ed25519.PublicKey)
	for name, f := range map[string]func(*chusme.GroupKeyInfo){
		"another_public_key": func(k *chusme.GroupKeyInfo) { k.PublicKey = chusme.Bytes(otherPub) },
		"another_key_entirely": func(k *chusme.GroupKeyInfo) {
			k.PublicKey, k.KeyID = chusme.Bytes(otherPub), chusme.GroupKeyID(otherPub)
		},
		"swapped_verifying_shares": func(k *chusme.GroupKeyInfo) {
			a, b := k.Participants[0], k.Participants[1]
			k.VerifyingShares[a], k.VerifyingShares[b] = k.VerifyingShares[b], k.VerifyingShares[a]
		},
		"another_verifying_share": func(k *chusme.GroupKeyInfo) { k.VerifyingShares[k.Participants[1]] = chusme.Bytes(otherPub) },
		"a_participant_twice":     func(k *chusme.GroupKeyInfo) { k.Participants[1] = k.Participants[0] },
		"another_threshold":       func(k *chusme.GroupKeyInfo) { k.Threshold = 1 },
		"truncated_package":       func(k *chusme.GroupKeyInfo) { k.PublicKeyPackage = k.PublicKeyPackage[:len(k.PublicKeyPackage)-1] },
	} {
		t.Run(name+"_refused", func(t *testing.T) {
			proxy.setLie(rewriteJSON(t, func(p string) bool { return strings.HasPrefix(p, "/v1/keys/") }, func(_ string, k *chusme.GroupKeyInfo) { f(k) }))
			defer proxy.setLie(nil)
			got, err := viaProxy.GroupKey(ctx, keyID)
			if !errors.Is(err, client.ErrWrongGroupKey) || !strings.Contains(err.Error(), keyID) {
				t.Fatalf("GroupKey = %v, want ErrWrongGroupKey naming %s", err, keyID)
			}
			if got.KeyID != "" || got.PublicKey != nil {
				t.Fatalf("GroupKey returned the refused key %+v", got)
			}
		})
	}
}
