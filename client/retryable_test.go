package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// TestRetryable: what the drivers retry, and after how long the server
// asked.
func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		after time.Duration
		again bool
	}{
		{"success", nil, 0, false},
		{"429 with Retry-After", serverError(chusme.CodeRateLimited, "slow down", 3*time.Second), 3 * time.Second, true},
		{"503 with Retry-After, wrapped", fmt.Errorf("submit: %w", serverError(chusme.CodeUnavailable, "store", time.Second)), time.Second, true},
		{"503 without Retry-After", serverError(chusme.CodeUnavailable, "store", 0), 0, true},
		{"a transport failure", fmt.Errorf("client: GET /x: %w", errors.New("connection refused")), 0, true},
		{"the realtime connection down", ErrDisconnected, 0, true},
		{"not found", serverError(chusme.CodeNotFound, "no such ceremony", 0), 0, false},
		{"an internal error", serverError(chusme.CodeInternal, "internal error", 0), 0, false},
		{"a conflict, even with Retry-After", serverError(chusme.CodeConflict, "x", time.Second), 0, false},
	} {
		after, again := retryable(c.err)
		if after != c.after || again != c.again {
			t.Errorf("%s: retryable = %v, %v; want %v, %v", c.name, after, again, c.after, c.again)
		}
	}
}

// TestRetryAfterHeader: whole seconds or an HTTP date, clamped to an hour;
// anything else is no wait.
func TestRetryAfterHeader(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"":          0,
		"1":         time.Second,
		"120":       2 * time.Minute,
		"-5":        0,
		"999999999": maxRetryAfter,
		"soon":      0,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): 0,
	} {
		if got := retryAfter(h); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	if got := retryAfter(time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)); got < 80*time.Second || got > 90*time.Second {
		t.Errorf("retryAfter(a date 90 s ahead) = %v", got)
	}
}

// TestRetryUntilStops: a problem a retry can't mend returns at once, after
// one call; a retryable one is tried again until it passes.
func TestRetryUntilStops(t *testing.T) {
	calls := 0
	_, err := retry(t.Context(), func() (int, error) { calls++; return 0, serverError(chusme.CodeForbidden, "no", 0) })
	if calls != 1 || chusme.ErrorCode(err) != chusme.CodeForbidden {
		t.Fatalf("forbidden: %d calls, %v; want 1 call and the error", calls, err)
	}
	calls = 0
	v, err := retryUntil(t.Context(), time.Now().Add(time.Minute), func() (int, error) {
		if calls++; calls < 3 {
			return 0, serverError(chusme.CodeUnavailable, "store", 0)
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Fatalf("unavailable twice, then success: %d, %v after %d calls", v, err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls = 0
	if _, err := retry(ctx, func() (int, error) { calls++; return 0, ErrDisconnected }); calls != 1 || err == nil {
		t.Fatalf("with ctx cancelled: %d calls, %v; want one call and an error", calls, err)
	}
}
