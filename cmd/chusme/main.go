// Command chusme is the command-line client of a ChusMe server: it creates
// an identity key sealed under a passphrase, registers it, logs in and keeps
// the session in the config directory, and runs the administrator's
// commands. It is a thin shell over package client; run "chusme help".
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// run has reported the error already.
		os.Exit(1)
	}
}
