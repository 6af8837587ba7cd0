package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

const watchUsage = `
Realtime (WebSocket):
  watch [--max-events N]             print ceremony events as the server pushes them, after catching
                                     up on open ceremonies; reconnects by itself (not after a ban or
                                     a revoked session); --json prints one JSON object per line
`

// watchEvent is one line of `chusme watch --json`.
type watchEvent struct {
	Type     string               `json:"type"` // "ceremony", or "connected" / "disconnected"
	Time     time.Time            `json:"time"`
	Ceremony *chusme.CeremonyInfo `json:"ceremony,omitempty"`
	Error    string               `json:"error,omitempty"`
}

// watch prints pushed events until interrupted, the server refuses the
// session (4002/4003), or --max-events have been printed.
func (e *env) watch(args []string) error {
	fs := e.flags("watch")
	maxEvents := fs.Int("max-events", 0, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *maxEvents < 0 {
		return usagef("watch: --max-events must be positive")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var mu sync.Mutex
	printed := 0
	emit := func(ev watchEvent) {
		mu.Lock()
		defer mu.Unlock()
		if *maxEvents > 0 && printed >= *maxEvents {
			return
		}
		if e.json {
			json.NewEncoder(e.stdout).Encode(ev)
		} else if ev.Ceremony != nil {
			i := ev.Ceremony
			fmt.Fprintf(e.stdout, "%s ceremony %s %s %s round %d/%d submitted %d/%d version %d\n",
				ev.Time.Format(time.RFC3339), i.ID, i.Kind, i.Status, i.Round, i.Rounds, len(i.Submitted), len(i.Participants), i.Version)
		}
		if ev.Ceremony == nil {
			if !e.json {
				msg := ev.Type
				if ev.Error != "" {
					msg += ": " + ev.Error
				}
				fmt.Fprintln(e.stderr, "chusme: watch:", msg)
			}
			return
		}
		printed++
		if *maxEvents > 0 && printed >= *maxEvents {
			cancel()
		}
	}
	rt := c.Realtime(ctx, client.RealtimeOptions{
		OnEvent: func(info chusme.CeremonyInfo) {
			emit(watchEvent{Type: "ceremony", Time: time.Now().UTC(), Ceremony: &info})
		},
		OnState: func(up bool, err error) {
			ev := watchEvent{Type: "connected", Time: time.Now().UTC()}
			if !up {
				ev.Type = "disconnected"
				if err != nil {
					ev.Error = err.Error()
				}
			}
			if !e.json {
				emit(ev)
			}
		},
	})
	<-rt.Done()
	if err := rt.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
