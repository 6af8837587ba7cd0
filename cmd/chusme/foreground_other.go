//go:build !unix

package main

import "os"

// foreground reports whether this process owns terminal f: on systems
// without job control, always.
func foreground(*os.File) bool { return true }
