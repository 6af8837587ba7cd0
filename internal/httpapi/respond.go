package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
	"github.com/chusme/chusme/strictjson"
)

// DefaultBodyLimit is the largest request body a route accepts unless it
// sets its own limit: 64 KiB.
const DefaultBodyLimit = 64 << 10

// statusOf maps every problem code to its HTTP status: the one table.
var statusOf = map[string]int{
	chusme.CodeInvalidJSON:        http.StatusBadRequest,
	chusme.CodeInvalidProtobuf:    http.StatusBadRequest,
	chusme.CodeInvalidRequest:     http.StatusBadRequest,
	chusme.CodeInvalidPublicKey:   http.StatusBadRequest,
	chusme.CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	chusme.CodeNotFound:           http.StatusNotFound,
	chusme.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	chusme.CodeConflict:           http.StatusConflict,
	chusme.CodeIdentityExists:     http.StatusConflict,
	chusme.CodeRateLimited:        http.StatusTooManyRequests,
	chusme.CodeUnauthorized:       http.StatusUnauthorized,
	chusme.CodeTokenInvalid:       http.StatusUnauthorized,
	chusme.CodeTokenExpired:       http.StatusUnauthorized,
	chusme.CodeSessionRevoked:     http.StatusUnauthorized,
	chusme.CodeInvalidSignature:   http.StatusUnauthorized,
	chusme.CodeChallengeInvalid:   http.StatusUnauthorized,
	chusme.CodeRefreshInvalid:     http.StatusUnauthorized,
	chusme.CodeRefreshReused:      http.StatusUnauthorized,
	chusme.CodeForbidden:          http.StatusForbidden,
	chusme.CodeBanned:             http.StatusForbidden,
	chusme.CodeRegistrationClosed: http.StatusForbidden,
	chusme.CodeInviteInvalid:      http.StatusForbidden,
	chusme.CodeInviteUsed:         http.StatusConflict,
	chusme.CodeSetupInvalid:       http.StatusForbidden,
	chusme.CodeInternal:           http.StatusInternalServerError,
	chusme.CodeUnavailable:        http.StatusServiceUnavailable,

	chusme.CodeInvalidPackage:        http.StatusBadRequest,
	chusme.CodeCeremonyClosed:        http.StatusConflict,
	chusme.CodeWrongRound:            http.StatusConflict,
	chusme.CodeCommitmentReused:      http.StatusConflict,
	chusme.CodeNotNeeded:             http.StatusConflict,
	chusme.CodeDeclined:              http.StatusConflict,
	chusme.CodeParticipantBlocked:    http.StatusForbidden,
	chusme.CodeTooManyOpenCeremonies: http.StatusConflict,
	chusme.CodePackageValid:          http.StatusConflict,

	chusme.CodeTOTPRequired:         http.StatusUnauthorized,
	chusme.CodeTOTPInvalid:          http.StatusUnauthorized,
	chusme.CodeTOTPEnabled:          http.StatusConflict,
	chusme.CodeTOTPNotEnabled:       http.StatusConflict,
	chusme.CodePreconditionFailed:   http.StatusPreconditionFailed,
	chusme.CodePreconditionRequired: http.StatusPreconditionRequired,
	chusme.CodeChainConflict:        http.StatusConflict,
	chusme.CodeRotationPending:      http.StatusConflict,
	chusme.CodeRotationFinal:        http.StatusConflict,
	chusme.CodeNotRecoveryKey:       http.StatusForbidden,
	chusme.CodeOutranked:            http.StatusConflict,
	chusme.CodeKeyRotated:           http.StatusUnauthorized,
	chusme.CodeNotDeviceKey:         http.StatusForbidden,
	chusme.CodeTooManyDevices:       http.StatusConflict,
	chusme.CodeLastDevice:           http.StatusConflict,
	chusme.CodeJoinExpired:          http.StatusBadRequest,
}

// writeError writes err as problem+json. Errors that are not *chusme.Error
// become a generic internal error; their cause goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := chusme.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusInternalServerError:
		log.Error("internal error", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
	case http.StatusServiceUnavailable:
		log.Warn("store unavailable", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="chusme"`)
	}
	if s := ratelimit.RetryAfter(err); s > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(s, 10))
	}
	p := chusme.Problem{
		Type:      "about:blank", // the code member names the problem
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    chusme.ErrorMessage(err),
		Code:      code,
		RequestID: requestID(r.Context()),
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	jsonHeader(w, status)
	json.NewEncoder(w).Encode(v)
}

// jsonHeader starts a JSON answer with status.
func jsonHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// decode reads a JSON body into v strictly (strictjson.Decode): at most
// limit bytes, no unknown fields, no duplicate keys, keys in their exact
// case, the right types, nothing after the value.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	// Sized by Content-Length (within the limit), the body is read in one go.
	var body bytes.Buffer
	body.Grow(int(min(max(r.ContentLength, 0), limit)) + bytes.MinRead)
	_, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		err = strictjson.Decode(body.Bytes(), v)
	}
	if err == nil {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return chusme.Errorf(chusme.CodeBodyTooLarge, "request body is larger than %d bytes", limit)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return chusme.Errorf(chusme.CodeInvalidJSON, "field %q has the wrong type", typeErr.Field)
	}
	var keyErr *strictjson.KeyError
	if errors.As(err, &keyErr) || errors.Is(err, strictjson.ErrTrailingData) {
		return chusme.Errorf(chusme.CodeInvalidJSON, "%s", err.Error())
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return chusme.Errorf(chusme.CodeInvalidJSON, "unknown field %.42s", field)
	}
	if errors.Is(err, io.EOF) {
		return chusme.Errorf(chusme.CodeInvalidJSON, "request body is empty")
	}
	return chusme.Errorf(chusme.CodeInvalidJSON, "request body is not valid JSON for this request")
}
