package storetest

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// The WebSocket ticket cases join the suite at package initialisation, as
// the ceremony cases do.
func init() {
	tests = append(tests, []storeCase{
		{"ConsumeWSTicket/round_trips_once", testWSTicketOnce},
		{"ConsumeWSTicket/expired_not_found", testWSTicketExpired},
		{"ConsumeWSTicket/unknown_not_found", testWSTicketUnknown},
		{"ConsumeWSTicket/concurrent_one_wins", testWSTicketConcurrent},
		{"CreateWSTicket/duplicate_hash_conflicts", testWSTicketDuplicate},
	}...)
}

func newWSTicket(secret string, exp time.Time) chusme.WSTicket {
	h := sha256.Sum256([]byte(secret))
	return chusme.WSTicket{Hash: h[:], Fingerprint: "fp-" + secret, SessionID: "sess-" + secret, ExpiresAt: exp}
}

func mustCreateWSTicket(t *testing.T, s chusme.Store, tk chusme.WSTicket) {
	t.Helper()
	if err := s.CreateWSTicket(ctx(t), tk); err != nil {
		t.Fatalf("CreateWSTicket: %v", err)
	}
}

func testWSTicketOnce(t *testing.T, s chusme.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	tk := newWSTicket("a", now.Add(chusme.WSTicketTTL))
	mustCreateWSTicket(t, s, tk)
	got, err := s.ConsumeWSTicket(ctx(t), tk.Hash, now)
	if err != nil {
		t.Fatalf("ConsumeWSTicket: %v", err)
	}
	if string(got.Hash) != string(tk.Hash) || got.Fingerprint != tk.Fingerprint || got.SessionID != tk.SessionID || !got.ExpiresAt.Equal(tk.ExpiresAt) {
		t.Errorf("ConsumeWSTicket = %+v, want %+v", got, tk)
	}
	if _, err := s.ConsumeWSTicket(ctx(t), tk.Hash, now); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Errorf("second ConsumeWSTicket: %v, want not_found", err)
	}
}

func testWSTicketExpired(t *testing.T, s chusme.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	tk := newWSTicket("b", now.Add(chusme.WSTicketTTL))
	mustCreateWSTicket(t, s, tk)
	if _, err := s.ConsumeWSTicket(ctx(t), tk.Hash, tk.ExpiresAt); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Errorf("ConsumeWSTicket at expiry: %v, want not_found", err)
	}
}

func testWSTicketUnknown(t *testing.T, s chusme.Store) {
	h := sha256.Sum256([]byte("nobody"))
	if _, err := s.ConsumeWSTicket(ctx(t), h[:], time.Now()); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Errorf("ConsumeWSTicket: %v, want not_found", err)
	}
}

func testWSTicketConcurrent(t *testing.T, s chusme.Store) {
	now := time.Now().UTC()
	tk := newWSTicket("c", now.Add(chusme.WSTicketTTL))
	mustCreateWSTicket(t, s, tk)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.ConsumeWSTicket(ctx(t), tk.Hash, now)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch chusme.ErrorCode(err) {
		case "":
			won++
		case chusme.CodeNotFound:
		default:
			t.Errorf("ConsumeWSTicket: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent consumers won, want 1", won)
	}
}

func testWSTicketDuplicate(t *testing.T, s chusme.Store) {
	tk := newWSTicket("d", time.Now().UTC().Add(chusme.WSTicketTTL))
	mustCreateWSTicket(t, s, tk)
	if err := s.CreateWSTicket(ctx(t), tk); chusme.ErrorCode(err) != chusme.CodeConflict {
		t.Errorf("duplicate CreateWSTicket: %v, want conflict", err)
	}
}
