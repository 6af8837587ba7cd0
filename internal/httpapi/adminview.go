package httpapi

import (
	"net/http"
	"strconv"

	"github.com/chusme/chusme"
)

// adminViewRoutes are the administrator's ceremony stats and invite list
// and revocation.
func (a *API) adminViewRoutes() []route {
	h := func(pattern string, f http.HandlerFunc) route { return route{pattern: pattern, handler: f} }
	return []route{
		h("GET /v1/admin/ceremony-stats", a.authed(a.handleCeremonyStats)),
		h("GET /v1/admin/invites", a.authed(a.handleListInvites)),
		h("DELETE /v1/admin/invites/{id}", a.authed(a.handleRevokeInvite)),
	}
}

// intParam returns query parameter name as a number, def if absent;
// CodeInvalidRequest, saying it is a number from 1 to most, if it is none.
func intParam(r *http.Request, name string, def, most int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, chusme.Errorf(chusme.CodeInvalidRequest, "%s must be a number from 1 to %d", name, most)
	}
	return n, nil
}

func (a *API) handleCeremonyStats(w http.ResponseWriter, r *http.Request) {
	hours, err := intParam(r, "hours", chusme.DefaultStatsHours, chusme.MaxStatsHours)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	st, err := a.auth.CeremonyStats(r.Context(), principal(r.Context()), hours)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) handleListInvites(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", chusme.DefaultInvitePage, chusme.MaxInvitePage)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	page, err := a.auth.ListInvites(r.Context(), principal(r.Context()), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) handleRevokeInvite(w http.ResponseWriter, r *http.Request) {
	if err := a.auth.RevokeInvite(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
