//go:build js && wasm

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall/js"
)

// defaultHTTP is the browser's fetch: an *http.Client would link net/http's
// Transport, its HTTP/2 and crypto/tls, a fifth of the WebAssembly build
// (docs/web.md), for requests that net/http sends through fetch anyway.
func defaultHTTP() httpDoer { return fetchDoer{} }

// fetchDoer sends requests with the page's fetch, same-origin credentials
// and redirects as the browser does them. The request's context aborts it,
// until the answer's body is closed.
type fetchDoer struct{}

// Do sends req. The answer's body is read as the caller reads it, so that
// the client's limit on an answer's size holds.
func (fetchDoer) Do(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	opts := js.Global().Get("Object").New()
	opts.Set("method", req.Method)
	hdr := js.Global().Get("Headers").New()
	for k, vs := range req.Header {
		for _, v := range vs {
			hdr.Call("append", k, v)
		}
	}
	opts.Set("headers", hdr)
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		opts.Set("body", uint8Array(body))
	}
	abort := js.Global().Get("AbortController").New()
	opts.Set("signal", abort.Get("signal"))
	closed := make(chan struct{})
	go func() {
		select {
		case <-req.Context().Done():
			abort.Call("abort")
		case <-closed:
		}
	}()
	ans, err := Await(js.Global().Call("fetch", req.URL.String(), opts))
	if err != nil {
		close(closed)
		if cerr := req.Context().Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("fetch: %w", err)
	}
	h := http.Header{}
	it := ans.Get("headers").Call("entries")
	for n := it.Call("next"); !n.Get("done").Bool(); n = it.Call("next") {
		h.Add(n.Get("value").Index(0).String(), n.Get("value").Index(1).String())
	}
	body := &fetchBody{ctx: req.Context(), closed: closed}
	if b := ans.Get("body"); b.Truthy() {
		body.rd = b.Call("getReader")
	}
	code := ans.Get("status").Int()
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + ans.Get("statusText").String(),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: -1,
		Request:       req,
	}, nil
}

// fetchBody reads a fetch answer's body stream, chunk by chunk.
type fetchBody struct {
	ctx    context.Context
	rd     js.Value // the stream's reader, or undefined for no body
	chunk  []byte   // read from the stream, not yet from fetchBody
	closed chan struct{}
	once   sync.Once
}

// Read reads from the current chunk, or waits for the next.
func (b *fetchBody) Read(p []byte) (int, error) {
	for len(b.chunk) == 0 {
		if !b.rd.Truthy() {
			return 0, io.EOF
		}
		r, err := Await(b.rd.Call("read"))
		if err != nil {
			if cerr := b.ctx.Err(); cerr != nil {
				return 0, cerr
			}
			return 0, fmt.Errorf("fetch: %w", err)
		}
		if r.Get("done").Bool() {
			b.rd = js.Undefined()
			return 0, io.EOF
		}
		v := r.Get("value")
		b.chunk = make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(b.chunk, v)
	}
	n := copy(p, b.chunk)
	b.chunk = b.chunk[n:]
	return n, nil
}

// Close cancels what is left of the stream.
func (b *fetchBody) Close() error {
	b.once.Do(func() {
		if b.rd.Truthy() {
			b.rd.Call("cancel")
			b.rd = js.Undefined()
		}
		close(b.closed)
	})
	return nil
}

// uint8Array is a copy of b in a new Uint8Array.
func uint8Array(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// Await waits for the JavaScript promise p, from a goroutine (never from a
// JavaScript callback, which must not block): its value, or its rejection
// as an error.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "promise rejected"
		if len(args) > 0 {
			msg = js.Global().Get("String").Invoke(args[0]).String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}
