package client

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// CeremonyError reports a ceremony that failed or was cancelled: Info holds
// its final state, with the failure reason and the participants blamed.
type CeremonyError struct {
	Info chusme.CeremonyInfo
}

// Error implements error.
func (e *CeremonyError) Error() string {
	f := e.Info.Failure
	if f == nil {
		return fmt.Sprintf("client: ceremony %s is %s", e.Info.ID, e.Info.Status)
	}
	msg := fmt.Sprintf("client: ceremony %s %s in round %d: %s (%s)", e.Info.ID, e.Info.Status, e.Info.Round, f.Message, f.Reason)
	if len(f.Culprits) > 0 {
		msg += fmt.Sprintf("; participants named: %v", f.Culprits)
	}
	return msg
}

// overRealtime returns the realtime connection that carries the client's
// ceremony requests (RealtimeOptions.CeremonyAPI), or nil: then they go
// over HTTP.
func (c *Client) overRealtime() *Realtime {
	if rt := c.rt.Load(); rt != nil && rt.opts.CeremonyAPI {
		return rt
	}
	return nil
}

// RequestLifetime is how long a ceremony request the client signs stays
// valid: its deadline is one hour after the client's clock (well within
// chusme.MaxCeremonyRequestAhead, and past the first round's deadline, so
// that clocks a little apart don't void it).
const RequestLifetime = time.Hour

// CreateCeremony starts a ceremony (POST /v1/ceremonies, or its WebSocket
// request: see RealtimeOptions.CeremonyAPI, as for every ceremony request
// below), signing the request with key, the caller's identity key
// (SignCeremonyRequest).
func (c *Client) CreateCeremony(ctx context.Context, key crypto.Signer, req chusme.CreateCeremonyRequest) (chusme.CeremonyInfo, error) {
	req, err := c.SignCeremonyRequest(ctx, key, req)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	if rt := c.overRealtime(); rt != nil {
		return rt.CreateCeremony(ctx, req)
	}
	var info chusme.CeremonyInfo
	err = c.do(ctx, http.MethodPost, "/v1/ceremonies", req, &info)
	return info, err
}

// SignCeremonyRequest returns req signed with key
// (chusme.CeremonyRequestMessage), with a deadline RequestLifetime ahead
// and a fresh 16-byte random nonce. It signs the ceremony the server will
// make of req: the participants sorted and, for a signing ceremony, the
// threshold of the group key and its participants when req names no
// signers, both from the key as GroupKey verified it (once per client).
func (c *Client) SignCeremonyRequest(ctx context.Context, key crypto.Signer, req chusme.CreateCeremonyRequest) (chusme.CreateCeremonyRequest, error) {
	if err := checkKey(key); err != nil {
		return req, err
	}
	if err := c.checkIssuer(ctx); err != nil {
		return req, err
	}
	threshold, parts := req.Threshold, slices.Sorted(slices.Values(req.Participants))
	if req.Kind == chusme.KindSign {
		k, err := c.signingKey(ctx, req.KeyID)
		if err != nil {
			return req, err
		}
		threshold = k.Threshold
		if len(parts) == 0 {
			parts = slices.Sorted(slices.Values(k.Participants))
		}
		req.Participants = parts
	}
	if req.Kind == chusme.KindRefresh || req.Kind == chusme.KindReshare || req.Kind == chusme.KindRepair {
		// The key as it is now: a refresh or a reshare names the
		// generation it replaces, a repair the one it repairs; a refresh
		// and a repair keep the key's threshold.
		k, err := c.GroupKey(ctx, req.KeyID)
		if err != nil {
			return req, err
		}
		req.Generation = k.Generation
		if req.Kind != chusme.KindReshare {
			threshold, req.Threshold = k.Threshold, k.Threshold
		}
		if len(parts) == 0 {
			parts = slices.Sorted(slices.Values(k.Participants))
		}
		req.Participants = parts
		if req.NewParticipants != nil {
			req.NewParticipants = slices.Sorted(slices.Values(req.NewParticipants))
		}
	}
	req.Deadline = time.Now().Add(requestLifetime(req.RoundTimeout)).Unix()
	req.Nonce = make([]byte, chusme.MinCeremonyRequestNonce)
	rand.Read(req.Nonce)
	msg := chusme.CeremonyRequestMessage(c.issuer, req.Kind, threshold, parts, req.KeyID,
		chusme.CeremonyMessageSHA256(req.Kind, req.Message), req.RoundTimeout, req.AllSigners, req.Deadline, req.Nonce, req.Generation, req.NewParticipants)
	sig, err := signWith(key, msg)
	req.Signature = sig
	return req, err
}

// requestLifetime is how long a request asking for rounds of roundTimeout
// seconds stays valid: RequestLifetime, or longer for long rounds (a
// participant must be able to check it until its first round's deadline,
// with some margin), within chusme.MaxCeremonyRequestAhead.
func requestLifetime(roundTimeout int64) time.Duration {
	round := time.Duration(min(max(roundTimeout, 0), int64(chusme.MaxCeremonyRequestAhead/time.Second))) * time.Second
	return min(max(RequestLifetime, round+10*time.Minute), chusme.MaxCeremonyRequestAhead-time.Minute)
}

// signingKey is group key keyID as GroupKey verified it, once per client.
func (c *Client) signingKey(ctx context.Context, keyID string) (chusme.GroupKeyInfo, error) {
	if k, ok := c.groupKeys.Load(keyID); ok {
		return k.(chusme.GroupKeyInfo), nil
	}
	k, err := c.GroupKey(ctx, keyID)
	if err == nil {
		c.groupKeys.Store(keyID, k)
	}
	return k, err
}

// StartDKG starts a t-of-n distributed key generation among participants
// (fingerprints, the caller usually among them), its request signed with
// key, the caller's identity key.
func (c *Client) StartDKG(ctx context.Context, key crypto.Signer, threshold int, participants []string) (chusme.CeremonyInfo, error) {
	return c.CreateCeremony(ctx, key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: threshold, Participants: participants})
}

// StartSign starts a signing ceremony of message with group key keyID by
// signers (nil: every participant of the key), its request signed with
// key, the caller's identity key.
func (c *Client) StartSign(ctx context.Context, key crypto.Signer, keyID string, message []byte, signers []string) (chusme.CeremonyInfo, error) {
	if message == nil {
		message = []byte{}
	}
	return c.CreateCeremony(ctx, key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: keyID, Message: message, Participants: signers})
}

func ceremonyPath(id string) (string, error) {
	if !chusme.ValidCeremonyID(id) {
		return "", fmt.Errorf("client: %q is not a ceremony id (32 lowercase hex digits)", id)
	}
	return "/v1/ceremonies/" + id, nil
}

// Ceremony returns a ceremony's state (GET /v1/ceremonies/{id}).
func (c *Client) Ceremony(ctx context.Context, id string) (chusme.CeremonyInfo, error) {
	var info chusme.CeremonyInfo
	p, err := ceremonyPath(id)
	if err != nil {
		return info, err
	}
	if rt := c.overRealtime(); rt != nil {
		return rt.Ceremony(ctx, id)
	}
	err = c.do(ctx, http.MethodGet, p, nil, &info)
	return info, err
}

// WaitCeremony long-polls a ceremony: it returns once its version is above
// after, it is no longer open, or the server's wait (30 s) ends. Over the
// WebSocket it waits for the ceremony's pushed events as long.
func (c *Client) WaitCeremony(ctx context.Context, id string, after int64) (chusme.CeremonyInfo, error) {
	var info chusme.CeremonyInfo
	p, err := ceremonyPath(id)
	if err != nil {
		return info, err
	}
	if rt := c.overRealtime(); rt != nil {
		wctx, cancel := context.WithTimeout(ctx, realtimeWait)
		defer cancel()
		if info, err = rt.WaitCeremony(wctx, id, after); err != nil && wctx.Err() != nil && ctx.Err() == nil {
			return rt.Ceremony(ctx, id) // the wait ended: the current state
		}
		return info, err
	}
	err = c.do(ctx, http.MethodGet, p+"?after="+strconv.FormatInt(after, 10), nil, &info)
	return info, err
}

// Ceremonies lists every ceremony of the caller with the given status (""
// for any), newest first, following the list's pages to the end.
func (c *Client) Ceremonies(ctx context.Context, status string) ([]chusme.CeremonyInfo, error) {
	return allPages(func(cursor string) (chusme.CeremonyList, error) {
		return c.CeremonyPage(ctx, chusme.CeremonyListQuery{Status: status, Cursor: cursor})
	})
}

// CeremonyPage returns one page of the caller's ceremonies, newest first,
// with the cursor of the next page ("" after the last).
func (c *Client) CeremonyPage(ctx context.Context, q chusme.CeremonyListQuery) (chusme.CeremonyList, error) {
	if rt := c.overRealtime(); rt != nil {
		return rt.CeremonyPage(ctx, q)
	}
	var list chusme.CeremonyList
	err := c.do(ctx, http.MethodGet, pagePath("/v1/ceremonies", q.Status, q.Cursor, q.Limit), nil, &list)
	return list, err
}

// ErrEndlessList is the error of a ceremony list whose pages would never
// end: the server answered an empty page naming a next one, or a cursor it
// had answered before.
var ErrEndlessList = errors.New("client: the server's ceremony list does not end (an empty page or a repeated cursor)")

// allPages follows a list's cursors from the first page to the last and
// returns every ceremony on them. An empty page that names a next one, or a
// cursor that comes back, is refused: the list would never end.
func allPages(page func(cursor string) (chusme.CeremonyList, error)) ([]chusme.CeremonyInfo, error) {
	var out []chusme.CeremonyInfo
	cursor := ""
	for {
		l, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Ceremonies...)
		if l.NextCursor == "" {
			return out, nil
		}
		if len(l.Ceremonies) == 0 || l.NextCursor == cursor {
			return nil, ErrEndlessList
		}
		cursor = l.NextCursor
	}
}

// Submit sends the caller's package for a round. The answer is the
// ceremony's version, round, status and what the round still needs, and the
// whole state (in its Ceremony) when the submission moved the round or the
// status.
func (c *Client) Submit(ctx context.Context, id string, round int, req chusme.SubmitRequest) (chusme.CeremonyChange, error) {
	var ch chusme.CeremonyChange
	p, err := ceremonyPath(id)
	if err != nil {
		return ch, err
	}
	if rt := c.overRealtime(); rt != nil {
		return rt.Submit(ctx, id, round, req)
	}
	p += "/rounds/" + strconv.Itoa(round)
	if !c.jsonOnly.Load() {
		ch, err = callProtobuf(ctx, c, http.MethodPost, p, chusmev1.NewSubmitRequest(id, round, req), &chusmev1.CeremonyChange{})
		if chusme.ErrorCode(err) != chusme.CodeInvalidJSON {
			return ch, err
		}
		c.jsonOnly.Store(true) // a server that reads every body as JSON: ask it in JSON
	}
	err = c.do(ctx, http.MethodPost, p, req, &ch)
	return ch, err
}

// Inbox returns a round's broadcasts and the packages addressed to the
// caller (over the WebSocket when it carries the ceremony API, unless the
// answer is too large for it).
func (c *Client) Inbox(ctx context.Context, id string, round int) (chusme.Inbox, error) {
	var in chusme.Inbox
	p, err := ceremonyPath(id)
	if err != nil {
		return in, err
	}
	if rt := c.overRealtime(); rt != nil {
		// A large DKG's broadcast rounds (n packages of up to 48 KiB)
		// may not fit in the connection's send queue: then over HTTP.
		if in, err = rt.Inbox(ctx, id, round); chusme.ErrorCode(err) != chusme.CodeAnswerTooLarge {
			return in, err
		}
	}
	p += "/rounds/" + strconv.Itoa(round) + "/inbox"
	if c.jsonOnly.Load() {
		err = c.do(ctx, http.MethodGet, p, nil, &in)
		return in, err
	}
	return callProtobuf(ctx, c, http.MethodGet, p, nil, &chusmev1.CeremonyInbox{})
}

// CancelCeremony cancels an open ceremony (its creator or an administrator).
func (c *Client) CancelCeremony(ctx context.Context, id string) (chusme.CeremonyInfo, error) {
	var info chusme.CeremonyInfo
	p, err := ceremonyPath(id)
	if err != nil {
		return info, err
	}
	if rt := c.overRealtime(); rt != nil {
		return rt.CancelCeremony(ctx, id)
	}
	err = c.do(ctx, http.MethodPost, p+"/cancel", nil, &info)
	return info, err
}

// GroupKey returns group key keyID (GET /v1/keys/{key_id}) once it has
// checked that the answer is that key (ErrWrongGroupKey otherwise): the id
// is the fingerprint of the public key, and the public key package agrees
// with the public key, the threshold and every verifying share; that its
// participants made it (ErrBadCertificate otherwise): the certificate is
// for this server's issuer, all n confirmations (and endorsements) verify,
// and each signer's key is its key at the chain head it names, in its
// verified chain; and that the holders of each generation made the next,
// from the one this client pinned (GroupKeyGeneration).
func (c *Client) GroupKey(ctx context.Context, keyID string) (chusme.GroupKeyInfo, error) {
	return c.GroupKeyGeneration(ctx, keyID, 0)
}

// GroupKeyGeneration is GroupKey for one generation of the key (0: the
// current one): the shares of each refresh or reshare are the key's next
// generation, and the server keeps every earlier one with its certificate.
// Both also check that the generation is in the key's line
// (chusme.VerifyGroupKeyLineage) with the one this client verified and
// pinned for the key before (from generation 1 if none), fetching the
// generations between, and pin the later of the two (ErrBadCertificate
// otherwise, naming the generation and what is wrong).
func (c *Client) GroupKeyGeneration(ctx context.Context, keyID string, generation int) (chusme.GroupKeyInfo, error) {
	k, err := c.certifiedKey(ctx, keyID, generation)
	if err == nil {
		err = c.checkCertifiedHeads(ctx, k)
	}
	if err == nil {
		err = c.checkLine(ctx, k)
	}
	if err != nil {
		return chusme.GroupKeyInfo{}, err
	}
	return k, nil
}

// certifiedKey fetches group key keyID and checks it and its certificate
// offline (checkGroupKey, checkCertificate), not the participants' chains.
func (c *Client) certifiedKey(ctx context.Context, keyID string, generation int) (chusme.GroupKeyInfo, error) {
	k, err := c.groupKey(ctx, keyID, generation)
	if err != nil {
		return k, err
	}
	if err := checkCertificate(c.issuer, k); err != nil {
		return chusme.GroupKeyInfo{}, err
	}
	return k, nil
}

// groupKey fetches a generation of group key keyID (0: the current one)
// and checks that it is that key (checkGroupKey) and generation, not its
// certificate.
func (c *Client) groupKey(ctx context.Context, keyID string, generation int) (chusme.GroupKeyInfo, error) {
	var k chusme.GroupKeyInfo
	if !chusme.ValidFingerprint(keyID) {
		return k, fmt.Errorf("client: %q is not a key id (64 lowercase hex digits)", keyID)
	}
	path := "/v1/keys/" + keyID
	if generation != 0 {
		path += "/generations/" + strconv.Itoa(generation)
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &k); err != nil {
		return k, err
	}
	if err := checkGroupKey(keyID, k); err != nil {
		return chusme.GroupKeyInfo{}, err
	}
	if generation != 0 && k.Generation != generation {
		return chusme.GroupKeyInfo{}, fmt.Errorf("%w: asked for generation %d of key %s, got %d", ErrWrongGroupKey, generation, keyID, k.Generation)
	}
	return k, nil
}

// RetryWindow is the least time the ceremony drivers keep retrying a
// request that may succeed if sent again (see retryUntil): 60 s, or longer,
// up to the ceremony's round deadline, when they know it.
const RetryWindow = 60 * time.Second

// Backoff of retried requests: full jitter between 0 and a bound that
// doubles from MinRetryWait up to MaxRetryWait. After an answer with
// Retry-After (RetryAfterError) the wait is that plus the jitter, so that
// clients refused together don't come back together.
const (
	MinRetryWait = 50 * time.Millisecond
	MaxRetryWait = 4 * time.Second
)

// retry is retryUntil with no deadline known: for RetryWindow.
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	return retryUntil(ctx, time.Time{}, f)
}

// retryUntil runs f until it succeeds, fails in a way a retry can't mend,
// or the time to retry ends: ctx's end, or deadline (a ceremony round's) or
// RetryWindow from now, whichever is later. It retries what retryable says
// may succeed if sent again: transport failures (the server restarting, a
// dropped connection, ErrDisconnected) and the server's 429 rate_limited
// and 503 unavailable, after their Retry-After; any other answer of the
// server returns at once. Submissions are idempotent, so resending one that
// may have arrived is safe.
func retryUntil[T any](ctx context.Context, deadline time.Time, f func() (T, error)) (T, error) {
	deadline = later(deadline, time.Now().Add(RetryWindow))
	bound := MinRetryWait
	for {
		v, err := f()
		after, again := retryable(err)
		if !again || ctx.Err() != nil {
			return v, err
		}
		wait := after + mathrand.N(bound)
		if time.Now().Add(wait).After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(wait):
		}
		bound = min(2*bound, MaxRetryWait)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// retryable reports whether a request that failed with err may succeed if
// sent again, and how long the server asked to wait first: any error that
// is not the server's answer (a transport failure), and the server's
// rate_limited and unavailable, with their Retry-After (RetryAfterError).
func retryable(err error) (time.Duration, bool) {
	var ce *chusme.Error
	switch {
	case err == nil:
		return 0, false
	case !errors.As(err, &ce):
		return 0, true
	case ce.Code != chusme.CodeRateLimited && ce.Code != chusme.CodeUnavailable:
		return 0, false
	}
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, true
}

// waitUntil long-polls the ceremony from info until done(info) holds,
// reporting every new state to progress. A ceremony that ends otherwise is
// a *CeremonyError.
func (c *Client) waitUntil(ctx context.Context, info chusme.CeremonyInfo, progress func(chusme.CeremonyInfo), done func(chusme.CeremonyInfo) bool) (chusme.CeremonyInfo, error) {
	for {
		if done(info) {
			return info, nil
		}
		if info.Status != chusme.CeremonyOpen {
			return info, &CeremonyError{Info: info}
		}
		next, err := c.waitNext(ctx, info.ID, info.Version, info.Deadline)
		if err != nil {
			return info, err
		}
		if next.Version != info.Version && progress != nil {
			progress(next)
		}
		info = next
	}
}
