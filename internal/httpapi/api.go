// Package httpapi is ChusMe's HTTP transport: routes, strict JSON decoding,
// problem+json errors, rate limits, request logs and metrics. It depends on
// the services and on chusme.Store's Ping only, never on a storage engine.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ceremony"
	"github.com/chusme/chusme/internal/identity"
	"github.com/chusme/chusme/internal/metrics"
	"github.com/chusme/chusme/internal/ratelimit"
	"github.com/chusme/chusme/internal/tokens"
)

// Config holds the transport's settings.
type Config struct {
	Version        string
	TrustedProxies []netip.Prefix   // peers whose X-Forwarded-For is believed
	AuthLimit      ratelimit.Limit  // setup, registration, challenge, token, refresh: per client IP
	Now            func() time.Time // the clock
	OnSetup        func()           // called once the setup token is redeemed

	// The limiters the WebSocket's ceremony requests count against too
	// (wsapi.Limits), so that switching transport bypasses none; nil
	// allows everything.
	IPLimit             *ratelimit.Limiter // every request but the ceremony routes', per client IP
	IdentityLimit       *ratelimit.Limiter // authenticated requests and challenges, per identity
	CeremonyCreateLimit *ratelimit.Limiter // ceremony creations, per client IP
	CeremonySubmitLimit *ratelimit.Limiter // round submissions, per access token's session
	// AuthFailLimit counts, per client IP, the requests of the ceremony
	// routes (charged to the caller's identity, not to IPLimit) whose
	// credential fails: while an address has none left, its requests of
	// those routes are refused before they are authenticated. Nil allows
	// everything.
	AuthFailLimit *ratelimit.Limiter

	Ceremonies *ceremony.Service // the FROST coordinator

	Identity  *identity.Service // blobs, rotations and chains
	BlobLimit ratelimit.Limit   // public blob reads, per client IP

	Realtime Realtime        // GET /v1/ws (internal/wsapi); nil: 404
	OnBan    func(fp string) // called after an identity is banned (closes its WebSockets)

	Disk func() (DiskSpace, error) // the free space where the store writes, for /readyz; nil: not checked

	App http.Handler // the web app (internal/webapp), served under GET /app/; nil: 404
}

// DiskSpace is the free space of the file system that holds the store: below
// MinFree, /readyz answers 503 "disk full" (both figures are in its body).
type DiskSpace struct {
	Path    string `json:"-"`              // the directory checked, logged only
	Free    uint64 `json:"free_bytes"`     // bytes available to the server
	MinFree uint64 `json:"min_free_bytes"` // the threshold
}

// Realtime is the WebSocket transport (wsapi.Server): it upgrades a request
// of GET /v1/ws from the client at address ip.
type Realtime interface {
	Upgrade(w http.ResponseWriter, r *http.Request, ip string)
}

// API is the HTTP handler of one server.
type API struct {
	cfg     Config
	auth    *auth.Service
	keys    *tokens.Keyring
	store   chusme.Store // for readiness only
	metrics *metrics.Metrics
	log     *slog.Logger
	mux     *http.ServeMux

	ipLimit, authLimit, identityLimit *ratelimit.Limiter
	// identityRoutes holds the patterns of the routes charged to the
	// caller's identity and not to IPLimit (route.byIdentity).
	identityRoutes map[string]bool
}

// New returns the API handler.
func New(cfg Config, svc *auth.Service, keys *tokens.Keyring, store chusme.Store, m *metrics.Metrics, log *slog.Logger) *API {
	a := &API{
		cfg: cfg, auth: svc, keys: keys, store: store, metrics: m, log: log,
		mux:            http.NewServeMux(),
		ipLimit:        cfg.IPLimit,
		authLimit:      ratelimit.New(cfg.AuthLimit, cfg.Now),
		identityLimit:  cfg.IdentityLimit,
		identityRoutes: map[string]bool{},
	}
	for _, rt := range a.routeTable() {
		a.mux.Handle(rt.pattern, rt.handler)
		if rt.byIdentity {
			a.identityRoutes[rt.pattern] = true
		}
	}
	if cfg.App != nil {
		a.mux.Handle("GET /app/", cfg.App)
	}
	return a
}

// ServeHTTP serves a request: observed, rate-limited per IP (but on the
// routes charged to the caller's identity), then routed. Requests no route
// matches get problem+json 404 or 405.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.observe(http.HandlerFunc(a.route)).ServeHTTP(w, r)
}

func (a *API) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if !a.identityRoutes[pattern] && !a.limit(w, r, a.ipLimit, "ip", clientIP(r.Context())) {
		return
	}
	if pattern == "" {
		// Let the mux set Allow on a 405, then answer in problem+json.
		probe := &statusRecorder{ResponseWriter: discard{w.Header()}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeMethodNotAllowed, "method %s not allowed here", r.Method))
		} else {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeNotFound, "no such route"))
		}
		return
	}
	a.mux.ServeHTTP(w, r)
}

// discard is a ResponseWriter that keeps headers and drops the body.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
