package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/tokens"
)

//go:embed openapi.json
var openapiDoc []byte

// route is one registered route.
type route struct {
	pattern string // method and path, as http.ServeMux reads them
	handler http.Handler
	// byIdentity routes are charged to the caller's identity (the handler
	// is wrapped by API.byIdentity), not to the per-IP limit.
	byIdentity bool
}

// routeTable lists every route: these, then adminRoutes, adminViewRoutes,
// ceremonyRoutes, lifecycleRoutes and wsRoutes beside their handlers.
// TestOpenAPIMatchesRoutes keeps the OpenAPI document and this table in
// step.
func (a *API) routeTable() []route {
	h := func(pattern string, f http.HandlerFunc) route { return route{pattern: pattern, handler: f} }
	return append([]route{
		h("GET /healthz", a.handleHealth),
		h("GET /readyz", a.handleReady),
		{pattern: "GET /metrics", handler: a.metrics.Handler()},
		h("GET /.well-known/jwks.json", a.handleJWKS),
		h("GET /v1/openapi.json", a.handleOpenAPI),
		h("GET /v1/server", a.handleServer),

		h("POST /v1/setup", a.perIP(a.authLimit, "auth", a.handleSetup)),
		h("POST /v1/identities", a.perIP(a.authLimit, "auth", a.handleRegister)),
		h("GET /v1/identities/{fp}", a.handleIdentity),

		h("POST /v1/auth/challenge", a.perIP(a.authLimit, "auth", a.handleChallenge)),
		h("POST /v1/auth/token", a.perIP(a.authLimit, "auth", a.handleToken)),
		h("POST /v1/auth/refresh", a.perIP(a.authLimit, "auth", a.handleRefresh)),
		h("POST /v1/auth/logout", a.authed(a.handleLogout)),
		h("GET /v1/me", a.authed(a.handleMe)),

		h("POST /v1/admin/invites", a.authed(a.handleInvite)),
		h("POST /v1/admin/identities/{fp}/ban", a.authed(a.handleBan)),
	}, slices.Concat(a.adminRoutes(), a.adminViewRoutes(), a.ceremonyRoutes(), a.lifecycleRoutes(), a.wsRoutes())...)
}

func (a *API) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness is /readyz's body.
type readiness struct {
	Status string     `json:"status"` // ready, store unreachable, disk full
	Disk   *DiskSpace `json:"disk,omitempty"`
}

func (a *API) handleReady(w http.ResponseWriter, r *http.Request) {
	body := a.readiness(r.Context())
	if body.Status != "ready" {
		w.Header().Set("Content-Type", "application/problem+json")
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// Ready reports whether /readyz would answer ready now.
func (a *API) Ready(ctx context.Context) bool { return a.readiness(ctx).Status == "ready" }

// readiness checks the store and, if configured, the free disk space, logging
// what is wrong.
func (a *API) readiness(ctx context.Context) readiness {
	if err := a.store.Ping(ctx); err != nil {
		a.log.Error("readiness: store unreachable", "err", err)
		return readiness{Status: "store unreachable"}
	}
	if a.cfg.Disk == nil {
		return readiness{Status: "ready"}
	}
	d, err := a.cfg.Disk()
	if err != nil || d.Free < d.MinFree {
		a.log.Error("readiness: too little free space for the store", "path", d.Path, "free_bytes", d.Free, "min_free_bytes", d.MinFree, "err", err)
		return readiness{Status: "disk full", Disk: &d}
	}
	return readiness{Status: "ready", Disk: &d}
}

func (a *API) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(tokens.JWKSCacheTTL/time.Second)))
	w.Write(a.keys.JWKS())
}

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiDoc)
}

func (a *API) handleServer(w http.ResponseWriter, r *http.Request) {
	pending, err := a.store.SetupPending(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	cfg := a.auth.Config()
	writeJSON(w, http.StatusOK, chusme.ServerInfo{
		Name:         "chusme",
		Version:      a.cfg.Version,
		Issuer:       cfg.Issuer,
		Registration: cfg.Registration,
		SetupPending: pending,
		Features:     []string{"challenge-login", "refresh-rotation", "invites", "totp", "identity-blob", "key-rotation", "ceremonies", "websocket"},
	})
}

func identityInfo(id chusme.Identity) chusme.IdentityInfo {
	return chusme.IdentityInfo{
		Fingerprint: id.Fingerprint, PublicKey: id.PublicKey, DeviceKeys: id.Devices(),
		Role: id.Role, Status: id.Status, CreatedAt: id.CreatedAt,
	}
}

func (a *API) handleSetup(w http.ResponseWriter, r *http.Request) {
	var req chusme.SetupRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.auth.Setup(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if a.cfg.OnSetup != nil {
		a.cfg.OnSetup()
	}
	writeJSON(w, http.StatusCreated, identityInfo(id))
}

func (a *API) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req chusme.RegisterRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.auth.Register(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, identityInfo(id))
}

func (a *API) handleIdentity(w http.ResponseWriter, r *http.Request) {
	id, err := a.auth.Identity(r.Context(), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, identityInfo(id))
}

func (a *API) handleChallenge(w http.ResponseWriter, r *http.Request) {
	var req chusme.ChallengeRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if !a.limit(w, r, a.identityLimit, "identity", req.Fingerprint) {
		return
	}
	c, err := a.auth.Challenge(r.Context(), req.Fingerprint)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.ChallengeResponse{ChallengeID: c.ID, Nonce: c.Nonce, ExpiresAt: c.ExpiresAt})
}

func (a *API) handleToken(w http.ResponseWriter, r *http.Request) {
	var req chusme.TokenRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp, err := a.auth.Token(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var req chusme.RefreshRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp, err := a.auth.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.Logout(r.Context(), principal(r.Context())); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	role, err := a.auth.Role(r.Context(), p)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.Me{Fingerprint: p.Fingerprint, Role: role, SessionID: p.SessionID, ExpiresAt: p.ExpiresAt})
}

func (a *API) handleInvite(w http.ResponseWriter, r *http.Request) {
	var req chusme.InviteRequest
	if r.ContentLength == 0 {
		// An empty body asks for the defaults.
	} else if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	// Clamped before the multiplication, which could wrap a huge value
	// into the valid range: out of range stays out of range.
	secs := min(max(req.TTLSeconds, -1), int(auth.MaxInviteTTL/time.Second)+1)
	inv, err := a.auth.CreateInvite(r.Context(), principal(r.Context()), time.Duration(secs)*time.Second)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, inv)
}

func (a *API) handleBan(w http.ResponseWriter, r *http.Request) {
	id, err := a.auth.Ban(r.Context(), principal(r.Context()), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if a.cfg.OnBan != nil {
		a.cfg.OnBan(id.Fingerprint)
	}
	writeJSON(w, http.StatusOK, identityInfo(id))
}
