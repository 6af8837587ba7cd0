package ceremony_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// The server stops in the middle of a DKG and starts again on the same data
// directory and address: the drivers that were waiting reconnect, the last
// participant joins, and the ceremony completes.
func TestCeremonySurvivesRestart(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	ctx := t.Context()
	info, err := ms[0].Client.StartDKG(ctx, ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, m := range ms[:2] {
		wg.Go(func() { _, errs[i] = m.Client.RunDKG(ctx, info.ID, m.Key, nil) })
	}
	cur := info
	for len(cur.Submitted) < 2 {
		if cur, err = ms[0].Client.WaitCeremony(ctx, info.ID, cur.Version); err != nil {
			t.Fatal(err)
		}
	}
	p.srv.Stop(t)
	addr := strings.TrimPrefix(p.srv.URL, "http://")
	p.srv = servertest.StartIn(t, p.srv.DataDir, "--registration", "open", "--listen", addr)
	wg.Go(func() { _, errs[2] = ms[2].Client.RunDKG(ctx, info.ID, ms[2].Key, nil) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: %v", i, err)
		}
	}
	if got := waitStatus(t, ms[0], info.ID); got.Status != chusme.CeremonyCompleted {
		t.Fatalf("after restart: %+v", got)
	}
}

// Twenty signing ceremonies run at once on one key (and the race detector
// watches when enabled).
func TestConcurrentCeremonies(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	gk, err := ms[0].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make(chan error, n*2)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			ctx := t.Context()
			msg := []byte(fmt.Sprintf("concurrent %d", k))
			signers := []int{k % 3, (k + 1) % 3}
			slices.Sort(signers)
			info, err := ms[signers[0]].Client.StartSign(ctx, ms[signers[0]].Key, res[0].KeyID, msg, []string{ms[signers[0]].Fingerprint, ms[signers[1]].Fingerprint})
			if err != nil {
				errs <- err
				return
			}
			var inner sync.WaitGroup
			for _, i := range signers {
				inner.Go(func() {
					sig, err := ms[i].Client.RunSign(ctx, info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, servertest.ApproveAll, nil)
					if err == nil && !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
						err = fmt.Errorf("ceremony %d: bad signature", k)
					}
					if err != nil {
						errs <- err
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// p50 returns the median of ds in milliseconds.
func p50(ds []time.Duration) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}

// BenchmarkDKG3of5 measures a whole 3-of-5 DKG over loopback HTTP: five
// clients, the real server, SQLite.
func BenchmarkDKG3of5(b *testing.B) {
	p := newParty(b, 5)
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		servertest.DKG(p.t, p.members, 3)
		ds = append(ds, time.Since(start))
	}
	b.ReportMetric(p50(ds), "ms-p50")
}

// BenchmarkRefresh3of5 measures whole refreshes of a 3-of-5 key by its
// five holders over loopback HTTP, each refreshing the shares the one
// before made.
func BenchmarkRefresh3of5(b *testing.B) {
	p := newParty(b, 5)
	res := servertest.DKG(p.t, p.members, 3)
	all := []int{0, 1, 2, 3, 4}
	var ds []time.Duration
	for generation := 1; b.Loop(); generation++ {
		start := time.Now()
		res = refresh(p.t, p.members, res, generation, all...)
		ds = append(ds, time.Since(start))
	}
	b.ReportMetric(p50(ds), "ms-p50")
}

// BenchmarkReshare3of5 measures whole reshares of a 3-of-5 key by its five
// holders to the same five, each on the shares the one before made.
func BenchmarkReshare3of5(b *testing.B) {
	p := newParty(b, 5)
	res := servertest.DKG(p.t, p.members, 3)
	var ds []time.Duration
	for generation := 1; b.Loop(); generation++ {
		start := time.Now()
		res = reshare(p.t, p.members, res, generation, 3, 0, 1, 2, 3, 4)
		ds = append(ds, time.Since(start))
	}
	b.ReportMetric(p50(ds), "ms-p50")
}

// BenchmarkRepair3of5 measures whole repairs of one holder's share of a
// 3-of-5 key by three helpers.
func BenchmarkRepair3of5(b *testing.B) {
	p := newParty(b, 5)
	res := servertest.DKG(p.t, p.members, 3)
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		repair(p.t, p.members, res, 4, 0, 1, 2)
		ds = append(ds, time.Since(start))
	}
	b.ReportMetric(p50(ds), "ms-p50")
}

// BenchmarkSign3of5 measures signing ceremonies of a 3-of-5 key by three
// signers, one after the other (latency), and then with many at once
// (throughput, ceremonies per second). Every member is connected over the
// WebSocket, as production clients are, so the drivers follow pushed events.
func BenchmarkSign3of5(b *testing.B) {
	p := newParty(b, 5)
	res := servertest.DKG(p.t, p.members, 3)
	p.connect(p.members)
	b.Run("latency", func(b *testing.B) {
		var ds []time.Duration
		for b.Loop() {
			start := time.Now()
			servertest.Sign(p.t, p.members[0], p.members, res, []int{0, 1, 2}, []byte("benchmark"))
			ds = append(ds, time.Since(start))
		}
		b.ReportMetric(p50(ds), "ms-p50")
	})
	b.Run("throughput", func(b *testing.B) {
		// The benchmark's drivers stand for 8×GOMAXPROCS×3 participants,
		// each with a client of its own; sharing one process, they share
		// http.DefaultTransport, whose 2 idle connections per host would
		// have them dial and close a TCP connection for most requests. Give
		// the shared pool room for them all, as separate clients would have.
		tr := http.DefaultTransport.(*http.Transport)
		defer func(n int) { tr.MaxIdleConnsPerHost = n }(tr.MaxIdleConnsPerHost)
		tr.MaxIdleConnsPerHost = 8 * runtime.GOMAXPROCS(0) * 3
		start := time.Now()
		var count int
		var mu sync.Mutex
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				servertest.Sign(p.t, p.members[0], p.members, res, []int{0, 2, 4}, []byte("throughput"))
				mu.Lock()
				count++
				mu.Unlock()
			}
		})
		b.ReportMetric(float64(count)/time.Since(start).Seconds(), "ceremonies/s")
	})
}
