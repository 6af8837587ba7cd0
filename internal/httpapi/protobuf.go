package httpapi

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/chusme/chusme"
)

// ProtobufType is the media type of the binary bodies and answers that the
// ceremony drivers' busiest routes take besides JSON: a round's submission
// and its answer, and a round's inbox, as the realtime protocol's messages
// (proto/chusme/v1: SubmitRequest, CeremonyChange, CeremonyInbox). Their
// packages are bytes that JSON carries in base64: a DKG round 2 of n
// participants is n − 1 sealed packages, which encoding/json scans byte by
// byte at a tenth of protobuf's speed (docs/performance-ceremonies.md).
// Problems are problem+json either way.
const ProtobufType = "application/protobuf"

// isProtobuf reports whether r's body is protobuf (its Content-Type is
// ProtobufType); any other body is JSON.
func isProtobuf(r *http.Request) bool {
	t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && t == ProtobufType
}

// acceptsProtobuf reports whether r asks for a protobuf answer: its Accept
// header names ProtobufType without q=0.
func acceptsProtobuf(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			t, params, err := mime.ParseMediaType(part)
			if err != nil || t != ProtobufType {
				continue
			}
			if q, err := strconv.ParseFloat(params["q"], 64); err != nil || q > 0 {
				return true // no q, or a q above 0 (a malformed q counts as 1)
			}
		}
	}
	return false
}

// decodeProtobuf reads a protobuf body into m: at most limit bytes, which
// must parse as m with no field m does not know, at any depth.
func decodeProtobuf(w http.ResponseWriter, r *http.Request, limit int64, m proto.Message) error {
	var body bytes.Buffer
	body.Grow(int(min(max(r.ContentLength, 0), limit)) + bytes.MinRead)
	if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return chusme.Errorf(chusme.CodeBodyTooLarge, "request body is larger than %d bytes", limit)
		}
		return chusme.Errorf(chusme.CodeInvalidProtobuf, "request body could not be read")
	}
	if err := proto.Unmarshal(body.Bytes(), m); err != nil {
		return chusme.Errorf(chusme.CodeInvalidProtobuf, "request body is not a %s", m.ProtoReflect().Descriptor().Name())
	}
	if unknown(m.ProtoReflect()) {
		return chusme.Errorf(chusme.CodeInvalidProtobuf, "request body has a field a %s does not have", m.ProtoReflect().Descriptor().Name())
	}
	return nil
}

// unknown reports whether m, or a message in it, holds a field its
// descriptor does not know.
func unknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				if found = unknown(l.Get(i).Message()); found {
					break
				}
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
				found = unknown(e.Message())
				return !found
			})
		case fd.Message() != nil && !fd.IsMap():
			found = unknown(v.Message())
		}
		return !found
	})
	return found
}

// writeProtobuf answers m with status as ProtobufType.
func writeProtobuf(w http.ResponseWriter, status int, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil { // only for a message with invalid UTF-8 in a string: ours never
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	writeBytes(w, status, ProtobufType, b)
}

// writeBytes answers body with status as contentType.
func writeBytes(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Add("Vary", "Accept")
	w.WriteHeader(status)
	w.Write(body)
}
