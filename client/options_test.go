package client

import "testing"

// TestNilOptions checks that the options taking a value refuse nil, naming
// what was missing.
func TestNilOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithHTTPClient(nil), "client: nil HTTP client"},
		{WithTokenStore(nil), "client: nil token store"},
	} {
		if _, err := New("http://127.0.0.1:1", tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("New with a nil option = %v, want %q", err, tc.want)
		}
	}
	if _, err := New("http://127.0.0.1:1", WithTokenStore(&MemoryTokenStore{})); err != nil {
		t.Errorf("New with a token store: %v", err)
	}
}
