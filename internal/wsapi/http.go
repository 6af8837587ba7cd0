package wsapi

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
)

// closeCodeOf maps the problem codes of a refused credential to close codes:
// the WebSocket's one table (httpapi's statusOf is the HTTP one).
func closeCodeOf(err error) int {
	switch chusme.ErrorCode(err) {
	case chusme.CodeTokenExpired:
		return CloseTokenExpired
	case chusme.CodeTokenInvalid, chusme.CodeSessionRevoked, chusme.CodeUnauthorized:
		return CloseTokenInvalid
	case chusme.CodeBanned:
		return CloseBanned
	default:
		return CloseInternal
	}
}

// ServeHTTP is Upgrade with the request's peer as the client's address, for
// a server with no proxy in front.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	s.Upgrade(w, r, ip)
}

// Upgrade is the upgrade adapter of GET /v1/ws for a client at address ip
// (as the HTTP API determined it): it checks Origin, authenticates ?ticket=
// (single use) or ?token= (an access token), upgrades and hands the
// connection to Accept. A refused credential is answered on the WebSocket
// with its close code (4001, 4002, 4003), because a browser can't read the
// status of a failed upgrade. The query string, which holds the credential,
// is never logged.
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, ip string) {
	if !s.checkOrigin(r) {
		s.httpError(w, r, http.StatusForbidden, chusme.Errorf(chusme.CodeForbidden, "origin not allowed"))
		return
	}
	if !websocketRequest(r) {
		s.httpError(w, r, http.StatusBadRequest, chusme.Errorf(chusme.CodeInvalidRequest, "this route needs a WebSocket upgrade"))
		return
	}
	q := r.URL.Query()
	var p auth.Principal
	var err error
	switch {
	case q.Get("ticket") != "":
		p, err = s.auth.RedeemWSTicket(r.Context(), q.Get("ticket"))
	case q.Get("token") != "":
		p, err = s.auth.AuthenticateWS(r.Context(), q.Get("token"))
	default:
		err = chusme.Errorf(chusme.CodeUnauthorized, "a ticket (?ticket=) or an access token (?token=) is required")
	}
	ws, uerr := s.upg.Upgrade(w, r, nil)
	if uerr != nil {
		return // the upgrader answered with an HTTP error
	}
	if err != nil {
		code := closeCodeOf(err)
		if code == CloseInternal {
			s.log.Error("websocket authentication failed", "err", err)
		}
		closeNow(ws, code, chusme.ErrorMessage(err), s.cfg.WriteTimeout)
		return
	}
	s.Accept(ws, p, ip)
}

func websocketRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// checkOrigin allows requests without Origin, from the request's own host,
// and from the configured origins.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(s.cfg.Origins, "*") {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(s.cfg.Origins) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range s.cfg.Origins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), norm) {
			return true
		}
	}
	return false
}

// httpError answers a request that can't be upgraded, in problem+json.
func (s *Server) httpError(w http.ResponseWriter, r *http.Request, status int, err error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(chusme.Problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: chusme.ErrorMessage(err), Code: chusme.ErrorCode(err),
	})
}
