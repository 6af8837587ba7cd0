//go:build chusmeprofile

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// With the build tag chusmeprofile (set only by the ceremony scale
// benchmark, never in a release build), CHUSME_CPUPROFILE names a file
// prefix for CPU profiles of chusmed's phases, so that a benchmark can
// profile only the ceremonies it measures: SIGUSR1 starts the next profile,
// k counting from 1, and SIGUSR2 stops it, renames it to PREFIX.k and says
// so on stderr as a JSON line {"msg":"cpu profile","path":PREFIX.k}.
func init() {
	prefix := os.Getenv("CHUSME_CPUPROFILE")
	if prefix == "" {
		return
	}
	var (
		f *os.File
		k int
	)
	stop := func() {
		if f == nil {
			return
		}
		pprof.StopCPUProfile()
		err := f.Close()
		path := fmt.Sprintf("%s.%d", prefix, k)
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err == nil {
			b, _ := json.Marshal(map[string]string{"msg": "cpu profile", "path": path})
			fmt.Fprintf(os.Stderr, "%s\n", b)
		} else {
			fmt.Fprintln(os.Stderr, "chusmed: cpu profile:", err)
		}
		f = nil
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range sig {
			if s == syscall.SIGUSR2 {
				stop()
				continue
			}
			if f != nil {
				continue
			}
			k++
			var err error
			if f, err = os.Create(fmt.Sprintf("%s.%d.tmp", prefix, k)); err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "chusmed: cpu profile:", err)
				f = nil
			}
		}
		stop()
	}()
	atExit = func() {
		signal.Stop(sig)
		close(sig)
		<-done
	}
}
