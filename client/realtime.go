package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// Backoff of reconnections: full jitter between 0 and a bound that doubles
// from MinBackoff to MaxBackoff, back to MinBackoff after a good connection.
// After a close with 4029 (too many requests) the wait is RateLimitedBackoff
// plus that jitter.
const (
	MinBackoff         = 250 * time.Millisecond
	MaxBackoff         = 30 * time.Second
	RateLimitedBackoff = 10 * time.Second
)

// realtimeReadTimeout is how long a connection may stay silent before the
// client gives up on it: the server pings every 30 s, so 45 s of nothing
// means the server or the path is gone.
const realtimeReadTimeout = 45 * time.Second

// ErrDisconnected is returned by Realtime requests and waits when the
// connection is down or drops before the answer; Realtime reconnects on its
// own, and the ceremony drivers meanwhile fall back to long-polling (or,
// with RealtimeOptions.CeremonyAPI, retry until it is back).
var ErrDisconnected = errors.New("client: realtime connection is down")

// RealtimeOptions configures Realtime.
type RealtimeOptions struct {
	// OnEvent receives every new ceremony state, pushed or caught up after
	// a (re)connection, once per version, in the order they arrive. It runs
	// on the reading goroutine: it must not block.
	OnEvent func(chusme.CeremonyInfo)
	// OnState is told when the connection comes up (err nil) and goes down
	// (err says why).
	OnState func(connected bool, err error)
	// TokenInQuery authenticates with ?token= (the access token) instead of
	// a single-use ticket, as clients of the old server did.
	TokenInQuery bool
	// CeremonyAPI sends the client's ceremony requests (CreateCeremony,
	// Submit, Inbox, CancelCeremony, Ceremonies, Ceremony, WaitCeremony,
	// and so the drivers RunDKG and RunSign) over this connection instead
	// of HTTP, while it runs. When the connection is down they fail with
	// ErrDisconnected, which the drivers retry until it is back (within
	// RetryWindow, or the round's deadline); they never fall back to HTTP.
	CeremonyAPI bool
}

// Realtime is a WebSocket connection to the server that reconnects by itself
// and follows the close-code rules of realtime.proto's CloseCode
// (chusmev1.Close*): on 4001 it refreshes the access token and reconnects;
// on 4002 and 4003 (and 1008) it stops, and Err says why; on 4029 it waits
// RateLimitedBackoff first; otherwise it reconnects with jittered backoff.
// After every (re)connection it catches up on the caller's open ceremonies,
// so a dropped connection loses no event. While it runs, the client's ceremony drivers wait on its pushed
// events instead of long-polling, and with CeremonyAPI every ceremony
// request goes over it.
type Realtime struct {
	c    *Client
	opts RealtimeOptions
	stop context.CancelFunc
	done chan struct{}
	err  error // why it stopped; set before done closes

	nextID atomic.Uint64

	mu        sync.Mutex
	ws        wsConn
	wmu       sync.Mutex                         // serializes writes
	pending   map[uint64]chan *chusmev1.Envelope // requests awaiting their answer
	latest    map[string]chusme.CeremonyInfo     // newest known state per ceremony
	liveOn    map[string]wsConn                  // the connection that is known to carry a ceremony's every later event
	inboxes   map[string]chusme.Inbox            // a round's packages pushed with an event, per open ceremony
	resyncing map[string]bool                    // ceremonies asked for after a change that did not follow
	changed   chan struct{}                      // closed and replaced on every event and state change
}

// Realtime connects to the server's WebSocket in the background and keeps
// the connection up until ctx ends, Close is called, or the server refuses
// the credential (4002, 4003). The client's ceremony drivers use it while it
// runs.
func (c *Client) Realtime(ctx context.Context, opts RealtimeOptions) *Realtime {
	ctx, stop := context.WithCancel(ctx)
	r := &Realtime{
		c: c, opts: opts, stop: stop, done: make(chan struct{}),
		pending: map[uint64]chan *chusmev1.Envelope{}, latest: map[string]chusme.CeremonyInfo{},
		liveOn:  map[string]wsConn{},
		inboxes: map[string]chusme.Inbox{}, resyncing: map[string]bool{},
		changed: make(chan struct{}),
	}
	c.rt.Store(r)
	go r.run(ctx)
	return r
}

// Close stops the connection and waits for it to end.
func (r *Realtime) Close() {
	r.stop()
	<-r.done
}

// Done is closed when Realtime has stopped for good.
func (r *Realtime) Done() <-chan struct{} { return r.done }

// Err returns why Realtime stopped (after Done): a *chusme.Error with code
// token_invalid (4002) or identity_banned (4003), or the context's error.
func (r *Realtime) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Connected reports whether the connection is up now.
func (r *Realtime) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ws != nil
}

// wake wakes every waiter. The caller holds mu.
func (r *Realtime) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// closeError is the error of a close code that ends Realtime.
func closeError(code int, text string) error {
	switch code {
	case chusmev1.CloseTokenInvalid:
		return &chusme.Error{Code: chusme.CodeTokenInvalid, Message: "the server refused the credential: log in again (" + text + ")"}
	case chusmev1.CloseBanned:
		return &chusme.Error{Code: chusme.CodeBanned, Message: "the identity is banned"}
	case chusmev1.ClosePolicy:
		return &chusme.Error{Code: chusme.CodeForbidden, Message: "the server refused the connection: " + text}
	}
	return nil
}

func (r *Realtime) run(ctx context.Context) {
	defer func() {
		if r.c.rt.Load() == r {
			r.c.rt.Store(nil)
		}
		close(r.done)
	}()
	bound := MinBackoff
	for {
		var floor time.Duration
		ws, stale, err := r.dial(ctx)
		if err == nil {
			bound = MinBackoff
			code, text, rerr := r.serve(ctx, ws)
			if r.opts.OnState != nil {
				r.opts.OnState(false, rerr)
			}
			if fatal := closeError(code, text); fatal != nil {
				r.err = fatal
				return
			}
			if code == chusmev1.CloseTokenExpired {
				if _, err := r.c.freshTokens(ctx, stale); err != nil && ctx.Err() == nil {
					r.err = err
					return
				}
				continue // at once, with the new token
			}
			if code == chusmev1.CloseTooManyRequests {
				floor = RateLimitedBackoff
			}
		} else {
			var ce *chusme.Error
			if _, again := retryable(err); !again && errors.As(err, &ce) && ctx.Err() == nil && ce.Code != chusme.CodeInternal {
				r.err = err // not logged in, session revoked, …: reconnecting can't help
				return
			}
			if r.opts.OnState != nil && ctx.Err() == nil {
				r.opts.OnState(false, err)
			}
		}
		if ctx.Err() != nil {
			r.err = ctx.Err()
			return
		}
		select {
		case <-ctx.Done():
			r.err = ctx.Err()
			return
		case <-time.After(floor + rand.N(bound) + time.Millisecond):
		}
		bound = min(2*bound, MaxBackoff)
	}
}

// dial fetches a ticket (or the access token) and opens the WebSocket. stale
// is the access token used, for a refresh after 4001.
func (r *Realtime) dial(ctx context.Context) (wsConn, string, error) {
	u, err := url.Parse(r.c.baseURL)
	if err != nil {
		return nil, "", err
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path = "/v1/ws"
	var stale string
	if r.opts.TokenInQuery {
		t, err := r.c.freshTokens(ctx, "")
		if err != nil {
			return nil, "", err
		}
		stale = t.AccessToken
		u.RawQuery = url.Values{"token": {t.AccessToken}}.Encode()
	} else {
		var tr chusme.WSTicketResponse
		if err := r.c.do(ctx, http.MethodPost, "/v1/ws/tickets", nil, &tr); err != nil {
			return nil, "", err
		}
		u.RawQuery = url.Values{"ticket": {tr.Ticket}}.Encode()
	}
	h := http.Header{}
	if r.c.userAgent != "" {
		h.Set("User-Agent", r.c.userAgent)
	}
	ws, resp, err := dialWS(ctx, u.String(), h)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return nil, "", &chusme.Error{Code: chusme.CodeForbidden, Message: "the server refused the WebSocket (Origin)"}
		}
		return nil, "", fmt.Errorf("client: websocket: %s", strings.ReplaceAll(err.Error(), u.RawQuery, "…"))
	}
	return ws, stale, nil
}

// serve runs one connection until it ends and returns its close code (0 if
// none) and the error that ended it.
func (r *Realtime) serve(ctx context.Context, ws wsConn) (int, string, error) {
	ws.SetReadLimit(maxResponseSize)
	ws.SetReadDeadline(time.Now().Add(realtimeReadTimeout))
	ws.SetPingHandler(func(data string) error {
		ws.SetReadDeadline(time.Now().Add(realtimeReadTimeout))
		r.wmu.Lock()
		defer r.wmu.Unlock()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
	})
	r.mu.Lock()
	r.ws = ws
	r.wake()
	r.mu.Unlock()
	if r.opts.OnState != nil {
		r.opts.OnState(true, nil)
	}
	stopWatch := context.AfterFunc(ctx, func() {
		r.wmu.Lock()
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(chusmev1.CloseNormal, ""), time.Now().Add(time.Second))
		r.wmu.Unlock()
		ws.Close()
	})
	defer stopWatch()
	// Catch up on every open ceremony, in the background: the answer
	// arrives through the loop below.
	go func() {
		if evs, err := r.Sync(ctx, "", 0); err == nil {
			for _, info := range evs {
				r.deliver(info)
			}
		}
	}()
	var code int
	var text string
	var err error
	for {
		var data []byte
		var mt int
		mt, data, err = ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, text = ce.Code, ce.Text
			}
			break
		}
		ws.SetReadDeadline(time.Now().Add(realtimeReadTimeout))
		var env chusmev1.Envelope
		if mt != websocket.BinaryMessage || proto.Unmarshal(data, &env) != nil {
			continue
		}
		if ev := env.GetCeremonyEvent(); ev != nil {
			r.deliverInbox(ev)
			r.markLive(ev.GetCeremonyId(), ws)
			r.deliver(ev.View())
			continue
		}
		if ch := env.GetCeremonyChange(); ch != nil && env.GetRequestId() == 0 {
			r.markLive(ch.GetCeremonyId(), ws)
			r.deliverChange(ctx, ch.View())
			continue
		}
		r.mu.Lock()
		ch := r.pending[env.GetRequestId()]
		delete(r.pending, env.GetRequestId())
		r.mu.Unlock()
		if ch != nil {
			ch <- &env
		}
	}
	ws.Close()
	r.mu.Lock()
	r.ws = nil
	for id, ch := range r.pending {
		close(ch)
		delete(r.pending, id)
	}
	r.wake()
	r.mu.Unlock()
	return code, text, err
}

// markLive notes that ws carries ceremony id's events: the server pushes
// every change of a ceremony to its participants' open connections, so once
// ws has delivered one (or answered a sync), every later change reaches ws
// while it stays up, and waiting needs no further sync.
func (r *Realtime) markLive(id string, ws wsConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ws != ws {
		return
	}
	if len(r.liveOn) >= maxPushedInboxes {
		clear(r.liveOn)
	}
	r.liveOn[id] = ws
}

// deliver records a ceremony state if it is newer than the known one, and
// tells OnEvent and the waiters.
func (r *Realtime) deliver(info chusme.CeremonyInfo) {
	r.deliverNext(info.ID, info.Version, func(chusme.CeremonyInfo) (chusme.CeremonyInfo, bool) { return info, true })
}

// deliverNext records next(known state) as ceremony id's state, and tells
// OnEvent and the waiters, unless the known state is at version or newer,
// or next reports false. next runs under mu.
func (r *Realtime) deliverNext(id string, version int64, next func(chusme.CeremonyInfo) (chusme.CeremonyInfo, bool)) {
	r.mu.Lock()
	old, known := r.latest[id]
	if known && old.Version >= version {
		r.mu.Unlock()
		return
	}
	info, ok := next(old)
	if !ok {
		r.mu.Unlock()
		return
	}
	r.latest[id] = info
	r.wake()
	r.mu.Unlock()
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(info)
	}
}

// deliverChange applies a pushed change to the ceremony's newest known
// state and delivers the result. A change that does not follow that state
// (an event was missed, or the state is not known yet) asks the server for
// the ceremony instead, in the background (the answer comes through the
// reading goroutine), once at a time per ceremony.
func (r *Realtime) deliverChange(ctx context.Context, ch chusme.CeremonyChange) {
	r.deliverNext(ch.ID, ch.Version, func(old chusme.CeremonyInfo) (chusme.CeremonyInfo, bool) {
		info, ok := applyChange(old, ch)
		if !ok && !r.resyncing[ch.ID] {
			r.resyncing[ch.ID] = true
			go r.resync(ctx, ch.ID, old.Version)
		}
		return info, ok
	})
}

// resync asks for ceremony id after version after a change that did not
// follow it; Sync delivers the answer. On failure the next change, or a
// driver's wait, asks again.
func (r *Realtime) resync(ctx context.Context, id string, after int64) {
	r.Sync(ctx, id, after)
	r.mu.Lock()
	delete(r.resyncing, id)
	r.mu.Unlock()
}

// applyChange returns info with the pushed change ch applied, and true, if
// ch covers info: the same ceremony, open in ch's round, at ch's base
// version or a later one (ch's version is newer: deliverNext checks). A
// change lists who submitted between its base and its version, and within
// a round submissions are only added, so a state between the two (one a
// catch-up answered) plus the change's submitters is the state at its
// version. A state older than the base missed a change.
func applyChange(info chusme.CeremonyInfo, ch chusme.CeremonyChange) (chusme.CeremonyInfo, bool) {
	if info.ID != ch.ID || info.Version < ch.BaseVersion || info.Round != ch.Round || info.Status != ch.Status || ch.Ceremony != nil {
		return info, false
	}
	return withChange(info, ch), true
}

// withChange is info with ch's submitters added to Submitted and removed
// from Missing, and ch's Needed, Version and UpdatedAt.
func withChange(info chusme.CeremonyInfo, ch chusme.CeremonyChange) chusme.CeremonyInfo {
	info.Submitted = slices.Clone(info.Submitted)
	for _, fp := range ch.Submitted {
		if i, found := slices.BinarySearch(info.Submitted, fp); !found {
			info.Submitted = slices.Insert(info.Submitted, i, fp)
		}
	}
	info.Missing = slices.DeleteFunc(slices.Clone(info.Missing), func(fp string) bool { return slices.Contains(ch.Submitted, fp) })
	info.Needed, info.Version, info.UpdatedAt = ch.Needed, ch.Version, ch.UpdatedAt
	return info
}

// deliverInbox keeps the round's packages a pushed event carries (a sign
// ceremony's round-1 inbox), before its state wakes the drivers, and forgets
// them once the ceremony has ended.
func (r *Realtime) deliverInbox(ev *chusmev1.CeremonyEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.GetStatus() != chusme.CeremonyOpen {
		delete(r.inboxes, ev.GetCeremonyId())
		return
	}
	in := ev.GetInbox()
	if in == nil {
		return
	}
	if len(r.inboxes) >= maxPushedInboxes {
		clear(r.inboxes)
	}
	r.inboxes[ev.GetCeremonyId()] = in.View()
}

// maxPushedInboxes bounds the pushed inboxes Realtime keeps.
const maxPushedInboxes = 1024

// pushedInboxWait bounds how long a driver waits for the event that carries
// a round's packages before it fetches them.
const pushedInboxWait = time.Second

// pushedInbox returns the packages of ceremony id's round that a pushed
// event carried, if one did. They are what the server relayed, no more
// trusted than a fetched inbox: the drivers check every signature. A driver
// whose own submission completed the previous round learns of the new round
// (at version) from its answer, possibly before the event arrives: while the
// connection carries the ceremony's events and that event is still due,
// pushedInbox waits for it (at most pushedInboxWait).
func (r *Realtime) pushedInbox(ctx context.Context, id string, round int, version int64) (chusme.Inbox, bool) {
	ctx, cancel := context.WithTimeout(ctx, pushedInboxWait)
	defer cancel()
	for {
		r.mu.Lock()
		in, ok := r.inboxes[id]
		due := r.ws != nil && r.liveOn[id] == r.ws && r.latest[id].Version < version
		ch := r.changed
		r.mu.Unlock()
		if ok && in.Round == round {
			return in, true
		}
		if !due {
			return chusme.Inbox{}, false
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return chusme.Inbox{}, false
		}
	}
}

// request sends env and waits for its answer.
func (r *Realtime) request(ctx context.Context, env *chusmev1.Envelope) (*chusmev1.Envelope, error) {
	env.RequestId = r.nextID.Add(1)
	b, err := proto.Marshal(env)
	if err != nil {
		return nil, err
	}
	ch := make(chan *chusmev1.Envelope, 1)
	r.mu.Lock()
	ws := r.ws
	if ws == nil {
		r.mu.Unlock()
		return nil, ErrDisconnected
	}
	r.pending[env.RequestId] = ch
	r.mu.Unlock()
	r.wmu.Lock()
	ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err = ws.WriteMessage(websocket.BinaryMessage, b)
	r.wmu.Unlock()
	if err != nil {
		ws.Close()
		return nil, ErrDisconnected
	}
	select {
	case ans, ok := <-ch:
		if !ok {
			return nil, ErrDisconnected
		}
		if e := ans.GetError(); e != nil {
			return nil, serverError(e.GetCode(), e.GetMessage(), time.Duration(e.GetRetryAfterSeconds())*time.Second)
		}
		return ans, nil
	case <-ctx.Done():
		r.mu.Lock()
		delete(r.pending, env.RequestId)
		r.mu.Unlock()
		return nil, ctx.Err()
	}
}

// ServerInfo asks the server about itself over the WebSocket.
func (r *Realtime) ServerInfo(ctx context.Context) (*chusmev1.ServerInfoResponse, error) {
	ans, err := r.request(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}})
	if err != nil {
		return nil, err
	}
	if ans.GetServerInfoResponse() == nil {
		return nil, errUnexpected
	}
	return ans.GetServerInfoResponse(), nil
}

// Sync asks for ceremony id if its version is above after, or with id ""
// for every open ceremony of the caller (following the pages to the end).
// The states also reach OnEvent and the waiters.
func (r *Realtime) Sync(ctx context.Context, id string, after int64) ([]chusme.CeremonyInfo, error) {
	page := func(cursor string) (chusme.CeremonyList, error) {
		ans, err := r.request(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonySyncRequest{
			CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: id, AfterVersion: after, Cursor: cursor}}})
		if err != nil {
			return chusme.CeremonyList{}, err
		}
		resp := ans.GetCeremonySyncResponse()
		if resp == nil {
			return chusme.CeremonyList{}, errUnexpected
		}
		l := chusme.CeremonyList{Ceremonies: resp.View(), NextCursor: resp.GetNextCursor()}
		for _, info := range l.Ceremonies {
			r.deliver(info)
		}
		return l, nil
	}
	return allPages(page)
}

// errUnexpected is the error of an answer of the wrong kind.
var errUnexpected = errors.New("client: unexpected answer on the realtime connection")

// ceremonyAnswer sends a request that the server answers with one
// ceremony's state.
func (r *Realtime) ceremonyAnswer(ctx context.Context, env *chusmev1.Envelope) (chusme.CeremonyInfo, error) {
	ans, err := r.request(ctx, env)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	ev := ans.GetCeremonyResponse().GetCeremony()
	if ev == nil {
		return chusme.CeremonyInfo{}, errUnexpected
	}
	return ev.View(), nil
}

// CreateCeremony starts a ceremony over the WebSocket (the HTTP API's POST
// /v1/ceremonies); req must be signed (Client.SignCeremonyRequest).
func (r *Realtime) CreateCeremony(ctx context.Context, req chusme.CreateCeremonyRequest) (chusme.CeremonyInfo, error) {
	return r.ceremonyAnswer(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_CreateCeremonyRequest{
		CreateCeremonyRequest: chusmev1.NewCreateCeremonyRequest(req)}})
}

// Submit sends the caller's package for a round of ceremony id over the
// WebSocket (see Client.Submit).
func (r *Realtime) Submit(ctx context.Context, id string, round int, req chusme.SubmitRequest) (chusme.CeremonyChange, error) {
	ans, err := r.request(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_SubmitRequest{
		SubmitRequest: chusmev1.NewSubmitRequest(id, round, req)}})
	if err != nil {
		return chusme.CeremonyChange{}, err
	}
	ch := ans.GetCeremonyChange()
	if ch == nil {
		return chusme.CeremonyChange{}, errUnexpected
	}
	return ch.View(), nil
}

// DeclineCeremony sends a signed decline over the WebSocket (see
// Client.DeclineCeremony).
func (r *Realtime) DeclineCeremony(ctx context.Context, id string, sig []byte) (chusme.CeremonyInfo, error) {
	return r.ceremonyAnswer(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_DeclineCeremonyRequest{
		DeclineCeremonyRequest: &chusmev1.DeclineCeremonyRequest{CeremonyId: id, Signature: sig}}})
}

// CancelCeremony cancels an open ceremony over the WebSocket (its creator
// or an administrator).
func (r *Realtime) CancelCeremony(ctx context.Context, id string) (chusme.CeremonyInfo, error) {
	return r.ceremonyAnswer(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_CancelCeremonyRequest{
		CancelCeremonyRequest: &chusmev1.CancelCeremonyRequest{CeremonyId: id}}})
}

// Inbox returns a round's broadcasts and the packages addressed to the
// caller, over the WebSocket.
func (r *Realtime) Inbox(ctx context.Context, id string, round int) (chusme.Inbox, error) {
	ans, err := r.request(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_InboxRequest{
		InboxRequest: &chusmev1.InboxRequest{CeremonyId: id, Round: int32(round)}}})
	if err != nil {
		return chusme.Inbox{}, err
	}
	in := ans.GetCeremonyInbox()
	if in == nil {
		return chusme.Inbox{}, errUnexpected
	}
	return in.View(), nil
}

// CeremonyPage returns one page of the caller's ceremonies, newest first,
// with the cursor of the next page ("" after the last), over the WebSocket.
func (r *Realtime) CeremonyPage(ctx context.Context, q chusme.CeremonyListQuery) (chusme.CeremonyList, error) {
	ans, err := r.request(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ListCeremoniesRequest{
		ListCeremoniesRequest: &chusmev1.ListCeremoniesRequest{Status: q.Status, Cursor: q.Cursor, Limit: int32(q.Limit)}}})
	if err != nil {
		return chusme.CeremonyList{}, err
	}
	l := ans.GetCeremonyList()
	if l == nil {
		return chusme.CeremonyList{}, errUnexpected
	}
	return l.View(), nil
}

// Ceremony returns ceremony id's state over the WebSocket (a catch-up
// request from version 0).
func (r *Realtime) Ceremony(ctx context.Context, id string) (chusme.CeremonyInfo, error) {
	infos, err := r.Sync(ctx, id, 0)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	if len(infos) != 1 {
		return chusme.CeremonyInfo{}, errUnexpected
	}
	return infos[0], nil
}

// WaitCeremony waits until a state of ceremony id newer than version after
// is known, and returns it. Unless the connection has already delivered a
// state of the ceremony (then every later change reaches it), it asks the
// server once, so that a change made before the connection is seen; then it
// waits for pushed events. ErrDisconnected if the connection is down or
// drops meanwhile.
func (r *Realtime) WaitCeremony(ctx context.Context, id string, after int64) (chusme.CeremonyInfo, error) {
	var asked wsConn
	for {
		r.mu.Lock()
		info, ok := r.latest[id]
		ch, ws := r.changed, r.ws
		live := ws != nil && r.liveOn[id] == ws
		r.mu.Unlock()
		if ok && info.Version > after {
			return info, nil
		}
		if ws == nil {
			return chusme.CeremonyInfo{}, ErrDisconnected
		}
		if asked != ws && !live {
			asked = ws
			if _, err := r.Sync(ctx, id, after); err != nil {
				return chusme.CeremonyInfo{}, err
			}
			r.markLive(id, ws)
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return chusme.CeremonyInfo{}, ctx.Err()
		}
	}
}

// realtimeWait is how long a driver waits for a pushed event before it
// asks the server over HTTP once (a safety net: nothing should be missed).
const realtimeWait = 30 * time.Second

// ceremonyNow returns a ceremony's current state: over the realtime
// connection when it is up, else with Ceremony (over HTTP, or retried until
// the connection is back if it carries the ceremony API).
func (c *Client) ceremonyNow(ctx context.Context, id string) (chusme.CeremonyInfo, error) {
	if rt := c.rt.Load(); rt != nil && rt.Connected() {
		info, err := rt.Ceremony(ctx, id)
		if _, again := retryable(err); !again {
			return info, err
		}
	}
	return retry(ctx, func() (chusme.CeremonyInfo, error) { return c.Ceremony(ctx, id) })
}

// waitNext waits for a state of ceremony id newer than version after: from
// the realtime connection's pushed events while it is up, by long-polling
// otherwise (or when nothing came for realtimeWait), retrying what may
// succeed if asked again (retryUntil) until deadline, the round's.
func (c *Client) waitNext(ctx context.Context, id string, after int64, deadline time.Time) (chusme.CeremonyInfo, error) {
	return retryUntil(ctx, deadline, func() (chusme.CeremonyInfo, error) {
		if rt := c.rt.Load(); rt != nil && rt.Connected() {
			wctx, cancel := context.WithTimeout(ctx, realtimeWait)
			info, err := rt.WaitCeremony(wctx, id, after)
			cancel()
			if _, again := retryable(err); !again || ctx.Err() != nil {
				return info, err
			}
			// The wait ended, the connection dropped or the server asked
			// to come back later: ask over HTTP.
		}
		return c.WaitCeremony(ctx, id, after)
	})
}
