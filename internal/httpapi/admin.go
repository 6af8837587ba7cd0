package httpapi

import (
	"net/http"
	"strconv"

	"github.com/chusme/chusme"
)

// adminRoutes are the administrator's reads of identities and unban; the
// ban and invites are in routeTable.
func (a *API) adminRoutes() []route {
	h := func(pattern string, f http.HandlerFunc) route { return route{pattern: pattern, handler: f} }
	return []route{
		h("GET /v1/admin/identities", a.authed(a.handleAdminIdentities)),
		h("GET /v1/admin/identities/{fp}", a.authed(a.handleAdminIdentity)),
		h("POST /v1/admin/identities/{fp}/unban", a.authed(a.handleUnban)),
	}
}

func (a *API) handleAdminIdentities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := chusme.DefaultAdminPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "limit must be a number from 1 to %d", chusme.MaxAdminPage))
			return
		}
		limit = n
	}
	page, err := a.auth.ListIdentities(r.Context(), principal(r.Context()), q.Get("status"), q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) handleAdminIdentity(w http.ResponseWriter, r *http.Request) {
	d, err := a.auth.AdminIdentity(r.Context(), principal(r.Context()), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) handleUnban(w http.ResponseWriter, r *http.Request) {
	id, err := a.auth.Unban(r.Context(), principal(r.Context()), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, identityInfo(id))
}
