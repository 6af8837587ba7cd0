// Command chusmed is the ChusMe server: identities, challenge-response
// login, tokens, identity chains and backups, a WebSocket, and the coordinator
// of FROST threshold-signing ceremonies.
//
// With no arguments it serves on :1984 with SQLite in ./data. See
// `chusmed -h` for the flags; each has a CHUSME_* environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/chusme/chusme/internal/server"
)

// atExit runs when the server has stopped (see cpuprofile.go).
var atExit = func() {}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := server.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	atExit()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chusmed:", err)
		os.Exit(1)
	}
}
