//go:build js && wasm

package client

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"
	"syscall/js"
	"time"

	"github.com/gorilla/websocket"
)

// jsConn is a browser WebSocket as a wsConn: gorilla/websocket compiles to
// WebAssembly but cannot dial from a page, which has no sockets. The
// browser answers the server's pings itself and sends no User-Agent of
// ours; deadlines are not kept (the browser ends a dead connection).
type jsConn struct {
	ws    js.Value
	funcs []js.Func

	done    chan struct{} // closed once the connection has closed
	release sync.Once

	mu     sync.Mutex
	queue  [][]byte      // binary messages received, not yet read
	more   chan struct{} // a message arrived (capacity 1)
	closed *websocket.CloseError
	limit  int64
}

// dialWS opens the WebSocket at url with the browser's WebSocket (h is
// ignored: a page cannot set headers). It fails with an error, no response,
// when the browser cannot open it: the page is not told why.
func dialWS(ctx context.Context, url string, _ http.Header) (wsConn, *http.Response, error) {
	c := &jsConn{ws: js.Global().Get("WebSocket").New(url), more: make(chan struct{}, 1), done: make(chan struct{})}
	c.ws.Set("binaryType", "arraybuffer")
	opened := make(chan bool, 1)
	on := func(event string, f func(ev js.Value)) {
		fn := js.FuncOf(func(_ js.Value, args []js.Value) any { f(args[0]); return nil })
		c.funcs = append(c.funcs, fn)
		c.ws.Call("addEventListener", event, fn)
	}
	// The callbacks run on the browser's event loop: they never block.
	on("open", func(js.Value) { opened <- true })
	on("message", func(ev js.Value) {
		data := ev.Get("data")
		if data.Type() == js.TypeString {
			return // the protocol's messages are binary
		}
		b := make([]byte, data.Get("byteLength").Int())
		js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(data))
		c.mu.Lock()
		c.queue = append(c.queue, b)
		c.mu.Unlock()
		c.wake()
	})
	on("close", func(ev js.Value) {
		c.mu.Lock()
		if c.closed == nil {
			c.closed = &websocket.CloseError{Code: ev.Get("code").Int(), Text: ev.Get("reason").String()}
			close(c.done)
		}
		c.mu.Unlock()
		select {
		case opened <- false:
		default:
		}
	})
	select {
	case ok := <-opened:
		if ok {
			return c, nil, nil
		}
	case <-ctx.Done():
	}
	c.Close()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return nil, nil, errors.New("the browser could not open the WebSocket")
}

func (c *jsConn) wake() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// SetReadLimit sets the largest message ReadMessage accepts.
func (c *jsConn) SetReadLimit(limit int64) { c.mu.Lock(); c.limit = limit; c.mu.Unlock() }

// SetReadDeadline does nothing: the browser ends a dead connection.
func (c *jsConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing: sends are queued by the browser.
func (c *jsConn) SetWriteDeadline(time.Time) error { return nil }

// SetPingHandler does nothing: the browser answers pings itself.
func (c *jsConn) SetPingHandler(func(string) error) {}

// ReadMessage returns the next binary message, or the close as a
// *websocket.CloseError once the connection has closed.
func (c *jsConn) ReadMessage() (int, []byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			b := c.queue[0]
			c.queue = c.queue[1:]
			tooLarge := c.limit > 0 && int64(len(b)) > c.limit
			c.mu.Unlock()
			if tooLarge {
				c.Close()
				return 0, nil, websocket.ErrReadLimit
			}
			return websocket.BinaryMessage, b, nil
		}
		closed := c.closed
		c.mu.Unlock()
		if closed != nil {
			return 0, nil, closed
		}
		select {
		case <-c.more:
		case <-c.done:
		}
	}
}

// WriteMessage sends a binary message.
func (c *jsConn) WriteMessage(mt int, data []byte) error {
	if mt != websocket.BinaryMessage {
		return errors.New("client: the browser WebSocket sends binary messages only")
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed != nil {
		return closed
	}
	c.ws.Call("send", uint8Array(data))
	return nil
}

// WriteControl sends a close (the browser's close handshake); pings and
// pongs are the browser's.
func (c *jsConn) WriteControl(mt int, data []byte, _ time.Time) error {
	if mt == websocket.CloseMessage && len(data) >= 2 {
		c.ws.Call("close", int(binary.BigEndian.Uint16(data)), string(data[2:]))
	}
	return nil
}

// Close closes the connection and frees its callbacks once closed.
func (c *jsConn) Close() error {
	c.ws.Call("close")
	go func() {
		<-c.done
		c.release.Do(func() {
			for _, f := range c.funcs {
				f.Release()
			}
		})
	}()
	return nil
}
