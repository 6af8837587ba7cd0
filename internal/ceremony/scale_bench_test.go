package ceremony_test

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/servertest"
)

// The ceremony scale benchmark (docs/performance-ceremonies.md): whole DKG
// and signing ceremonies of t-of-n for growing n, the server's CPU time per
// ceremony measured on the server alone. The server is chusmed, built from
// cmd/chusmed and run as a child process on SQLite; its user+system time
// comes from /proc/PID/stat before and after the ceremonies of one size.
// The clients are real client.Clients in this process, over loopback HTTP,
// each with its realtime WebSocket open, as production clients have: the
// drivers follow pushed events instead of long-polling. Each size first runs
// one DKG that is not measured, so that the clients have verified and
// pinned each other's chains, as the members of a group that works together
// have (a client fetches a peer's chain at most once a minute).
//
//	CHUSME_CEREMONY_BENCH=1 go test ./internal/ceremony/ -run '^TestCeremonyScaleBench$' -v -count=1 -timeout 30m
//
// CHUSME_CEREMONY_BENCH_SIZES lists the sizes as t-of-n (default
// "2-of-3,7-of-10,43-of-64,67-of-100"; up to 255 participants, e.g.
// "170-of-255"). CHUSME_CEREMONY_BENCH_CPUPROFILE=PREFIX writes CPU
// profiles of chusmed over the measured ceremonies of each size,
// PREFIX.T-of-N.dkg and PREFIX.T-of-N.sign (chusmed is then built with the
// tag chusmeprofile; see cmd/chusmed/cpuprofile.go).
// Each client has its own HTTP connections, as separate devices have. The
// clients reach the server through a tap that counts what it sends, and
// each DKG size also logs, per DKG, the WebSocket frames and bytes, the
// HTTP response bytes and the HTTP requests of the busiest routes.

// scaleIdle is how long the benchmark measures the server idle.
const scaleIdle = 20 * time.Second

// scaleSize is one size of the benchmark and how many ceremonies of each
// kind it runs.
type scaleSize struct {
	t, n       int
	dkgs, sigs int
}

// scaleSizes reads CHUSME_CEREMONY_BENCH_SIZES.
func scaleSizes(t *testing.T) []scaleSize {
	spec := os.Getenv("CHUSME_CEREMONY_BENCH_SIZES")
	if spec == "" {
		spec = "2-of-3,7-of-10,43-of-64,67-of-100"
	}
	var out []scaleSize
	for _, s := range strings.Split(spec, ",") {
		ts, ns, ok := strings.Cut(s, "-of-")
		th, err1 := strconv.Atoi(ts)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil || th < 2 || th > n {
			t.Fatalf("CHUSME_CEREMONY_BENCH_SIZES: %q is not t-of-n", s)
		}
		if n > chusme.MaxCeremonyParticipants {
			t.Fatalf("CHUSME_CEREMONY_BENCH_SIZES: %q has more than %d participants", s, chusme.MaxCeremonyParticipants)
		}
		// Enough ceremonies that the server's CPU time (in clock ticks of
		// 10 ms) is measured to a few per cent; past 100 participants (up
		// to 170-of-255) one DKG after the warm-up and two signings,
		// whose seconds of server CPU are measured well enough, since a
		// DKG of 255 takes minutes on a shared machine.
		sz := scaleSize{t: th, n: n, dkgs: max(3, 300/n), sigs: max(5, 300/n)}
		if n > 100 {
			sz.dkgs, sz.sigs = 1, 2
		}
		out = append(out, sz)
	}
	return out
}

// child is a chusmed process.
type child struct {
	cmd      *exec.Cmd
	url      string
	addr     string // host:port
	dir      string
	profile  string      // the profile prefix, or ""
	profiles chan string // the profiles chusmed has written
}

// startChusmed builds cmd/chusmed and runs it on 127.0.0.1:0 with SQLite
// in a new directory, registration open and rate limits off.
func startChusmed(t *testing.T) *child {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "chusmed")
	profile := os.Getenv("CHUSME_CEREMONY_BENCH_CPUPROFILE")
	build := []string{"build", "-o", bin}
	if profile != "" {
		build = append(build, "-tags", "chusmeprofile")
	}
	if out, err := exec.Command("go", append(build, "github.com/chusme/chusme/cmd/chusmed")...).CombinedOutput(); err != nil {
		t.Fatalf("go build chusmed: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	// Rounds of 30 minutes (the scheduler scans every second either way):
	// a round of 255 participants sharing 2 cores can outlast the default 5.
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", data, "--registration", "open", "--ceremony-round-timeout", "30m",
		"--rate-ip", "0", "--rate-auth", "0", "--rate-identity", "0",
		"--rate-ceremony-create", "0", "--rate-ceremony-submit", "0", "--rate-blob", "0", "--rate-totp", "0")
	if profile != "" {
		cmd.Env = append(os.Environ(), "CHUSME_CPUPROFILE="+profile)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	addr := make(chan string, 1)
	profiles := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			var rec struct{ Msg, Addr, Path string }
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch {
			case !sent && rec.Msg == "listening":
				addr <- rec.Addr
				sent = true
			case rec.Msg == "cpu profile":
				profiles <- rec.Path
			}
		}
	}()
	select {
	case a := <-addr:
		return &child{cmd: cmd, url: "http://" + a, addr: a, dir: data, profile: profile, profiles: profiles}
	case <-time.After(30 * time.Second):
		t.Fatal("chusmed did not start")
		return nil
	}
}

// startProfile starts a CPU profile of chusmed, if the benchmark asked for
// them.
func (c *child) startProfile(t *testing.T) {
	if c.profile != "" {
		if err := c.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
}

// stopProfile stops the profile startProfile started and names it
// PREFIX.name.
func (c *child) stopProfile(t *testing.T, name string) {
	if c.profile == "" {
		return
	}
	if err := c.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case path := <-c.profiles:
		if err := os.Rename(path, c.profile+"."+name); err != nil {
			t.Fatal(err)
		}
		t.Logf("  CPU profile %s.%s", c.profile, name)
	case <-time.After(time.Minute):
		t.Fatal("chusmed wrote no CPU profile")
	}
}

// cpu returns the process's user+system CPU time so far.
func (c *child) cpu(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15 (proc(5)), in clock ticks of 10 ms.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", c.cmd.Process.Pid, b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func TestCeremonyScaleBench(t *testing.T) {
	if os.Getenv("CHUSME_CEREMONY_BENCH") != "1" {
		t.Skip("the ceremony scale benchmark: set CHUSME_CEREMONY_BENCH=1")
	}
	sizes := scaleSizes(t)
	most := 0
	for _, s := range sizes {
		most = max(most, s.n)
	}
	srv := startChusmed(t)
	token, err := os.ReadFile(filepath.Join(srv.dir, server.SetupTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	tp := startTap(t, srv.addr)
	ms := make([]*member, most)
	for i := range ms {
		// Each client its own connections, as each device has: on one
		// shared transport (2 idle connections kept per host), most of a
		// round's n requests at once opened and closed a connection.
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		ms[i] = servertest.NewMember(t, tp.url, nil, client.WithIssuer(srv.url), client.WithHTTPClient(hc))
		if i == 0 {
			ms[i].Setup(t, strings.TrimSpace(string(token)))
		} else {
			ms[i].Register(t, "")
		}
	}
	p := &party{t: t, members: ms}
	p.connect(ms)
	// What the open connections cost the server with no ceremony running
	// (pings, each with its session check, timers, the scheduler's scans):
	// a cost per second of wall time, which the ceremonies below carry
	// too, the more the longer they take.
	before, idle := srv.cpu(t), time.Now()
	time.Sleep(scaleIdle)
	t.Logf("idle with %d WebSockets open: %.2f ms of server CPU per second", len(ms),
		ms1(srv.cpu(t)-before)/time.Since(idle).Seconds())
	t.Logf("| ceremony | n | runs | p50 wall | server CPU per ceremony | per participant |")
	t.Logf("|---|---:|---:|---:|---:|---:|")
	for _, sz := range sizes {
		group := ms[:sz.n]
		var walls []time.Duration
		res := servertest.DKG(t, group, sz.t) // the warm-up
		sent, reqs := tp.counts(), requestCounts(t, srv.url)
		name := fmt.Sprintf("%d-of-%d", sz.t, sz.n)
		srv.startProfile(t)
		before := srv.cpu(t)
		for range sz.dkgs {
			start := time.Now()
			res = servertest.DKG(t, group, sz.t)
			walls = append(walls, time.Since(start))
		}
		cpu := (srv.cpu(t) - before) / time.Duration(sz.dkgs)
		srv.stopProfile(t, name+".dkg")
		sent = tp.counts().minus(sent)
		t.Logf("| %d-of-%d DKG | %d | %d | %.1f ms | %.1f ms | %.3f ms |", sz.t, sz.n, sz.n, sz.dkgs, p50(walls),
			ms1(cpu), ms1(cpu)/float64(sz.n))
		d := int64(sz.dkgs)
		t.Logf("  per %d-of-%d DKG: %d WebSocket frames, %d KB; HTTP responses %d KB; requests %s", sz.t, sz.n,
			sent.wsFrames/d, sent.wsBytes/d>>10, sent.apiBytes/d>>10, busiest(reqs, requestCounts(t, srv.url), d))
		signers := make([]int, sz.t)
		for i := range signers {
			signers[i] = i
		}
		walls = walls[:0]
		srv.startProfile(t)
		before = srv.cpu(t)
		for k := range sz.sigs {
			start := time.Now()
			servertest.Sign(t, group[0], group, res, signers, []byte("scale benchmark "+strconv.Itoa(k)))
			walls = append(walls, time.Since(start))
		}
		cpu = (srv.cpu(t) - before) / time.Duration(sz.sigs)
		srv.stopProfile(t, name+".sign")
		t.Logf("| %d-of-%d signing | %d | %d | %.1f ms | %.1f ms | %.3f ms |", sz.t, sz.n, sz.t, sz.sigs, p50(walls),
			ms1(cpu), ms1(cpu)/float64(sz.t))
	}
}

// busiest formats the five routes with the most requests between two
// readings of requestCounts, per ceremony of runs.
func busiest(before, after map[string]int64, runs int64) string {
	type route struct {
		name string
		n    int64
	}
	var rs []route
	for k, v := range after {
		if v-before[k] >= runs {
			rs = append(rs, route{k, v - before[k]})
		}
	}
	slices.SortFunc(rs, func(a, b route) int { return cmp.Compare(b.n, a.n) })
	var parts []string
	for _, r := range rs[:min(5, len(rs))] {
		parts = append(parts, fmt.Sprintf("%s %d", r.name, r.n/runs))
	}
	return strings.Join(parts, ", ")
}

// ms1 is d in milliseconds.
func ms1(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
