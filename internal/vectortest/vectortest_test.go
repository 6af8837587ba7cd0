package vectortest

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how a helper ended it.
type recorder struct {
	testing.TB
	ended string // "fatal" or "skip"
	msg   string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.ended, r.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a recorder on its own goroutine (Fatalf and Skipf end it)
// and returns how it ended.
func run(t *testing.T, fn func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

// A missing shared vector file skips the test, except in CI where it fails.
func TestSharedMissing(t *testing.T) {
	for ci, want := range map[string]string{"": "skip", "true": "fatal"} {
		t.Setenv("CI", ci)
		r := run(t, func(tb testing.TB) { Shared(tb, "no-such-vector-file.json") })
		if r.ended != want {
			t.Errorf("CI=%q: the helper ended with %q (%s), want %q", ci, r.ended, r.msg, want)
		}
	}
}

// The golden vectors file decodes, names every vector once and gives each a
// type, inputs and expected outputs.
func TestLoad(t *testing.T) {
	f := Load(t)
	seen := map[string]bool{}
	for _, v := range f.Vectors {
		if v.Name == "" || v.Type == "" || len(v.Inputs) == 0 || len(v.Expected) < 3 || seen[v.Name] {
			t.Errorf("vector %q (type %q) is incomplete or repeated", v.Name, v.Type)
		}
		seen[v.Name] = true
	}
	if len(seen) < 20 {
		t.Fatalf("only %d vectors", len(seen))
	}
}
