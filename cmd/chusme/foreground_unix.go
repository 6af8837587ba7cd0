//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// foreground reports whether this process is in the foreground process
// group of terminal f: a shell job started with & is not, and reading from
// the terminal would stop it (SIGTTIN) while what is typed goes to the
// shell; its drawing would overwrite the prompt.
func foreground(f *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
