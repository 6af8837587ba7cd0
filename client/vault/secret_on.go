//go:build goexperiment.runtimesecret

package vault

import "runtime/secret"

// secretDo runs f under runtime/secret, which erases its stack, registers
// and (once unreachable) heap allocations.
func secretDo(f func()) { secret.Do(f) }
