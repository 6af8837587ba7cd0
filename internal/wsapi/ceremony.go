package wsapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// The ceremony API of the HTTP API's /v1/ceremonies routes as WebSocket
// requests: the same service calls (the connection's identity is the
// caller, as the access token's is over HTTP), the same rate limiters keyed
// the same way, and the same error codes, in an Error envelope.

// maxRunning bounds the ceremony requests one connection has running at
// once. Each runs on a goroutine of its own, so that the reader goes on
// reading (pongs, further requests) and keeps its small stack while the
// service checks packages and writes the store; beyond the bound the reader
// serves the request itself, so a client that floods waits for its answers
// instead of piling up goroutines.
const maxRunning = 4

// requestTimeout bounds the service calls of one ceremony request.
const requestTimeout = 10 * time.Second

// ceremonyRequest answers request id, a catch-up request or one of the
// ceremony API's (of kind, answered by serve), that the limits let through.
func (c *conn) ceremonyRequest(id uint64, kind string, serve func(context.Context) *chusmev1.Envelope) {
	if c.s.cers == nil {
		c.reply(id, errorEnvelope(chusme.CodeUnknownPayload, "ceremonies are not served here"))
		return
	}
	run := func() {
		defer func() {
			if v := recover(); v != nil {
				c.s.log.Error("websocket: panic in a ceremony request", "kind", kind) // the value may hold secrets
				c.reply(id, errorEnvelope(chusme.CodeInternal, "internal error"))
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		c.reply(id, c.s.fits(serve(ctx)))
	}
	if c.running.Add(1) > maxRunning {
		run()
		c.running.Add(-1)
		return
	}
	c.s.work.Add(1) // the reader is one, so Shutdown's Wait has not returned
	go func() {
		defer c.s.work.Done()
		defer c.running.Add(-1)
		run()
	}()
}

// ceremonyCall returns the metrics kind of a ceremony request (sync
// included) and the call that answers it.
func (c *conn) ceremonyCall(env *chusmev1.Envelope) (string, func(context.Context) *chusmev1.Envelope) {
	s, caller := c.s, c.p.Fingerprint
	switch {
	case env.GetCeremonySyncRequest() != nil:
		req := env.GetCeremonySyncRequest()
		return "ceremony_sync", func(ctx context.Context) *chusmev1.Envelope { return s.sync(ctx, caller, req) }
	case env.GetCreateCeremonyRequest() != nil:
		req := env.GetCreateCeremonyRequest().View()
		return "ceremony_create", func(ctx context.Context) *chusmev1.Envelope {
			return s.ceremonyAnswer(s.cers.Create(ctx, caller, req))
		}
	case env.GetSubmitRequest() != nil:
		req := env.GetSubmitRequest()
		return "ceremony_submit", func(ctx context.Context) *chusmev1.Envelope {
			c, err := s.cers.Submit(ctx, caller, req.GetCeremonyId(), int(req.GetRound()), req.View())
			if err != nil {
				return s.errorOf(err)
			}
			ch := chusmev1.NewCeremonyChange(chusme.SubmitAnswerOf(c, caller, int(req.GetRound())))
			return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyChange{CeremonyChange: ch}}
		}
	case env.GetInboxRequest() != nil:
		req := env.GetInboxRequest()
		return "ceremony_inbox", func(ctx context.Context) *chusmev1.Envelope {
			round := int(req.GetRound())
			subs, complete, err := s.cers.Inbox(ctx, caller, req.GetCeremonyId(), round)
			if err != nil {
				return s.errorOf(err)
			}
			in := chusmev1.NewCeremonyInbox(chusme.InboxOf(round, complete, subs))
			return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyInbox{CeremonyInbox: in}}
		}
	case env.GetComplaintRequest() != nil:
		req := env.GetComplaintRequest()
		return "ceremony_complaint", func(ctx context.Context) *chusmev1.Envelope {
			return s.ceremonyAnswer(s.cers.Complain(ctx, caller, req.GetCeremonyId(), req.View()))
		}
	case env.GetCancelCeremonyRequest() != nil:
		id := env.GetCancelCeremonyRequest().GetCeremonyId()
		return "ceremony_cancel", func(ctx context.Context) *chusmev1.Envelope {
			return s.ceremonyAnswer(s.cers.Cancel(ctx, caller, id))
		}
	case env.GetDeclineCeremonyRequest() != nil:
		req := env.GetDeclineCeremonyRequest()
		return "ceremony_decline", func(ctx context.Context) *chusmev1.Envelope {
			return s.ceremonyAnswer(s.cers.Decline(ctx, caller, req.GetCeremonyId(), req.GetSignature()))
		}
	default:
		req := env.GetListCeremoniesRequest()
		q := chusme.CeremonyListQuery{Status: req.GetStatus(), Cursor: req.GetCursor(), Limit: int(req.GetLimit())}
		return "ceremony_list", func(ctx context.Context) *chusmev1.Envelope {
			cs, next, err := s.cers.List(ctx, caller, q)
			if err != nil {
				return s.errorOf(err)
			}
			l := chusmev1.NewCeremonyList(chusme.CeremonyListOf(cs, next))
			return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyList{CeremonyList: l}}
		}
	}
}

// ceremonyAnswer is the CeremonyResponse of a service call that returns a
// ceremony, or its Error.
func (s *Server) ceremonyAnswer(cer chusme.Ceremony, err error) *chusmev1.Envelope {
	if err != nil {
		return s.errorOf(err)
	}
	ev := chusmev1.NewCeremonyEvent(chusme.CeremonyInfoOf(cer))
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyResponse{CeremonyResponse: &chusmev1.CeremonyResponse{Ceremony: ev}}}
}

// limited counts a request of kind (any kind: every message counts) against
// the HTTP API's limiters, in the order an HTTP request meets them: the
// per-IP limit of every request but the ceremony API's (byIdentity), the
// per-IP limit of creations, the identity's, then the session's of
// submissions and complaints. It returns the first refusal, an Error
// rate_limited with the seconds to wait, or nil.
func (c *conn) limited(kind string) *chusmev1.Envelope {
	l := &c.s.cfg.Limits
	type check struct {
		l          *ratelimit.Limiter
		scope, key string
	}
	var checks []check
	if !byIdentity[kind] {
		checks = append(checks, check{l.IP, "ip", c.ip})
	}
	if kind == "ceremony_create" {
		checks = append(checks, check{l.Create, kind, c.ip})
	}
	checks = append(checks, check{l.Identity, "identity", c.p.Fingerprint})
	if kind == "ceremony_submit" || kind == "ceremony_complaint" { // one limit, as over HTTP
		checks = append(checks, check{l.Submit, "ceremony_submit", c.p.SessionID})
	}
	for _, ch := range checks {
		if err := ch.l.Take(ch.key, "requests"); err != nil {
			c.s.ev.RateLimited(ch.scope)
			return c.s.errorOf(err)
		}
	}
	return nil
}

// byIdentity lists the kinds of request charged to the connection's
// identity only, not to its address, as the HTTP API's ceremony routes are:
// the ceremony API, so that participants behind one address (an office's
// NAT) don't share one budget.
var byIdentity = map[string]bool{
	"ceremony_sync": true, "ceremony_create": true, "ceremony_submit": true,
	"ceremony_inbox": true, "ceremony_cancel": true, "ceremony_list": true,
}

// fits returns env, or an Error with code answer_too_large if env can't fit
// in the send queue (which would close the connection as a slow consumer):
// a list of many ceremonies with large messages, say, which the HTTP API
// can still answer.
func (s *Server) fits(env *chusmev1.Envelope) *chusmev1.Envelope {
	if proto.Size(env) <= s.cfg.SendQueueBytes {
		return env
	}
	return errorEnvelope(chusme.CodeAnswerTooLarge, "the answer is larger than the connection's send queue: ask the HTTP API")
}
