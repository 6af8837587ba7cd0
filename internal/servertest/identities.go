package servertest

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/chusme/chusme/client"
)

// Identities are a server's administrator and a user, each with a client
// logged in to the server.
type Identities struct {
	Admin, User       *client.Client
	AdminKey, UserKey ed25519.PrivateKey
	// UserTokens is the user client's token store.
	UserTokens *client.MemoryTokenStore
}

// SetUp makes a new administrator key redeem the server's setup token and
// registers a new user key with an invite the administrator issues, through
// the client library, and logs both in. opts apply to both clients; each has
// its own in-memory token store.
func (s *Server) SetUp(t testing.TB, opts ...client.Option) Identities {
	t.Helper()
	ctx := t.Context()
	var ids Identities
	var err error
	newClient := func(store client.TokenStore) *client.Client {
		t.Helper()
		c, err := client.New(s.URL, append(opts, client.WithTokenStore(store))...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, ids.AdminKey, err = ed25519.GenerateKey(nil); err != nil {
		t.Fatal(err)
	}
	if _, ids.UserKey, err = ed25519.GenerateKey(nil); err != nil {
		t.Fatal(err)
	}
	ids.Admin = newClient(&client.MemoryTokenStore{})
	if _, err := ids.Admin.Setup(ctx, s.SetupToken(t), ids.AdminKey); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if _, err := ids.Admin.Login(ctx, ids.AdminKey); err != nil {
		t.Fatalf("the administrator's Login: %v", err)
	}
	inv, err := ids.Admin.CreateInvite(ctx, time.Hour)
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	ids.UserTokens = &client.MemoryTokenStore{}
	ids.User = newClient(ids.UserTokens)
	if _, err := ids.User.Register(ctx, ids.UserKey, inv.Invite); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := ids.User.Login(ctx, ids.UserKey); err != nil {
		t.Fatalf("the user's Login: %v", err)
	}
	return ids
}
