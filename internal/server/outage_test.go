package server_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// pgCluster is a PostgreSQL cluster of one test's own, on a free loopback
// port, which the test may stop and start (the shared one of
// CHUSME_TEST_POSTGRES is other tests').
type pgCluster struct {
	t    *testing.T
	bin  string // the directory of initdb and pg_ctl
	dir  string // the cluster's directory: data/, postgres.log, the socket
	port int
	DSN  string
}

// pgBinDir finds the PostgreSQL server binaries as scripts/pg-test-cluster.sh
// does: pg_config's, the newest /usr/lib/postgresql/*/bin, or initdb's
// directory on PATH; "" if there are none.
func pgBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); fileExists(filepath.Join(d, "initdb")) {
			return d
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if fileExists(filepath.Join(dirs[i], "initdb")) {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// pgVersion is the major version in /usr/lib/postgresql/VERSION/bin.
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// startCluster makes and starts a cluster in a new temporary directory
// (trust authentication, no fsync), stopped and deleted when the
// test ends. Without PostgreSQL's binaries it skips, saying why, or fails
// when CI=true. PostgreSQL refuses to run as root: as root the cluster runs
// as the postgres user.
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		msg := "no PostgreSQL server binaries (initdb, pg_ctl): install them with apt-get install -y postgresql"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "chusme-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &pgCluster{t: t, bin: bin, dir: dir}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, but there is no postgres user to run the cluster as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	// Commits stay synchronous: an immediate stop is a crash, which would
	// lose the commits of an asynchronous one although their clients were
	// told they committed. The file system survives, so fsync may be off.
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 300\nfsync = off\nfull_page_writes = off\n", dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.Start()
	t.Cleanup(func() { c.cmd("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop").Run() })
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// cmd is one of the cluster's binaries with args, run as postgres when we
// are root.
func (c *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	if os.Getuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, name)}, args...)...)
	}
	return exec.Command(filepath.Join(c.bin, name), args...)
}

// run runs cmd(name, args), failing the test (with its output) if it fails.
func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.cmd(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		c.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

// Start starts the cluster and waits until it accepts connections.
func (c *pgCluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "30", "-o", "-p "+strconv.Itoa(c.port), "start")
}

// Stop stops the cluster at once, as a crash would: every connection is
// cut (pg_ctl stop -m immediate).
func (c *pgCluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
}

// TestPostgresOutageDuringCeremonies: 40 concurrent 2-of-3 ceremonies (20
// DKGs, 20 signings; one participant over HTTP, one with the ceremony API
// over the WebSocket, one long-polling and waiting on the WebSocket's
// events) all complete although PostgreSQL is stopped with
// pg_ctl stop -m immediate while they run and started again 2 s later.
// While it is down, a request that needs the store answers 503 with code
// unavailable and Retry-After: 1, the WebSocket's ceremony requests an
// Error unavailable with retry_after_seconds 1, and /readyz 503.
func TestPostgresOutageDuringCeremonies(t *testing.T) {
	pg := startCluster(t)
	srv := servertest.Start(t, "--registration", "open", "--database", pg.DSN, "--ceremony-open-max", "100", "--ceremony-round-timeout", "1m")
	ctx := t.Context()
	ms := srv.Members(t, 3)
	keys := servertest.DKG(t, ms, 2)
	// Member 0 speaks HTTP only; member 1 sends its ceremony requests over
	// the WebSocket; member 2 long-polls over HTTP and waits on its events.
	for i, opts := range map[int]client.RealtimeOptions{1: {CeremonyAPI: true}, 2: {}} {
		rt := ms[i].Client.Realtime(ctx, opts)
		defer rt.Close()
	}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws?token="+ms[1].Access(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	const n = 40                  // ceremonies, half DKGs of 3, half signings by 2
	const drivers = n/2*3 + n/2*2 // one per participant and ceremony
	infos := make([]chusme.CeremonyInfo, n)
	for i := range infos {
		if i%2 == 0 {
			infos[i], err = ms[0].Client.StartDKG(ctx, ms[0].Key, 2, servertest.Fingerprints(ms))
		} else {
			infos[i], err = ms[0].Client.StartSign(ctx, ms[0].Key, keys[0].KeyID, []byte("outage "+strconv.Itoa(i)), []string{ms[0].Fingerprint, ms[1].Fingerprint})
		}
		if err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
	}
	// The outage starts once the drivers have seen 60 new states, so that
	// it finds ceremonies in every round.
	progressed := make(chan struct{})
	var states atomic.Int32
	progress := func(chusme.CeremonyInfo) {
		if states.Add(1) == 60 {
			close(progressed)
		}
	}
	var wg sync.WaitGroup
	var finished atomic.Int32 // drivers that have returned
	errs := make(chan error, drivers)
	start := time.Now()
	for i, info := range infos {
		for j, m := range ms {
			switch {
			case info.Kind == chusme.KindDKG:
				wg.Go(func() {
					defer finished.Add(1)
					res, err := m.Client.RunDKG(ctx, info.ID, m.Key, progress)
					if err == nil {
						res.KeyPackage.Zero()
					}
					if err != nil {
						errs <- fmt.Errorf("ceremony %d (dkg), member %d: %w", i, j, err)
					}
				})
			case j < 2:
				wg.Go(func() {
					defer finished.Add(1)
					if _, err := m.Client.RunSign(ctx, info.ID, m.Key, keys[j].KeyID, keys[j].KeyPackage, servertest.ApproveAll, progress); err != nil {
						errs <- fmt.Errorf("ceremony %d (sign), member %d: %w", i, j, err)
					}
				})
			}
		}
	}

	select {
	case <-progressed:
	case err := <-errs:
		t.Fatalf("before any progress: %v", err)
	}
	pg.Stop()
	down := time.Now()
	stopped := finished.Load()
	if stopped >= drivers {
		t.Fatalf("all %d drivers had finished before the outage", drivers)
	}
	r := testkit.Do(t, "GET", srv.URL+"/v1/ceremonies/"+infos[0].ID, ms[0].Access(t), nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" || r.Problem(t).Code != chusme.CodeUnavailable {
		t.Errorf("GET a ceremony while the store is down: %d, Retry-After %q: %s; want 503 unavailable, Retry-After 1", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	list, _ := proto.Marshal(&chusmev1.Envelope{RequestId: 7, Payload: &chusmev1.Envelope_ListCeremoniesRequest{ListCeremoniesRequest: &chusmev1.ListCeremoniesRequest{}}})
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	if err := ws.WriteMessage(websocket.BinaryMessage, list); err != nil {
		t.Fatal(err)
	}
	var ans chusmev1.Envelope
	for ans.GetRequestId() != 7 { // pushed events may come first
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		ans.Reset()
		if err := proto.Unmarshal(b, &ans); err != nil {
			t.Fatal(err)
		}
	}
	if e := ans.GetError(); e.GetCode() != chusme.CodeUnavailable || e.GetRetryAfterSeconds() != 1 {
		t.Errorf("a WebSocket ceremony request while the store is down: %v, want an Error unavailable, retry after 1 s", &ans)
	}
	r = testkit.Do(t, "GET", srv.URL+"/readyz", "", nil)
	var ready struct{ Status string }
	if r.Status != http.StatusServiceUnavailable || json.Unmarshal(r.Body, &ready) != nil || ready.Status != "store unreachable" {
		t.Errorf("/readyz while the store is down: %d %s, want 503 store unreachable", r.Status, r.Body)
	}
	time.Sleep(time.Until(down.Add(2 * time.Second))) // the outage's length, not a synchronisation
	pg.Start()
	t.Logf("PostgreSQL down from %v to %v after the drivers started, when %d of %d had finished", down.Sub(start).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), stopped, drivers)

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, info := range infos {
		got, err := ms[0].Client.Ceremony(ctx, info.ID)
		if err != nil || got.Status != chusme.CeremonyCompleted {
			t.Errorf("ceremony %d (%s): %s, %v; want completed", i, info.Kind, got.Status, err)
		}
	}
	if r := testkit.Do(t, "GET", srv.URL+"/readyz", "", nil); r.Status != http.StatusOK {
		t.Errorf("/readyz after the restart: %d %s", r.Status, r.Body)
	}
	t.Logf("%d ceremonies completed in %v", n, time.Since(start).Round(time.Millisecond))
}
