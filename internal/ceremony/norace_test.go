//go:build !race

package ceremony_test

// raceEnabled reports whether the race detector is on: it makes the
// participants' FROST work several times slower.
const raceEnabled = false
