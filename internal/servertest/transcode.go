package servertest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"

	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// protobufType is the media type of the ceremony routes' protobuf answers
// (internal/httpapi.ProtobufType).
const protobufType = "application/protobuf"

var (
	submitPath = regexp.MustCompile(`^/v1/ceremonies/[^/]+/rounds/[0-9]+$`)
	inboxPath  = regexp.MustCompile(`^/v1/ceremonies/[^/]+/rounds/[0-9]+/inbox$`)
)

// IsProtobuf reports whether an answer's header says it is protobuf.
func IsProtobuf(h http.Header) bool {
	t, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return t == protobufType
}

// AnswerToJSON is the JSON of a protobuf answer of the ceremony route at
// path (a submission's CeremonyChange, an inbox's CeremonyInbox), so that a
// lying proxy in a test rewrites an answer the same way in either form;
// AnswerFromJSON encodes its rewrite back.
func AnswerToJSON(path string, body []byte) ([]byte, error) {
	var v any
	switch {
	case submitPath.MatchString(path):
		var m chusmev1.CeremonyChange
		if err := proto.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		v = m.View()
	case inboxPath.MatchString(path):
		var m chusmev1.CeremonyInbox
		if err := proto.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		v = m.View()
	default:
		return nil, fmt.Errorf("servertest: %s answers no protobuf", path)
	}
	return json.Marshal(v)
}

// AnswerFromJSON is the protobuf answer of the ceremony route at path whose
// JSON is body (see AnswerToJSON).
func AnswerFromJSON(path string, body []byte) ([]byte, error) {
	var m proto.Message
	switch {
	case submitPath.MatchString(path):
		var v chusme.CeremonyChange
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		m = chusmev1.NewCeremonyChange(v)
	case inboxPath.MatchString(path):
		var v chusme.Inbox
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		m = chusmev1.NewCeremonyInbox(v)
	default:
		return nil, fmt.Errorf("servertest: %s answers no protobuf", path)
	}
	return proto.Marshal(m)
}

// SubmissionToJSON is the JSON of a protobuf submission (a SubmitRequest),
// so that a test reads what a client sent in either form.
func SubmissionToJSON(body []byte) ([]byte, error) {
	var m chusmev1.SubmitRequest
	if err := proto.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	return json.Marshal(m.View())
}
