package ceremony_test

import (
	"slices"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// A participant that blocks an identity is never invited by it again: the
// blocked creator's DKG and signing ceremonies naming it are refused, and
// nothing is stored; others still invite it, and unblocking lifts it.
func TestBlockedCreatorRefused(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	alice, bob, carol := ms[0], ms[1], ms[2]
	res := servertest.DKG(p.t, ms, 2)
	ctx := t.Context()
	if err := alice.Client.Block(ctx, bob.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if err := alice.Client.Block(ctx, bob.Fingerprint); err != nil {
		t.Fatalf("blocking again: %v", err)
	}
	if got, err := alice.Client.Blocked(ctx); err != nil || !slices.Equal(got, []string{bob.Fingerprint}) {
		t.Fatalf("Blocked = %v, %v", got, err)
	}
	before, err := alice.Client.Ceremonies(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.Client.StartDKG(ctx, bob.Key, 2, []string{alice.Fingerprint, bob.Fingerprint})
	if chusme.ErrorCode(err) != chusme.CodeParticipantBlocked {
		t.Fatalf("a DKG by a blocked creator: %v", err)
	}
	_, err = bob.Client.StartSign(ctx, bob.Key, res[0].KeyID, []byte("let me in"), nil)
	if chusme.ErrorCode(err) != chusme.CodeParticipantBlocked {
		t.Fatalf("a signing by a blocked creator: %v", err)
	}
	if after, err := alice.Client.Ceremonies(ctx, ""); err != nil || len(after) != len(before) {
		t.Fatalf("alice's ceremonies went from %d to %d (%v)", len(before), len(after), err)
	}
	// Without alice, or by someone else, ceremonies go ahead.
	if _, err := bob.Client.StartDKG(ctx, bob.Key, 2, []string{bob.Fingerprint, carol.Fingerprint}); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Client.StartDKG(ctx, carol.Key, 2, []string{alice.Fingerprint, carol.Fingerprint}); err != nil {
		t.Fatal(err)
	}
	if err := alice.Client.Unblock(ctx, bob.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Client.StartDKG(ctx, bob.Key, 2, []string{alice.Fingerprint, bob.Fingerprint}); err != nil {
		t.Fatalf("after unblocking: %v", err)
	}
	// Refusals: yourself, an unknown identity, a malformed one, no block.
	url := p.srv.URL + "/v1/me/blocks/"
	testkit.Do(t, "PUT", url+alice.Fingerprint, alice.Access(t), nil).Expect(t, 400, chusme.CodeInvalidRequest)
	testkit.Do(t, "PUT", url+testkit.Fingerprint(testkit.NewKey(t)), alice.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
	testkit.Do(t, "PUT", url+"nope", alice.Access(t), nil).Expect(t, 400, chusme.CodeInvalidRequest)
	testkit.Do(t, "DELETE", url+bob.Fingerprint, alice.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
	testkit.Do(t, "GET", p.srv.URL+"/v1/me/blocks", "", nil).Expect(t, 401, chusme.CodeUnauthorized)
}
