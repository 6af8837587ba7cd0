package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// The block cases join the suite at package initialisation.
func init() {
	tests = append(tests, []storeCase{
		{"Block/lists_sorted_and_checks", testBlockList},
		{"Block/twice_changes_nothing", testBlockTwice},
		{"Block/bounded", testBlockBounded},
		{"Unblock/unknown_not_found", testUnblockUnknown},
	}...)
}

func testBlockList(t *testing.T, s chusme.Store) {
	now := time.Now().UTC()
	for _, b := range []string{"c", "a", "b"} {
		if err := s.Block(ctx(t), "me", b, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Block(ctx(t), "other", "a", now); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListBlocked(ctx(t), "me")
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ListBlocked = %v, %v", got, err)
	}
	if got, err := s.ListBlocked(ctx(t), "nobody"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListBlocked of nobody = %#v, %v", got, err)
	}
	// Who of these participants blocks creator a: me and other, not x.
	if got, err := s.Blocking(ctx(t), "a", []string{"x", "other", "me"}); err != nil || !slices.Equal(got, []string{"me", "other"}) {
		t.Fatalf("Blocking = %v, %v", got, err)
	}
	if err := s.Unblock(ctx(t), "me", "a"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Blocking(ctx(t), "a", []string{"me", "other"}); err != nil || !slices.Equal(got, []string{"other"}) {
		t.Fatalf("Blocking after Unblock = %v, %v", got, err)
	}
}

func testBlockTwice(t *testing.T, s chusme.Store) {
	for range 2 {
		if err := s.Block(ctx(t), "me", "a", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ListBlocked(ctx(t), "me"); err != nil || !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ListBlocked = %v, %v", got, err)
	}
}

func testBlockBounded(t *testing.T, s chusme.Store) {
	for i := range chusme.MaxBlocks {
		if err := s.Block(ctx(t), "me", fmt.Sprintf("%04d", i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Block(ctx(t), "me", "one more", time.Now()); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
		t.Fatalf("block %d + 1: %v", chusme.MaxBlocks, err)
	}
	// One already blocked is no new block: still fine at the bound.
	if err := s.Block(ctx(t), "me", "0000", time.Now()); err != nil {
		t.Fatalf("blocking again at the bound: %v", err)
	}
}

func testUnblockUnknown(t *testing.T, s chusme.Store) {
	if err := s.Unblock(ctx(t), "me", "a"); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Fatalf("Unblock of no block: %v", err)
	}
}
