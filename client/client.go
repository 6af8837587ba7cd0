// Package client is the Go client library of a ChusMe server.
//
// A Client talks to one server. It signs registrations and logins with the
// issuer it expects — by default its own base URL — and refuses to sign when
// the server advertises another issuer, so a malicious server can't relay
// another server's challenge for the client to sign.
//
// Authenticated calls take their tokens from a TokenStore and refresh them
// transparently: ahead of time when the access token expires within
// RefreshMargin, and once more when the server answers token_expired. Errors
// that the server reports come back as *chusme.Error with the server's code
// (wrapped in a *RetryAfterError when the answer said when to come back),
// so callers branch on chusme.ErrorCode(err); transport failures and local
// errors are ordinary wrapped Go errors.
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
)

// DefaultUserAgent is the User-Agent header sent unless WithUserAgent says
// otherwise.
const DefaultUserAgent = "chusme-go-client/1"

// RefreshMargin is how long before its expiry an access token is refreshed
// ahead of an authenticated call: 30 s, which covers clock skew and a slow
// request.
const RefreshMargin = 30 * time.Second

// maxResponseSize bounds how much of a response body the client reads: 4 MiB,
// above the largest answer a driver asks for (a DKG round-1 inbox at
// n = t = 255: 255 packages of 8.2 KiB, ≈ 2.9 MiB as JSON).
const maxResponseSize = 4 << 20

// ErrNotLoggedIn is returned by authenticated calls when the token store
// holds no session. Its code is chusme.CodeUnauthorized.
var ErrNotLoggedIn = &chusme.Error{Code: chusme.CodeUnauthorized, Message: "not logged in"}

// Client is a client of one ChusMe server. It is safe for concurrent use.
type Client struct {
	baseURL   string // normalized: scheme://host[:port]
	issuer    string // what the client signs for and expects the server to advertise
	hc        httpDoer
	store     TokenStore
	userAgent string
	now       func() time.Time

	// refreshMu serializes refreshes, so that two concurrent calls don't
	// both present the same single-use refresh token.
	refreshMu sync.Mutex

	rt atomic.Pointer[Realtime] // the running Realtime, if any: the drivers wait on its events

	trusted trustCache // the identity chains the client verified
	pins    PinStore   // the chain heads it pinned
	// groupKeys holds the group keys GroupKey verified for signing
	// requests, by key id: a key and its certificate never change.
	groupKeys sync.Map // key id → chusme.GroupKeyInfo

	// issuerOK is set once the server has advertised the expected issuer.
	issuerOK atomic.Bool
	// jsonOnly is set once the server refused a protobuf body as JSON it
	// could not parse: a server older than the protobuf ceremony routes.
	jsonOnly atomic.Bool
}

// Option configures a Client.
type Option func(*Client) error

// WithHTTPClient makes the client send its requests through hc instead of
// http.DefaultClient (in a browser, instead of the page's fetch).
func WithHTTPClient(hc *http.Client) Option {
	return setNonNil(hc, "HTTP client", func(c *Client, hc *http.Client) { c.hc = hc })
}

// WithIssuer sets the issuer the client expects the server to advertise and
// signs its registrations and logins for. The default is the base URL.
// Set it when the server's public URL differs from the one the client
// connects to (a reverse proxy, a tunnel).
func WithIssuer(issuer string) Option {
	return func(c *Client) error {
		iss, err := NormalizeURL(issuer)
		if err != nil {
			return fmt.Errorf("client: issuer: %w", err)
		}
		c.issuer = iss
		return nil
	}
}

// WithTokenStore makes the client keep its tokens in s. The default is a
// MemoryTokenStore, which forgets them with the process.
func WithTokenStore(s TokenStore) Option {
	return setNonNil(s, "token store", func(c *Client, s TokenStore) { c.store = s })
}

// setNonNil is an Option that sets v with set, refusing a nil v (named
// what in the error).
func setNonNil[T comparable](v T, what string, set func(*Client, T)) Option {
	return func(c *Client) error {
		var none T
		if v == none {
			return fmt.Errorf("client: nil %s", what)
		}
		set(c, v)
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// httpDoer sends one request: an *http.Client, or in a browser the page's
// fetch (http_js.go), which keeps net/http's Transport and crypto/tls out
// of the WebAssembly build.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// New returns a client of the server at baseURL, an http or https URL with
// no path, query or credentials (a trailing slash is fine).
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := NormalizeURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: server URL: %w", err)
	}
	c := &Client{
		baseURL:   base,
		issuer:    base,
		hc:        defaultHTTP(),
		store:     &MemoryTokenStore{},
		pins:      &MemoryPinStore{},
		userAgent: DefaultUserAgent,
		now:       time.Now,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NormalizeURL returns rawURL as scheme://host[:port]: scheme and host in
// lower case, the scheme's default port dropped, no trailing slash. It
// refuses anything but http and https, and URLs with a path, query,
// fragment or user information.
func NormalizeURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	scheme := ""
	if err == nil {
		scheme = strings.ToLower(u.Scheme)
	}
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%q is not an http or https URL: write it with its scheme, like http://127.0.0.1:1984 or https://id.example.org", rawURL)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%q: no host", rawURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return "", fmt.Errorf("%q: must be scheme://host[:port] only", rawURL)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return scheme + "://" + host, nil
}

// BaseURL returns the normalized URL of the server.
func (c *Client) BaseURL() string { return c.baseURL }

// Issuer returns the issuer the client signs for.
func (c *Client) Issuer() string { return c.issuer }

// ServerInfo returns the server's description (GET /v1/server).
func (c *Client) ServerInfo(ctx context.Context) (chusme.ServerInfo, error) {
	var info chusme.ServerInfo
	err := c.call(ctx, http.MethodGet, "/v1/server", "", nil, &info)
	return info, err
}

// checkIssuer fetches the server's description and returns an error if it
// advertises an issuer other than the one the client signs for. A match is
// remembered for the client's lifetime: the check only turns a signature the
// server would refuse into a clear error before signing (the client signs
// for its own expected issuer whatever the server says), so it need not
// cost a request on every login.
func (c *Client) checkIssuer(ctx context.Context) error {
	if c.issuerOK.Load() {
		return nil
	}
	info, err := c.ServerInfo(ctx)
	if err != nil {
		return err
	}
	if info.Issuer != c.issuer {
		return fmt.Errorf("client: refusing to sign: the server at %s advertises issuer %q, but the expected issuer is %q (configure the issuer if the server is reached through another URL)",
			c.baseURL, info.Issuer, c.issuer)
	}
	c.issuerOK.Store(true)
	return nil
}

// Setup redeems the server's one-time setup token, registering key's public
// key as the first administrator (POST /v1/setup). The operator finds the
// token in the file setup-token of the server's data directory.
func (c *Client) Setup(ctx context.Context, setupToken string, key crypto.Signer) (chusme.IdentityInfo, error) {
	return c.enrol(ctx, key, "/v1/setup", func(pub, sig chusme.Bytes) any {
		return chusme.SetupRequest{SetupToken: setupToken, PublicKey: pub, Signature: sig}
	})
}

// Register registers key's public key as a new identity (POST
// /v1/identities). invite is an administrator's invite token, or "" when the
// server's registration is open.
func (c *Client) Register(ctx context.Context, key crypto.Signer, invite string) (chusme.IdentityInfo, error) {
	return c.enrol(ctx, key, "/v1/identities", func(pub, sig chusme.Bytes) any {
		return chusme.RegisterRequest{PublicKey: pub, Signature: sig, Invite: invite}
	})
}

// enrol registers key's public key (Setup, Register): it signs
// chusme.RegisterMessage for the expected issuer and posts to path the
// request that req builds from the public key and the signature.
func (c *Client) enrol(ctx context.Context, key crypto.Signer, path string, req func(pub, sig chusme.Bytes) any) (chusme.IdentityInfo, error) {
	var info chusme.IdentityInfo
	if err := checkKey(key); err != nil {
		return info, err
	}
	if err := c.checkIssuer(ctx); err != nil {
		return info, err
	}
	pub := key.Public().(ed25519.PublicKey)
	sig, err := signWith(key, chusme.RegisterMessage(c.issuer, pub))
	if err != nil {
		return info, err
	}
	err = c.call(ctx, http.MethodPost, path, "", req(chusme.Bytes(pub), sig), &info)
	return info, err
}

// Identity returns the public view of the identity with fingerprint fp
// (GET /v1/identities/{fp}).
func (c *Client) Identity(ctx context.Context, fp string) (chusme.IdentityInfo, error) {
	var info chusme.IdentityInfo
	if !chusme.ValidFingerprint(fp) {
		return info, fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	err := c.call(ctx, http.MethodGet, "/v1/identities/"+fp, "", nil, &info)
	return info, err
}

// Login authenticates as the identity whose genesis key is key (or, with
// LoginFingerprint, as any identity whose current key is key): it asks for
// a challenge, signs it (chusme.LoginMessage) and exchanges the signature
// for tokens, which it saves to the token store and returns. When the
// identity has TOTP on and LoginTOTP gave a callback, it asks the callback
// for a code and answers a fresh challenge with it.
func (c *Client) Login(ctx context.Context, key crypto.Signer, opts ...LoginOption) (Tokens, error) {
	if err := checkKey(key); err != nil {
		return Tokens{}, err
	}
	if err := c.checkIssuer(ctx); err != nil {
		return Tokens{}, err
	}
	var lo loginOptions
	for _, o := range opts {
		o(&lo)
	}
	fp := lo.fingerprint
	if fp == "" {
		fp = chusme.Fingerprint(key.Public().(ed25519.PublicKey))
	}
	start := c.now()
	tr, err := c.answerChallenge(ctx, fp, key, "")
	if chusme.ErrorCode(err) == chusme.CodeTOTPRequired && lo.totp != nil {
		code, cerr := lo.totp(ctx)
		if cerr != nil {
			return Tokens{}, cerr
		}
		start = c.now()
		tr, err = c.answerChallenge(ctx, fp, key, code)
	}
	if err != nil {
		return Tokens{}, err
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	t := c.tokensFrom(tr, fp, start)
	if err := c.store.Save(ctx, t); err != nil {
		return Tokens{}, fmt.Errorf("client: saving tokens: %w", err)
	}
	return t, nil
}

// Refresh exchanges the stored refresh token for a new token pair (POST
// /v1/auth/refresh), saves it and returns it. Authenticated calls do this
// on their own when needed.
func (c *Client) Refresh(ctx context.Context) (Tokens, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	t, err := c.loadTokens(ctx)
	if err != nil {
		return Tokens{}, err
	}
	return c.refreshLocked(ctx, t)
}

// Logout revokes the session on the server (POST /v1/auth/logout) and clears
// the token store. The store is cleared also when the server says the
// session is already gone.
func (c *Client) Logout(ctx context.Context) error {
	err := c.do(ctx, http.MethodPost, "/v1/auth/logout", nil, nil)
	switch chusme.ErrorCode(err) {
	case "", chusme.CodeSessionRevoked, chusme.CodeTokenInvalid, chusme.CodeRefreshInvalid,
		chusme.CodeRefreshReused, chusme.CodeBanned:
		if cerr := c.store.Clear(ctx); cerr != nil {
			return fmt.Errorf("client: clearing tokens: %w", cerr)
		}
		return nil
	}
	return err
}

// Me returns who the stored session speaks for (GET /v1/me).
func (c *Client) Me(ctx context.Context) (chusme.Me, error) {
	var me chusme.Me
	err := c.do(ctx, http.MethodGet, "/v1/me", nil, &me)
	return me, err
}

// CreateInvite issues a single-use registration invite valid for ttl (0 for
// the server's default); administrators only (POST /v1/admin/invites).
// The TTL is sent in whole seconds, rounded up.
func (c *Client) CreateInvite(ctx context.Context, ttl time.Duration) (chusme.InviteResponse, error) {
	var inv chusme.InviteResponse
	if ttl < 0 {
		return inv, errors.New("client: negative invite TTL")
	}
	secs := int((ttl + time.Second - 1) / time.Second)
	err := c.do(ctx, http.MethodPost, "/v1/admin/invites", chusme.InviteRequest{TTLSeconds: secs}, &inv)
	return inv, err
}

// Ban bans the identity with fingerprint fp, revoking all its sessions;
// administrators only (POST /v1/admin/identities/{fp}/ban).
func (c *Client) Ban(ctx context.Context, fp string) (chusme.IdentityInfo, error) {
	return c.setStatus(ctx, fp, "ban")
}

// checkKey checks that key is an Ed25519 private key, or a signer of one
// held elsewhere (a browser's non-extractable WebCrypto key, say).
func checkKey(key crypto.Signer) error {
	var ok bool
	switch k := key.(type) {
	case nil:
	case ed25519.PrivateKey:
		ok = len(k) == ed25519.PrivateKeySize
	default:
		pub, isEd := k.Public().(ed25519.PublicKey)
		ok = isEd && len(pub) == ed25519.PublicKeySize
	}
	if !ok {
		return errors.New("client: invalid Ed25519 private key")
	}
	return nil
}

// signWith signs msg with key, an Ed25519 signer (checkKey).
func signWith(key crypto.Signer, msg []byte) ([]byte, error) {
	return key.Sign(nil, msg, crypto.Hash(0))
}

// tokensFrom turns a token response into Tokens; issued is a time no later
// than the server issued them, so the recorded expiry errs on the early side.
func (c *Client) tokensFrom(tr chusme.TokenResponse, fp string, issued time.Time) Tokens {
	return Tokens{
		AccessToken:     tr.AccessToken,
		RefreshToken:    tr.RefreshToken,
		SessionID:       tr.SessionID,
		Fingerprint:     fp,
		AccessExpiresAt: issued.Add(time.Duration(tr.ExpiresIn) * time.Second).UTC(),
		Server:          c.baseURL,
	}
}

// loadTokens returns the stored tokens, ErrNotLoggedIn, or an error with
// code chusme.CodeUnauthorized if they belong to another server.
func (c *Client) loadTokens(ctx context.Context) (Tokens, error) {
	t, err := c.store.Load(ctx)
	if err != nil {
		return Tokens{}, fmt.Errorf("client: loading tokens: %w", err)
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return Tokens{}, ErrNotLoggedIn
	}
	if t.Server != "" && t.Server != c.baseURL {
		return Tokens{}, chusme.Errorf(chusme.CodeUnauthorized,
			"the stored session belongs to %s, not %s; log in again", t.Server, c.baseURL)
	}
	return t, nil
}

// refreshLocked exchanges t's refresh token and saves the new pair. The
// caller holds refreshMu.
func (c *Client) refreshLocked(ctx context.Context, t Tokens) (Tokens, error) {
	if t.RefreshToken == "" {
		return Tokens{}, ErrNotLoggedIn
	}
	start := c.now()
	var tr chusme.TokenResponse
	if err := c.call(ctx, http.MethodPost, "/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: t.RefreshToken}, &tr); err != nil {
		return Tokens{}, err
	}
	nt := c.tokensFrom(tr, t.Fingerprint, start)
	if nt.SessionID == "" {
		nt.SessionID = t.SessionID
	}
	if err := c.store.Save(ctx, nt); err != nil {
		return Tokens{}, fmt.Errorf("client: saving tokens: %w", err)
	}
	return nt, nil
}

// freshTokens returns stored tokens whose access token is good for at least
// RefreshMargin, refreshing if needed. If stale is not empty, the caller saw
// that access token refused as expired: it is refreshed unless another call
// has replaced it meanwhile.
func (c *Client) freshTokens(ctx context.Context, stale string) (Tokens, error) {
	t, err := c.loadTokens(ctx)
	if err != nil {
		return Tokens{}, err
	}
	if stale == "" && c.usable(t) {
		return t, nil
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	// Another call may have refreshed while this one waited for the lock.
	if t, err = c.loadTokens(ctx); err != nil {
		return Tokens{}, err
	}
	if t.AccessToken != stale && c.usable(t) {
		return t, nil
	}
	return c.refreshLocked(ctx, t)
}

func (c *Client) usable(t Tokens) bool {
	return t.AccessToken != "" && c.now().Add(RefreshMargin).Before(t.AccessExpiresAt)
}

// do makes an authenticated JSON call (see authed).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.authed(ctx, func(bearer string) error { return c.call(ctx, method, path, bearer, in, out) })
}

// authed is the path of every authenticated request: send gets the stored
// access token, refreshed first if it expires within RefreshMargin; if the
// server answers token_expired, authed refreshes and calls send once more.
func (c *Client) authed(ctx context.Context, send func(bearer string) error) error {
	t, err := c.freshTokens(ctx, "")
	if err != nil {
		return err
	}
	err = send(t.AccessToken)
	if chusme.ErrorCode(err) != chusme.CodeTokenExpired {
		return err
	}
	if t, err = c.freshTokens(ctx, t.AccessToken); err != nil {
		return err
	}
	return send(t.AccessToken)
}

// call sends one JSON request: in (if not nil) as the body, bearer (if not
// empty) as the access token; it decodes a 2xx answer into out (if not nil)
// and turns a problem answer into *chusme.Error.
func (c *Client) call(ctx context.Context, method, path, bearer string, in, out any) error {
	var body []byte
	hdr := map[string]string{"Accept": "application/json, application/problem+json"}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: encoding request: %w", err)
		}
		body, hdr["Content-Type"] = b, "application/json"
	}
	data, _, status, err := c.rawCall(ctx, method, path, bearer, body, hdr)
	if err != nil || out == nil || status == http.StatusNoContent {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// protobufType is the media type of the protobuf bodies and answers of the
// ceremony routes that take them (see internal/httpapi.ProtobufType).
const protobufType = "application/protobuf"

// callProtobuf sends one authenticated request with in (if not nil) as a
// protobuf body, asking for a protobuf answer, which it decodes into out
// and returns as out's view. A server that answers JSON instead (one older
// than these routes' protobuf) gets its answer decoded as the view.
func callProtobuf[V any, M interface {
	proto.Message
	View() V
}](ctx context.Context, c *Client, method, path string, in proto.Message, out M) (V, error) {
	var v V
	var body []byte
	hdr := map[string]string{"Accept": protobufType + ", application/json;q=0.5, application/problem+json"}
	if in != nil {
		b, err := proto.Marshal(in)
		if err != nil {
			return v, fmt.Errorf("client: encoding request: %w", err)
		}
		body, hdr["Content-Type"] = b, protobufType
	}
	err := c.authed(ctx, func(bearer string) error {
		data, h, _, err := c.rawCall(ctx, method, path, bearer, body, hdr)
		if err != nil {
			return err
		}
		if t, _, _ := mime.ParseMediaType(h.Get("Content-Type")); t == protobufType {
			err = proto.Unmarshal(data, out)
			v = out.View()
		} else {
			err = json.Unmarshal(data, &v)
		}
		if err != nil {
			return fmt.Errorf("client: %s %s: decoding response: %w", method, path, err)
		}
		return nil
	})
	return v, err
}

// rawCall sends one request with a raw body (if not nil), the headers hdr
// (over a default Accept of bytes or JSON) and bearer (if not empty) as the
// access token. It returns the answer's body, headers and status for a 2xx
// or 304 answer and turns a problem answer into *chusme.Error.
func (c *Client) rawCall(ctx context.Context, method, path, bearer string, body []byte, hdr map[string]string) ([]byte, http.Header, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/octet-stream, application/json, application/problem+json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("client: %s %s: reading response: %w", method, path, err)
	}
	if len(data) > maxResponseSize {
		return nil, nil, 0, fmt.Errorf("client: %s %s: response larger than %d bytes", method, path, maxResponseSize)
	}
	if (resp.StatusCode < 200 || resp.StatusCode > 299) && resp.StatusCode != http.StatusNotModified {
		return nil, nil, resp.StatusCode, problemError(method, path, resp, data)
	}
	return data, resp.Header, resp.StatusCode, nil
}

// problemError rebuilds the server's error from a problem+json body (with
// its Retry-After, if any: serverError), or describes an answer that isn't
// one.
func problemError(method, path string, resp *http.Response, data []byte) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p chusme.Problem
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			msg := p.Detail
			if msg == "" {
				msg = p.Title
			}
			return serverError(p.Code, msg, retryAfter(resp.Header.Get("Retry-After")))
		}
	}
	return fmt.Errorf("%w: %s %s: %s", ErrUnexpectedAnswer, method, path, resp.Status)
}

// ErrUnexpectedAnswer means the server answered an HTTP status without a
// ChusMe problem document: not a ChusMe server, or a proxy in front of
// one that failed.
var ErrUnexpectedAnswer = errors.New("client: unexpected answer")

// RetryAfterError is an answer of the server that asks the client to come
// back later (429 rate_limited, 503 unavailable, and their WebSocket
// Errors): Err is the server's error, which errors.As finds (so
// chusme.ErrorCode reads its code), and After its Retry-After. The ceremony
// drivers wait that long, and a jittered backoff more, before they retry.
type RetryAfterError struct {
	Err   *chusme.Error
	After time.Duration
}

// Error implements error: the server's error.
func (e *RetryAfterError) Error() string { return e.Err.Error() }

// Unwrap returns the server's error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// serverError is the error of a server's answer with code and message: a
// *RetryAfterError when the server said how long to wait (after > 0), a
// *chusme.Error otherwise.
func serverError(code, message string, after time.Duration) error {
	e := &chusme.Error{Code: code, Message: message}
	if after > 0 {
		return &RetryAfterError{Err: e, After: after}
	}
	return e
}

// maxRetryAfter bounds the Retry-After the client believes: an hour.
const maxRetryAfter = time.Hour

// retryAfter reads a Retry-After header: whole seconds or an HTTP date;
// 0 when absent or unreadable.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		return time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}
