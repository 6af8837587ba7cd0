package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
)

// lifecycleRoutes are the identity lifecycle routes (DESIGN §2–§3): TOTP,
// the identity blob, rotations and the chain.
func (a *API) lifecycleRoutes() []route {
	h := func(pattern string, f http.HandlerFunc) route { return route{pattern: pattern, handler: f} }
	blob := ratelimit.New(a.cfg.BlobLimit, a.cfg.Now)
	return []route{
		h("GET /v1/identities/{fp}/chain", a.handleChain),
		h("GET /v1/identities/{fp}/blob", a.perIP(blob, "blob", a.handleGetBlob)),
		h("PUT /v1/identities/{fp}/blob", a.authed(a.handlePutBlob)),
		h("POST /v1/identities/{fp}/rotations", a.perIP(a.authLimit, "auth", chainHandler(a, a.cfg.Identity.Rotate))),
		h("POST /v1/identities/{fp}/rotations/{seq}/cancel", a.perIP(a.authLimit, "auth", a.handleRotationCancel)),
		h("POST /v1/identities/{fp}/recovery-keys", a.perIP(a.authLimit, "auth", chainHandler(a, a.cfg.Identity.SetRecoveryKeys))),
		h("POST /v1/identities/{fp}/recoveries", a.perIP(a.authLimit, "auth", chainHandler(a, a.cfg.Identity.Recover))),
		h("POST /v1/identities/{fp}/devices", a.perIP(a.authLimit, "auth", chainHandler(a, a.cfg.Identity.AddDevice))),
		h("POST /v1/identities/{fp}/devices/remove", a.perIP(a.authLimit, "auth", chainHandler(a, a.cfg.Identity.RemoveDevice))),

		h("POST /v1/me/totp", a.authed(a.handleTOTPEnrol)),
		h("POST /v1/me/totp/confirm", a.authed(a.handleTOTPConfirm)),
		h("DELETE /v1/me/totp", a.authed(a.handleTOTPDisable)),
	}
}

func (a *API) handleChain(w http.ResponseWriter, r *http.Request) {
	c, err := a.cfg.Identity.Chain(r.Context(), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// quoteETag and unquoteETag convert between a blob's ETag and the header
// form: a strong entity tag in double quotes. A weak or malformed tag is
// returned unchanged, so it matches nothing.
func quoteETag(tag string) string { return `"` + tag + `"` }

func unquoteETag(h string) string {
	h = strings.TrimSpace(h)
	if h == "*" {
		return h
	}
	if len(h) >= 2 && h[0] == '"' && h[len(h)-1] == '"' {
		return h[1 : len(h)-1]
	}
	return "invalid:" + h
}

func (a *API) handleGetBlob(w http.ResponseWriter, r *http.Request) {
	b, err := a.cfg.Identity.Blob(r.Context(), r.PathValue("fp"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.Header().Set("ETag", quoteETag(b.ETag))
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && unquoteETag(inm) == b.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b.Content)))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Content)
}

func (a *API) handlePutBlob(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/octet-stream" {
			writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "the blob must be sent as application/octet-stream"))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, chusme.MaxBlobSize))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, r, a.log, chusme.Errorf(chusme.CodeBodyTooLarge, "the blob is larger than %d bytes", chusme.MaxBlobSize))
		return
	} else if err != nil {
		writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "reading the body failed"))
		return
	}
	var ifMatch, ifNoneMatch string
	if v := r.Header.Get("If-Match"); v != "" {
		ifMatch = unquoteETag(v)
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		ifNoneMatch = strings.TrimSpace(v)
	}
	b, err := a.cfg.Identity.PutBlob(r.Context(), principal(r.Context()).Fingerprint, r.PathValue("fp"), body, ifMatch, ifNoneMatch)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.Header().Set("ETag", quoteETag(b.ETag))
	status := http.StatusOK
	if ifNoneMatch != "" {
		status = http.StatusCreated
	}
	writeJSON(w, status, chusme.BlobInfo{ETag: quoteETag(b.ETag), Size: len(b.Content), UpdatedAt: b.UpdatedAt})
}

// chainHandler answers a signed chain statement of type R: it decodes R and
// appends the entry apply returns.
func chainHandler[R any](a *API, apply func(ctx context.Context, fp string, req R) (chusme.ChainEntry, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req R
		if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		e, err := apply(r.Context(), r.PathValue("fp"), req)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		writeJSON(w, http.StatusCreated, e)
	}
}

func (a *API) handleRotationCancel(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 63)
	if err != nil {
		writeError(w, r, a.log, chusme.Errorf(chusme.CodeNotFound, "no such rotation"))
		return
	}
	var req chusme.CancelRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	e, err := a.cfg.Identity.Cancel(r.Context(), r.PathValue("fp"), seq, req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (a *API) handleTOTPEnrol(w http.ResponseWriter, r *http.Request) {
	en, err := a.auth.EnrolTOTP(r.Context(), principal(r.Context()))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, en)
}

func (a *API) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	var req chusme.TOTPConfirmRequest
	if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Code == "" || len(req.Signature) == 0 {
		writeError(w, r, a.log, chusme.Errorf(chusme.CodeInvalidRequest, "send the current TOTP code in code and the identity key's signature in signature"))
		return
	}
	codes, err := a.auth.ConfirmTOTP(r.Context(), principal(r.Context()), req.Code, req.Signature)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, chusme.TOTPConfirmation{RecoveryCodes: codes})
}

func (a *API) handleTOTPDisable(w http.ResponseWriter, r *http.Request) {
	var req chusme.TOTPCodeRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, DefaultBodyLimit, &req); err != nil {
			writeError(w, r, a.log, err)
			return
		}
	}
	if err := a.auth.DisableTOTP(r.Context(), principal(r.Context()), req.Code, req.RecoveryCode); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
