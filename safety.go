package chusme

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
)

// Safety numbers. Two people who want to be sure that each holds the
// other's real fingerprint (and not one a server, a contact book or the
// channel they exchanged them over swapped) compare one short code instead
// of two 64-digit fingerprints: the safety number of their pair, computed on
// each side from the fingerprint it has for itself and the one it has for
// the other. It is the same on both sides exactly when both hold the same
// two fingerprints.
const (
	// SafetyNumberGroups is how many groups a safety number has.
	SafetyNumberGroups = 12
	// SafetyNumberGroupDigits is how many decimal digits each group has.
	SafetyNumberGroupDigits = 5
)

// safetyNumberModulus is 10^60: a safety number is the digest modulo this.
var safetyNumberModulus = new(big.Int).Exp(big.NewInt(10), big.NewInt(SafetyNumberGroups*SafetyNumberGroupDigits), nil)

// SafetyNumber returns the safety number of the identities of fingerprints
// a and b: 60 decimal digits in 12 groups of 5, separated by single spaces
// ("01234 56789 …"). It does not depend on the order of a and b.
//
// It is SHA-256(signedMessage(LabelSafetyNumber, lower, higher)), the two
// fingerprints (their ASCII hex) in ascending order, read as an unsigned
// big-endian integer modulo 10^60 and written with leading zeros. Its ≈199
// bits hold off an attacker who substitutes fingerprints on both sides and
// searches for two that give the same number (a birthday search, ≈2^99
// hashes of fresh keys). It returns an error if a or b is not a fingerprint.
func SafetyNumber(a, b string) (string, error) {
	if !ValidFingerprint(a) || !ValidFingerprint(b) {
		return "", Errorf(CodeInvalidRequest, "a safety number needs two fingerprints (64 lowercase hex digits)")
	}
	sum := sha256.Sum256(safetyNumberMessage(a, b))
	n := new(big.Int).SetBytes(sum[:])
	digits := fmt.Sprintf("%0*d", SafetyNumberGroups*SafetyNumberGroupDigits, n.Mod(n, safetyNumberModulus))
	groups := make([]string, SafetyNumberGroups)
	for i := range groups {
		groups[i] = digits[i*SafetyNumberGroupDigits : (i+1)*SafetyNumberGroupDigits]
	}
	return strings.Join(groups, " "), nil
}

// safetyNumberMessage is what a safety number hashes: the label and the two
// fingerprints in ascending order.
func safetyNumberMessage(a, b string) []byte {
	if b < a {
		a, b = b, a
	}
	return signedMessage(LabelSafetyNumber, []byte(a), []byte(b))
}
