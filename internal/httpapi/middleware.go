package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ratelimit"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyClientIP
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(keyClientIP).(string)
	return ip
}

func principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(keyPrincipal).(auth.Principal)
	return p
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe is the outermost middleware: request id, client IP, the log line
// and the metrics of every request, and recovery from panics. It logs the
// path only, never the query string (it may carry credentials).
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := rand.Text()[:16]
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyClientIP, a.clientIP(r))
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "request_id", id, "route", r.Pattern) // the value may hold secrets
				if rec.status == 0 {
					writeError(rec, r, a.log, chusme.Errorf(chusme.CodeInternal, "internal error"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			a.metrics.Request(route, r.Method, rec.status, d)
			if a.log.Enabled(ctx, slog.LevelInfo) { // spares building the record's arguments otherwise
				a.log.Info("request", "request_id", id, "method", r.Method, "route", route, "path", r.URL.Path,
					"status", rec.status, "duration_ms", float64(d.Microseconds())/1000, "ip", clientIP(ctx))
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// clientIP returns the client's address: the connection's peer, or, when the
// peer is a trusted proxy, the rightmost X-Forwarded-For entry that is not a
// trusted proxy.
func (a *API) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !a.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !a.trusted(hop) {
			return hop.Unmap().String()
		}
	}
	return host
}

func (a *API) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// limit refuses a request with 429 when key's bucket in l is empty.
func (a *API) limit(w http.ResponseWriter, r *http.Request, l *ratelimit.Limiter, scope, key string) bool {
	err := l.Take(key, "requests")
	if err == nil {
		return true
	}
	a.metrics.RateLimited(scope)
	writeError(w, r, a.log, err)
	return false
}

// perIP wraps a handler with a per-client-IP limit.
func (a *API) perIP(l *ratelimit.Limiter, scope string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.limit(w, r, l, scope, clientIP(r.Context())) {
			next(w, r)
		}
	}
}

// authed wraps a handler that needs a valid access token: it authenticates
// the bearer token (signature, claims and auth.Service.LiveSession) and
// applies the per-identity limit.
func (a *API) authed(next http.HandlerFunc) http.HandlerFunc { return a.principalOf(nil, next) }

// byIdentity is authed for the routes charged to the caller's identity and
// not to the per-IP limit (route.byIdentity): a request whose credential
// fails is charged to its address in Config.AuthFailLimit instead, and
// while the address has nothing left there, such requests are refused
// before they are authenticated.
func (a *API) byIdentity(next http.HandlerFunc) http.HandlerFunc {
	return a.principalOf(a.cfg.AuthFailLimit, next)
}

// principalOf authenticates the bearer token, applies the per-identity
// limit and calls next with the principal; failures are charged to the
// client's address in failed, if not nil (byIdentity).
func (a *API) principalOf(failed *ratelimit.Limiter, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r.Context())
		if err := failed.Check(ip, "requests with a failing credential"); err != nil {
			a.metrics.RateLimited("ip")
			writeError(w, r, a.log, err)
			return
		}
		var p auth.Principal
		var err error
		if token, ok := bearer(r); ok {
			p, err = a.auth.Authenticate(r.Context(), token)
		} else {
			err = chusme.Errorf(chusme.CodeUnauthorized, "an access token is required (Authorization: Bearer)")
		}
		if err != nil {
			if failed != nil && statusOf[chusme.ErrorCode(err)] < http.StatusInternalServerError {
				failed.Take(ip, "requests with a failing credential")
			}
			writeError(w, r, a.log, err)
			return
		}
		if !a.limit(w, r, a.identityLimit, "identity", p.Fingerprint) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}
