//go:build !goexperiment.runtimesecret

package vault

// secretDo runs f. Without GOEXPERIMENT=runtimesecret, wiping is best effort:
// callers overwrite the slices they own.
func secretDo(f func()) { f() }
