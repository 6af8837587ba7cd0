package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// `chusme watch --json` prints the events of a ceremony the identity is in:
// the catch-up of the open one, then the pushed change.
func TestWatchPrintsPushedEvents(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	admin := newCLI(t, s.URL, "admin pw")
	adminFP := strings.TrimSpace(admin.ok("keygen"))
	admin.ok("setup", "--token", s.SetupToken(t))

	// Another identity, and a DKG with the admin, started through the library.
	other := servertest.NewMember(t, s.URL, nil)
	other.Register(t, "")
	ctx := t.Context()
	info, err := other.Client.StartDKG(ctx, other.Key, 2, []string{adminFP, other.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}

	r, w := ioPipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"watch", "--json", "--max-events", "2"}, admin.getenv, strings.NewReader(""), w, &strings.Builder{})
		w.Close()
	}()
	lines := bufio.NewScanner(r)
	var got []watchEvent
	for lines.Scan() {
		var ev watchEvent
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", lines.Text())
		}
		got = append(got, ev)
		if len(got) == 1 {
			// The catch-up arrived: cancel the ceremony, which pushes a change.
			if _, err := other.Client.CancelCeremony(ctx, info.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("watch did not stop after --max-events")
	}
	if len(got) != 2 || got[0].Ceremony == nil || got[0].Ceremony.ID != info.ID || got[0].Ceremony.Status != chusme.CeremonyOpen ||
		got[1].Ceremony == nil || got[1].Ceremony.Status != chusme.CeremonyCancelled || got[1].Ceremony.Version <= got[0].Ceremony.Version {
		t.Fatalf("watch printed %+v", got)
	}
}

// ioPipe is io.Pipe, named so that the test reads as a stream of lines.
func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }
