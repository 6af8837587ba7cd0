package servertest

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/testkit"
)

// Member is an identity with its own client and in-memory token store.
type Member struct {
	Key         ed25519.PrivateKey
	Fingerprint string
	Client      *client.Client
	Tokens      *client.MemoryTokenStore // the client's token store
}

// NewMember returns a member with key k (a new key if k is nil) whose client
// talks to url with opts and its own token store. It registers nothing.
func NewMember(t testing.TB, url string, k ed25519.PrivateKey, opts ...client.Option) *Member {
	t.Helper()
	if k == nil {
		k = testkit.NewKey(t)
	}
	m := &Member{Key: k, Fingerprint: testkit.Fingerprint(k), Tokens: &client.MemoryTokenStore{}}
	c, err := client.New(url, append(opts, client.WithTokenStore(m.Tokens))...)
	if err != nil {
		t.Fatal(err)
	}
	m.Client = c
	return m
}

// Setup redeems setupToken with the member's key, checks that it made the
// member the administrator, and logs the member in.
func (m *Member) Setup(t testing.TB, setupToken string) {
	t.Helper()
	info, err := m.Client.Setup(t.Context(), setupToken, m.Key)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if info.Role != chusme.RoleAdmin || info.Fingerprint != m.Fingerprint {
		t.Fatalf("Setup = %+v, want the administrator %s", info, m.Fingerprint)
	}
	m.Login(t)
}

// Register registers the member's key with invite ("" where registration
// is open) and logs the member in.
func (m *Member) Register(t testing.TB, invite string) {
	t.Helper()
	if _, err := m.Client.Register(t.Context(), m.Key, invite); err != nil {
		t.Fatalf("Register: %v", err)
	}
	m.Login(t)
}

// Login logs the member in.
func (m *Member) Login(t testing.TB) {
	t.Helper()
	if _, err := m.Client.Login(t.Context(), m.Key); err != nil {
		t.Fatalf("Login of %s: %v", m.Fingerprint, err)
	}
}

// Access returns the member's current access token, for raw requests.
func (m *Member) Access(t testing.TB) string {
	t.Helper()
	tk, err := m.Tokens.Load(t.Context())
	if err != nil || tk.AccessToken == "" {
		t.Fatalf("no access token: %v", err)
	}
	return tk.AccessToken
}

// Members sets up n logged-in members of a server started with
// --registration open: the first redeems the setup token and is the
// administrator, the others register without an invite. opts apply to every
// client.
func (s *Server) Members(t testing.TB, n int, opts ...client.Option) []*Member {
	t.Helper()
	ms := make([]*Member, n)
	for i := range ms {
		ms[i] = NewMember(t, s.URL, nil, opts...)
		if i == 0 {
			ms[i].Setup(t, s.SetupToken(t))
		} else {
			ms[i].Register(t, "")
		}
	}
	return ms
}

// Identities are a server's administrator and a user, each with a client
// logged in to the server.
type Identities struct {
	Admin, User       *client.Client
	AdminKey, UserKey ed25519.PrivateKey
	// UserTokens is the user client's token store.
	UserTokens *client.MemoryTokenStore
}

// SetUp makes a new administrator key redeem the server's setup token and
// registers a new user key with an invite the administrator issues (valid
// for an hour, which it checks), through the client library, and logs both
// in. opts apply to both clients; each has its own in-memory token store.
func (s *Server) SetUp(t testing.TB, opts ...client.Option) Identities {
	t.Helper()
	admin := NewMember(t, s.URL, nil, opts...)
	admin.Setup(t, s.SetupToken(t))
	inv, err := admin.Client.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	if d := time.Until(inv.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("invite expires in %v, want about 1h", d)
	}
	user := NewMember(t, s.URL, nil, opts...)
	user.Register(t, inv.Invite)
	return Identities{Admin: admin.Client, User: user.Client, AdminKey: admin.Key, UserKey: user.Key, UserTokens: user.Tokens}
}
