package ceremony_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chusme/chusme/internal/testkit"
)

// tap is a loopback TCP proxy in front of chusmed that counts what the
// server sends: WebSocket frames and their bytes on the realtime
// connections (those that open with GET /v1/ws?), and every byte on the
// others (HTTP responses). The scale benchmark puts it between the
// clients and the server to say how much of the server's work is output.
type tap struct {
	url                        string
	wsFrames, wsBytes, apiByte atomic.Int64
}

// tapCounts is a reading of a tap's counters.
type tapCounts struct{ wsFrames, wsBytes, apiBytes int64 }

func (tp *tap) counts() tapCounts {
	return tapCounts{tp.wsFrames.Load(), tp.wsBytes.Load(), tp.apiByte.Load()}
}

func (a tapCounts) minus(b tapCounts) tapCounts {
	return tapCounts{a.wsFrames - b.wsFrames, a.wsBytes - b.wsBytes, a.apiBytes - b.apiBytes}
}

// startTap listens on 127.0.0.1:0 and forwards to addr (host:port).
func startTap(t *testing.T, addr string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tp := &tap{url: "http://" + ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go tp.serve(c, addr)
		}
	}()
	return tp
}

func (tp *tap) serve(c net.Conn, addr string) {
	defer c.Close()
	s, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer s.Close()
	in := bufio.NewReader(c)
	first, err := in.Peek(len("GET /v1/ws?"))
	if err != nil {
		return
	}
	ws := string(first) == "GET /v1/ws?"
	go func() {
		io.Copy(s, in)
		s.Close()
	}()
	if !ws {
		io.Copy(counting{c, &tp.apiByte}, s) // as it goes: a kept-alive connection lasts the run
		return
	}
	out := bufio.NewReader(s)
	// The handshake's response, up to its blank line, then frames: a
	// server's frames are unmasked, with a 7-, 16- or 64-bit length.
	for {
		line, err := out.ReadSlice('\n')
		if _, werr := c.Write(line); err != nil || werr != nil {
			return
		}
		if bytes.Equal(line, []byte("\r\n")) {
			break
		}
	}
	for {
		hdr := make([]byte, 2, 10)
		if _, err := io.ReadFull(out, hdr); err != nil {
			return
		}
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			hdr = hdr[:4]
			if _, err := io.ReadFull(out, hdr[2:]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(hdr[2:]))
		case 127:
			hdr = hdr[:10]
			if _, err := io.ReadFull(out, hdr[2:]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(hdr[2:])
		}
		if _, err := c.Write(hdr); err != nil {
			return
		}
		if _, err := io.CopyN(c, out, int64(n)); err != nil {
			return
		}
		tp.wsFrames.Add(1)
		tp.wsBytes.Add(int64(len(hdr)) + int64(n))
	}
}

// counting is a writer that counts what it writes.
type counting struct {
	w io.Writer
	n *atomic.Int64
}

// Write writes p to the underlying writer and counts the bytes written.
func (c counting) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// requestCounts reads chusme_http_requests_total from the server's
// /metrics, summed over method and status, by route pattern.
func requestCounts(t *testing.T, url string) map[string]int64 {
	t.Helper()
	r := testkit.Do(t, "GET", url+"/metrics", "", nil)
	r.Want(t, 200, nil)
	out := map[string]int64{}
	for _, m := range requestLine.FindAllSubmatch(r.Body, -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			t.Fatalf("/metrics: %q", m[0])
		}
		out[string(m[1])] += int64(v)
	}
	return out
}

var requestLine = regexp.MustCompile(`(?m)^chusme_http_requests_total\{[^}]*route="([^"]*)"[^}]*\} (\S+)$`)
