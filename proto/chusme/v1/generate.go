// Package chusmev1 is the generated Go code of ChusMe's realtime protocol
// (realtime.proto: the WebSocket Envelope and its payloads). Both the server
// (internal/wsapi) and the client library import it; regenerate with
// `go generate ./proto/...` (Debian's protobuf-compiler and the go.mod tool
// protoc-gen-go), and scripts/check-proto.sh checks that nothing changes.
package chusmev1

//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) -I ../../.. --go_out=../../.. --go_opt=paths=source_relative proto/chusme/v1/realtime.proto"
