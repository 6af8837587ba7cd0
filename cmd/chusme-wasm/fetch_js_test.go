//go:build js && wasm

package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// TestClientOverFetch runs under Node (internal/webapp's TestWasmClientInNode
// starts it with the servers' URLs): the client's requests go through
// fetch, its answers and problems come back whole, a cancelled context
// stops a request before and while it is sent, and an answer over the
// client's limit is refused.
func TestClientOverFetch(t *testing.T) {
	url, big, hang := os.Getenv("CHUSME_WASM_SERVER"), os.Getenv("CHUSME_WASM_BIG_SERVER"), os.Getenv("CHUSME_WASM_HANG_SERVER")
	if url == "" || big == "" || hang == "" {
		t.Skip("run by internal/webapp's TestWasmClientInNode")
	}
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.ServerInfo(t.Context())
	if err != nil || info.Issuer != c.Issuer() {
		t.Fatalf("ServerInfo: %+v, %v (want the issuer %s)", info, err, c.Issuer())
	}
	_, err = c.Identity(t.Context(), strings.Repeat("0", 64))
	var e *chusme.Error
	if !errors.As(err, &e) || e.Code != chusme.CodeNotFound {
		t.Fatalf("an unknown identity: %v, want the server's %s problem", err, chusme.CodeNotFound)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.ServerInfo(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled request: %v, want context.Canceled", err)
	}
	ch, err := client.New(hang)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := ch.ServerInfo(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request past its deadline: %v, want context.DeadlineExceeded", err)
	}
	cb, err := client.New(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.ServerInfo(t.Context()); err == nil || !strings.Contains(err.Error(), "response larger than") {
		t.Fatalf("an answer over the limit: %v, want it refused", err)
	}
}
