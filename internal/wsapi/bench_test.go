package wsapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chusme/chusme/internal/wsapi"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// The realtime benchmark (docs/performance-realtime.md): N idle WebSockets
// to one server process over loopback — the server's resident memory per
// connection — then the time to deliver a 100-byte event to all N, to the
// last receipt. The server runs in a child process (this test binary,
// TestWSBenchServerChild), so its memory is measured alone; this process is
// the clients. Bounded: N connections, a few rounds, then both end.
//
//	CHUSME_WS_BENCH=1 go test ./internal/wsapi/ -run '^TestWSBench$' -v -count=1 -timeout 10m
//
// CHUSME_WS_BENCH_CONNS sets N (default 10000).

// raiseFDLimit lifts the soft open-file limit to the hard one.
func raiseFDLimit(t testing.TB) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	return l.Cur
}

// benchStats is what the child reports after a GC.
type benchStats struct {
	RSSKiB      int64  `json:"rss_kib"`
	HeapInuse   uint64 `json:"heap_inuse"`
	StackInuse  uint64 `json:"stack_inuse"`
	Goroutines  int    `json:"goroutines"`
	Connections int    `json:"connections"`
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// TestWSBenchServerChild is the benchmark's server process.
func TestWSBenchServerChild(t *testing.T) {
	if os.Getenv("CHUSME_WS_BENCH_CHILD") != "1" {
		t.Skip("the realtime benchmark's server process")
	}
	raiseFDLimit(t)
	// TokenAuth: the benchmark measures the transport, not the store.
	s := wsapi.New(wsapi.Config{Name: "chusme"}, wsapi.TokenAuth{}, nil, nil, slog.New(slog.DiscardHandler))
	var fps []string
	var fpMu sync.Mutex
	mux := http.NewServeMux()
	mux.Handle("GET /ws", s)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(benchStats{RSSKiB: rssKiB(), HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse,
			Goroutines: runtime.NumGoroutine(), Connections: s.Connections()})
	})
	mux.HandleFunc("GET /heap", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		pprof.WriteHeapProfile(w)
	})
	mux.HandleFunc("POST /fps", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		fpMu.Lock()
		fps = fps[:0]
		for i := range n {
			fps = append(fps, "c"+strconv.Itoa(i))
		}
		fpMu.Unlock()
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		payload := make([]byte, 100-16) // a 100-byte Envelope with the framing below
		fpMu.Lock()
		defer fpMu.Unlock()
		t0 := time.Now()
		s.Broadcast(&chusmev1.Envelope{Payload: &chusmev1.Envelope_Error{Error: &chusmev1.Error{Code: "bench", Message: string(payload[:len(payload)-9])}}}, fps...)
		fmt.Fprint(w, time.Since(t0).Nanoseconds())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	go http.Serve(ln, mux)
	io.Copy(io.Discard, os.Stdin) // until the parent closes our stdin
}

func TestWSBench(t *testing.T) {
	if os.Getenv("CHUSME_WS_BENCH") != "1" {
		t.Skip("set CHUSME_WS_BENCH=1 to run the realtime benchmark")
	}
	n := 10000
	if v := os.Getenv("CHUSME_WS_BENCH_CONNS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	if lim := raiseFDLimit(t); lim < uint64(n)+100 {
		t.Fatalf("open-file limit %d is below %d connections", lim, n)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestWSBenchServerChild$", "-test.timeout=0")
	child.Env = append(os.Environ(), "CHUSME_WS_BENCH_CHILD=1")
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	base := "http://" + addr
	stats := func() benchStats {
		resp, err := http.Get(base + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st benchStats
		json.NewDecoder(resp.Body).Decode(&st)
		return st
	}
	before := stats()

	// N clients, each its own identity, each with a reader goroutine that
	// counts receipts of the broadcast.
	var got atomic.Int64
	var last atomic.Int64 // UnixNano of the latest receipt
	round := make(chan struct{})
	conns := make([]*websocket.Conn, n)
	d := &websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512, HandshakeTimeout: 30 * time.Second}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var dialErr atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, _, err := d.Dial("ws://"+addr+"/ws?token=c"+strconv.Itoa(i), nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			conns[i] = ws
			go func() {
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
					last.Store(time.Now().UnixNano())
					if got.Add(1) == int64(n) {
						round <- struct{}{}
					}
				}
			}()
		})
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Logf("%d connections opened in %v", n, time.Since(start).Round(time.Millisecond))
	for stats().Connections < n {
		time.Sleep(50 * time.Millisecond) // the child accepts asynchronously; this is a bounded wait for a count, not a synchronisation of events
	}
	after := stats()
	perConn := float64(after.RSSKiB-before.RSSKiB) * 1024 / float64(n)
	t.Logf("server RSS %d KiB → %d KiB: %.0f bytes per idle connection (heap in use %d → %d, stacks %d → %d, goroutines %d → %d)",
		before.RSSKiB, after.RSSKiB, perConn, before.HeapInuse, after.HeapInuse, before.StackInuse, after.StackInuse, before.Goroutines, after.Goroutines)

	if p := os.Getenv("CHUSME_WS_BENCH_HEAP"); p != "" {
		resp, err := http.Get(base + "/heap")
		if err == nil {
			f, _ := os.Create(p)
			io.Copy(f, resp.Body)
			f.Close()
			resp.Body.Close()
		}
	}
	http.Post(base+"/fps?n="+strconv.Itoa(n), "", nil)
	var lat, enq []time.Duration // to the last receipt; the server's encode + enqueue
	for r := range 7 {
		got.Store(0)
		t0 := time.Now()
		resp, err := http.Post(base+"/broadcast", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ns, _ := strconv.ParseInt(string(b), 10, 64)
		enq = append(enq, time.Duration(ns))
		select {
		case <-round:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: %d of %d received", r, got.Load(), n)
		}
		lat = append(lat, time.Unix(0, last.Load()).Sub(t0))
	}
	slices.Sort(lat)
	slices.Sort(enq)
	t.Logf("server side: encoding, framing and queueing the event for %d connections: median %v", n, enq[len(enq)/2].Round(time.Microsecond))
	t.Logf("fan-out of a 100-byte event to %d connections, to the last receipt: min %v, median %v, max %v (7 rounds)",
		n, lat[0].Round(time.Microsecond), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	for _, ws := range conns {
		ws.Close()
	}
}
