// Package chusme holds ChusMe's domain: identities, sessions, the error type
// shared by every transport, the signing labels that give every signature its
// own domain, the JSON shapes of the HTTP API and the conversion of domain
// values to them (views.go, shared by both transports and the client), and
// the Store interface that every storage engine implements.
//
// It imports only the standard library. Rules live in the service packages
// under internal/, storage engines in internal/sqlite and internal/postgres,
// transports in internal/httpapi and internal/wsapi, and the wiring in
// internal/server (cmd/chusmed calls it). The client library (package
// client) shares this package with the server and never links server code.
package chusme

import (
	"errors"
	"fmt"
)

// Stable machine-readable error codes. They appear as the `code` member of
// every problem+json response and are part of the API contract: a client may
// branch on them, so they never change meaning.
// Version is the version of chusmed and chusme, which are built and
// released together: "dev" unless set at build time with
// -ldflags "-X github.com/chusme/chusme.Version=v1.2.3".
var Version = "dev"

const (
	CodeInternal           = "internal"            // anything unexpected; details only in the server log
	CodeInvalidJSON        = "invalid_json"        // malformed JSON, unknown field, wrong type, trailing data
	CodeInvalidProtobuf    = "invalid_protobuf"    // an application/protobuf body that is not the route's message, or has unknown fields
	CodeInvalidRequest     = "invalid_request"     // well-formed but invalid value
	CodeBodyTooLarge       = "body_too_large"      // request body over the route's limit
	CodeNotFound           = "not_found"           // no such resource (or not visible to the caller)
	CodeMethodNotAllowed   = "method_not_allowed"  // path exists, method does not
	CodeConflict           = "conflict"            // the resource exists or changed meanwhile
	CodeRateLimited        = "rate_limited"        // too many requests; see Retry-After
	CodeUnauthorized       = "unauthorized"        // no credentials given
	CodeTokenInvalid       = "token_invalid"       // access token malformed, forged or for another audience
	CodeTokenExpired       = "token_expired"       // access token past exp (refresh, then retry)
	CodeSessionRevoked     = "session_revoked"     // the token's session ended: logged out, reused, rotated, expired
	CodeForbidden          = "forbidden"           // authenticated but not allowed
	CodeBanned             = "identity_banned"     // the identity is banned
	CodeInvalidPublicKey   = "invalid_public_key"  // not a canonical, prime-order Ed25519 key
	CodeInvalidSignature   = "invalid_signature"   // a signature does not verify
	CodeChallengeInvalid   = "challenge_invalid"   // unknown, used or expired login challenge
	CodeRefreshInvalid     = "refresh_invalid"     // unknown or expired refresh token
	CodeRefreshReused      = "refresh_reused"      // a used refresh token came back: its session is revoked
	CodeRegistrationClosed = "registration_closed" // open registration is off and no invite was given
	CodeInviteInvalid      = "invite_invalid"      // unknown, used or expired invite
	CodeSetupInvalid       = "setup_invalid"       // wrong or already redeemed setup token
	CodeIdentityExists     = "identity_exists"     // a registration for a key already registered
	CodeUnavailable        = "unavailable"         // the server's store is unavailable for a moment: retry after Retry-After
)

// Stable error codes of problems only the WebSocket has, in the Error
// envelope's code (beside the codes above); the connection stays open.
const (
	CodeUnknownPayload = "unknown_payload"  // the Envelope's payload is not a request this server handles
	CodeInvalidMessage = "invalid_message"  // a text frame, or bytes that are not an Envelope
	CodeAnswerTooLarge = "answer_too_large" // the answer would not fit in the connection's send queue: ask the HTTP API
)

// Error is the one error type that crosses package and transport boundaries.
// Code is one of the Code constants; Message is safe to show to the caller
// and never contains secrets or internal detail.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return "" // before e, which errors.As makes escape: no allocation on success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for any other error so that internal detail never leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
