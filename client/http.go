//go:build !(js && wasm)

package client

import "net/http"

// defaultHTTP is http.DefaultClient: WithHTTPClient replaces it.
func defaultHTTP() httpDoer { return http.DefaultClient }
