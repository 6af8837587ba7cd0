package main

import (
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

func TestMatchPrefix(t *testing.T) {
	ids := []string{"aaaa1111", "aaaa2222", "bbbb3333"}
	if got, err := matchPrefix("ceremony ID", "bbbb", ids); err != nil || got != "bbbb3333" {
		t.Fatalf("one match: %q, %v", got, err)
	}
	_, err := matchPrefix("ceremony ID", "aaaa", ids)
	if chusme.ErrorCode(err) != codeAmbiguousID || !strings.Contains(err.Error(), "aaaa1111") || !strings.Contains(err.Error(), "aaaa2222") {
		t.Fatalf("two matches: %v", err)
	}
	if _, err := matchPrefix("key id", "cccc", ids); chusme.ErrorCode(err) != codeUnknownID || !strings.Contains(err.Error(), "no key starts with cccc") {
		t.Fatalf("no match: %v", err)
	}
	for _, s := range []string{"abc", "ABCDEF12", "abcdefgh", strings.Repeat("a", 32)} {
		if isHexPrefix(s, 32) {
			t.Errorf("%q taken for a prefix of a 32-digit id", s)
		}
	}
}
