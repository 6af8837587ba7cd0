package httpapi

import (
	"bufio"
	"net"
	"net/http"

	"github.com/chusme/chusme"
)

// wsRoutes are the WebSocket routes (DESIGN §6): tickets, charged to the
// caller's identity as the ceremony routes are (the WebSocket carries their
// events), and the endpoint, served by Config.Realtime (internal/wsapi).
func (a *API) wsRoutes() []route {
	return []route{
		{pattern: "POST /v1/ws/tickets", handler: a.byIdentity(a.handleWSTicket), byIdentity: true},
		{pattern: "GET /v1/ws", handler: http.HandlerFunc(a.handleWS)},
	}
}

func (a *API) handleWSTicket(w http.ResponseWriter, r *http.Request) {
	t, err := a.auth.IssueWSTicket(r.Context(), principal(r.Context()))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

// handleWS hands the request to the WebSocket transport. The request log
// keeps the path only: the query holds the ticket or token.
func (a *API) handleWS(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Realtime == nil {
		writeError(w, r, a.log, chusme.Errorf(chusme.CodeNotFound, "no such route"))
		return
	}
	if rec, ok := w.(*statusRecorder); ok {
		w = &hijacker{rec}
	}
	a.cfg.Realtime.Upgrade(w, r, clientIP(r.Context()))
}

// hijacker lets the upgrade take the connection through the status recorder,
// recording 101 for the request log and metrics.
type hijacker struct{ *statusRecorder }

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil && h.status == 0 {
		h.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}
