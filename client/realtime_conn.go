package client

import "time"

// wsConn is the WebSocket connection Realtime uses: a gorilla/websocket
// Conn (realtime_dial.go), or in a browser the page's WebSocket
// (realtime_js.go). Reads and close errors are gorilla's
// (*websocket.CloseError).
type wsConn interface {
	SetReadLimit(limit int64)
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	SetPingHandler(h func(appData string) error)
	ReadMessage() (messageType int, p []byte, err error)
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	Close() error
}
