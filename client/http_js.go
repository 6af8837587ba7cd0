//go:build js && wasm

package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall/js"
)

// defaultHTTP is the browser's fetch: an *http.Client would link net/http's
// Transport, its HTTP/2 and crypto/tls, a third of the WebAssembly build
// (docs/web.md), for requests that net/http sends through fetch anyway.
func defaultHTTP() httpDoer { return fetchDoer{} }

// fetchDoer sends requests with the page's fetch, same-origin credentials
// and redirects as the browser does them. The request's context aborts it.
type fetchDoer struct{}

// Do sends req and reads the whole answer (the client reads every body
// whole, at most maxResponseSize bytes).
func (fetchDoer) Do(req *http.Request) (*http.Response, error) {
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
		u := js.Global().Get("Uint8Array").New(len(body))
		js.CopyBytesToJS(u, body)
		opts.Set("body", u)
	}
	abort := js.Global().Get("AbortController").New()
	opts.Set("signal", abort.Get("signal"))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-req.Context().Done():
			abort.Call("abort")
		case <-stop:
		}
	}()
	ans, err := Await(js.Global().Call("fetch", req.URL.String(), opts))
	if err == nil {
		var buf js.Value
		if buf, err = Await(ans.Call("arrayBuffer")); err == nil {
			return fetchResponse(req, ans, buf), nil
		}
	}
	if cerr := req.Context().Err(); cerr != nil {
		return nil, cerr
	}
	return nil, fmt.Errorf("fetch: %w", err)
}

// fetchResponse is fetch's answer ans, with its body buf, as an
// *http.Response.
func fetchResponse(req *http.Request, ans, buf js.Value) *http.Response {
	h := http.Header{}
	it := ans.Get("headers").Call("entries")
	for {
		n := it.Call("next")
		if n.Get("done").Bool() {
			break
		}
		kv := n.Get("value")
		h.Add(kv.Index(0).String(), kv.Index(1).String())
	}
	b := make([]byte, buf.Get("byteLength").Int())
	js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(buf))
	code := ans.Get("status").Int()
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + ans.Get("statusText").String(),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}
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
