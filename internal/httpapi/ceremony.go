package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// SubmitBodyLimit is the largest body of a round submission: 512 KiB, enough
// for a DKG round 2 of the largest ceremony (254 sealed packages: 80 KiB)
// and the largest confirmation (48 KiB, base64url-encoded).
const SubmitBodyLimit = 512 << 10

// ComplaintBodyLimit is the largest body of a complaint: 1 KiB.
const ComplaintBodyLimit = 1 << 10

// CreateBodyLimit is the largest body of a ceremony creation: a 64 KiB
// message travels base64url-encoded (87 KiB), plus up to 255 fingerprints
// (17 KiB).
const CreateBodyLimit = 128 << 10

// DeclineBodyLimit is the largest body of a decline: one signature.
const DeclineBodyLimit = 1 << 10

// ceremonyRoutes are the FROST ceremony routes (DESIGN §5). They are charged
// to the caller's identity, not to its address (API.byIdentity): the
// participants of a ceremony behind one address (an office's NAT, one
// machine) don't share one budget. Creations also count against their
// per-IP limit, submissions against their per-session one.
func (a *API) ceremonyRoutes() []route {
	h := func(pattern string, f http.HandlerFunc) route {
		return route{pattern: pattern, handler: a.byIdentity(f), byIdentity: true}
	}
	create, submit := a.cfg.CeremonyCreateLimit, a.cfg.CeremonySubmitLimit
	perToken := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if a.limit(w, r, submit, "ceremony_submit", principal(r.Context()).SessionID) {
				next(w, r)
			}
		}
	}
	return []route{
		{pattern: "POST /v1/ceremonies", handler: a.perIP(create, "ceremony_create", a.byIdentity(a.handleCreateCeremony)), byIdentity: true},
		h("GET /v1/ceremonies", a.handleListCeremonies),
		h("GET /v1/ceremonies/{id}", a.handleCeremony),
		h("POST /v1/ceremonies/{id}/rounds/{n}", perToken(a.handleSubmit)),
		h("GET /v1/ceremonies/{id}/rounds/{n}/inbox", a.handleInbox),
		h("GET /v1/ceremonies/{id}/heads", a.handleHeads),
		h("POST /v1/ceremonies/{id}/complaints", perToken(a.handleComplaint)),
		h("POST /v1/ceremonies/{id}/cancel", a.handleCancel),
		h("GET /v1/keys/{key_id}", a.handleKey),
		h("GET /v1/keys/{key_id}/generations/{generation}", a.handleKey),
		h("POST /v1/ceremonies/{id}/decline", perToken(a.handleDecline)),
		h("GET /v1/me/blocks", a.handleBlocked),
		h("PUT /v1/me/blocks/{fp}", a.handleBlock),
		h("DELETE /v1/me/blocks/{fp}", a.handleBlock),
	}
}

// handleBlocked answers whom the caller blocks from inviting it.
func (a *API) handleBlocked(w http.ResponseWriter, r *http.Request) {
	fps, err := a.cfg.Ceremonies.Blocked(r.Context(), principal(r.Context()).Fingerprint)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.BlockList{Blocked: fps})
}

// handleBlock blocks (PUT) or unblocks (DELETE) {fp} from inviting the
// caller: 204 No Content.
func (a *API) handleBlock(w http.ResponseWriter, r *http.Request) {
	caller, fp := principal(r.Context()).Fingerprint, r.PathValue("fp")
	var err error
	if r.Method == http.MethodPut {
		err = a.cfg.Ceremonies.Block(r.Context(), caller, fp)
	} else {
		err = a.cfg.Ceremonies.Unblock(r.Context(), caller, fp)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ceremonyID reads the {id} path value; a malformed id is simply unknown.
func ceremonyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !chusme.ValidCeremonyID(id) {
		return "", chusme.Errorf(chusme.CodeNotFound, "no such ceremony")
	}
	return id, nil
}

// ceremonyRound reads the {id} and {n} path values of a round's routes.
func ceremonyRound(r *http.Request) (string, int, error) {
	id, err := ceremonyID(r)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 16 {
		return "", 0, chusme.Errorf(chusme.CodeNotFound, "no such round")
	}
	return id, n, nil
}

func (a *API) handleCreateCeremony(w http.ResponseWriter, r *http.Request) {
	var req chusme.CreateCeremonyRequest
	if err := decode(w, r, CreateBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.cfg.Ceremonies.Create(r.Context(), principal(r.Context()).Fingerprint, req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.Header().Set("Location", "/v1/ceremonies/"+c.ID)
	writeJSON(w, http.StatusCreated, chusme.CeremonyInfoOf(c))
}

// handleListCeremonies answers a page of the caller's ceremonies:
// ?status=, ?limit= (1 to 100) and ?cursor= (a next_cursor).
func (a *API) handleListCeremonies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := chusme.CeremonyListQuery{Status: q.Get("status"), Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "limit must be 1 to %d", chusme.MaxCeremonyListLimit))
			return
		}
		lq.Limit = n
	}
	cs, next, err := a.cfg.Ceremonies.List(r.Context(), principal(r.Context()).Fingerprint, lq)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyListOf(cs, next))
}

// handleCeremony answers the ceremony's state; with ?after=VERSION it waits
// (up to ?wait=SECONDS, default and at most 30) until the version is newer.
func (a *API) handleCeremony(w http.ResponseWriter, r *http.Request) {
	id, err := ceremonyID(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	caller := principal(r.Context()).Fingerprint
	q := r.URL.Query()
	var c chusme.Ceremony
	if s := q.Get("after"); s != "" {
		after, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || after < 0 {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "after must be a version number"))
			return
		}
		wait := 30 * time.Second
		if s := q.Get("wait"); s != "" {
			secs, perr := strconv.Atoi(s)
			if perr != nil || secs < 0 || secs > 30 {
				writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "wait must be 0 to 30 seconds"))
				return
			}
			wait = time.Duration(secs) * time.Second
		}
		c, err = a.cfg.Ceremonies.Wait(r.Context(), caller, id, after, wait)
	} else {
		c, err = a.cfg.Ceremonies.Get(r.Context(), caller, id)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyInfoOf(c))
}

func (a *API) handleSubmit(w http.ResponseWriter, r *http.Request) {
	id, round, err := ceremonyRound(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	req, err := submitRequest(w, r, id, round)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	caller := principal(r.Context()).Fingerprint
	c, err := a.cfg.Ceremonies.Submit(r.Context(), caller, id, round, req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	ans := chusme.SubmitAnswerOf(c, caller, round)
	if acceptsProtobuf(r) {
		writeProtobuf(w, http.StatusOK, chusmev1.NewCeremonyChange(ans))
		return
	}
	w.Header().Add("Vary", "Accept")
	writeJSON(w, http.StatusOK, ans)
}

// submitRequest reads a submission to round of ceremony id, as JSON or as
// a protobuf SubmitRequest, whose ceremony_id and round, if set, must be
// the path's.
func submitRequest(w http.ResponseWriter, r *http.Request, id string, round int) (chusme.SubmitRequest, error) {
	if !isProtobuf(r) {
		var req chusme.SubmitRequest
		err := decode(w, r, SubmitBodyLimit, &req)
		return req, err
	}
	var m chusmev1.SubmitRequest
	if err := decodeProtobuf(w, r, SubmitBodyLimit, &m); err != nil {
		return chusme.SubmitRequest{}, err
	}
	if (m.GetCeremonyId() != "" && m.GetCeremonyId() != id) || (m.GetRound() != 0 && int(m.GetRound()) != round) {
		return chusme.SubmitRequest{}, chusme.Errorf(chusme.CodeInvalidRequest, "the body's ceremony_id and round, when set, must be the path's")
	}
	return m.View(), nil
}

func (a *API) handleInbox(w http.ResponseWriter, r *http.Request) {
	id, round, err := ceremonyRound(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	format, encode := "json", func(subs []chusme.CeremonySubmission, complete bool) ([]byte, error) {
		b, err := json.Marshal(chusme.InboxOf(round, complete, subs))
		return append(b, '\n'), err
	}
	if acceptsProtobuf(r) {
		format, encode = ProtobufType, func(subs []chusme.CeremonySubmission, complete bool) ([]byte, error) {
			return proto.Marshal(chusmev1.NewCeremonyInbox(chusme.InboxOf(round, complete, subs)))
		}
	}
	body, err := a.cfg.Ceremonies.EncodedInbox(r.Context(), principal(r.Context()).Fingerprint, id, round, format, encode)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if format == ProtobufType {
		writeBytes(w, http.StatusOK, ProtobufType, body)
		return
	}
	w.Header().Add("Vary", "Accept")
	jsonHeader(w, http.StatusOK)
	w.Write(body)
}

// handleHeads answers the participants' current identity chain heads.
func (a *API) handleHeads(w http.ResponseWriter, r *http.Request) {
	id, err := ceremonyID(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	heads, err := a.cfg.Ceremonies.Heads(r.Context(), principal(r.Context()).Fingerprint, id)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyHeads{Heads: heads})
}

func (a *API) handleComplaint(w http.ResponseWriter, r *http.Request) {
	id, err := ceremonyID(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req chusme.ComplaintRequest
	if err := decode(w, r, ComplaintBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.cfg.Ceremonies.Complain(r.Context(), principal(r.Context()).Fingerprint, id, req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyInfoOf(c))
}

func (a *API) handleCancel(w http.ResponseWriter, r *http.Request) {
	id, err := ceremonyID(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.cfg.Ceremonies.Cancel(r.Context(), principal(r.Context()).Fingerprint, id)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyInfoOf(c))
}

func (a *API) handleDecline(w http.ResponseWriter, r *http.Request) {
	id, err := ceremonyID(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req chusme.DeclineRequest
	if err := decode(w, r, DeclineBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.cfg.Ceremonies.Decline(r.Context(), principal(r.Context()).Fingerprint, id, req.Signature)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.CeremonyInfoOf(c))
}

func (a *API) handleKey(w http.ResponseWriter, r *http.Request) {
	generation := 0 // the current one
	if g := r.PathValue("generation"); g != "" {
		n, err := strconv.Atoi(g)
		if err != nil || n < 1 || strconv.Itoa(n) != g {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "a generation is a number from 1, not %q", g))
			return
		}
		generation = n
	}
	body, err := a.cfg.Ceremonies.EncodedKey(r.Context(), r.PathValue("key_id"), generation, "json", func(k chusme.GroupKey) ([]byte, error) {
		b, err := json.Marshal(chusme.GroupKeyInfoOf(k))
		return append(b, '\n'), err
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	jsonHeader(w, http.StatusOK)
	w.Write(body)
}
