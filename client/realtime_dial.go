//go:build !(js && wasm)

package client

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// dialWS opens the WebSocket at url with gorilla/websocket.
func dialWS(ctx context.Context, url string, h http.Header) (wsConn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10, Proxy: http.ProxyFromEnvironment}
	ws, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		return nil, resp, err
	}
	return ws, resp, nil
}
