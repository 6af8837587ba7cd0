//go:build chusmeprofile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// With the build tag chusmeprofile (set only by the ceremony scale
// benchmark, never in a release build), CHUSME_CPUPROFILE names a file that
// chusmed writes a CPU profile to, from start to exit.
func init() {
	path := os.Getenv("CHUSME_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chusmed: cpu profile:", err)
		os.Exit(1)
	}
	atExit = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
