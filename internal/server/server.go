// Package server is tasuki's HTTP intake: it verifies a GitHub webhook
// delivery, stores it durably through a Queue and answers 202. Nothing else
// happens in the request; the store's workers do the GitHub work later. It
// also serves the health, readiness and metrics endpoints, lets other
// features mount routes (the TFC run-task endpoint), and asks GitHub to
// redeliver deliveries that never reached the store (Redeliverer).
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// MaxBodyBytes is the largest webhook body accepted. GitHub caps payloads at
// 25 MB; anything larger is not from GitHub.
const MaxBodyBytes = 25 << 20

// Queue stores a delivery durably. Enqueue returns only once the delivery is
// committed; created is false when a delivery with the same ID was already
// stored (a redelivery), in which case no second job is made.
type Queue interface {
	Enqueue(ctx context.Context, d dispatch.Delivery) (created bool, err error)
}

// Pinger reports whether the store is reachable; /readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is the HTTP handler of the App process.
type Server struct {
	queue   Queue
	secret  []byte
	mux     *http.ServeMux
	log     *slog.Logger
	metrics *metrics.Metrics
	pinger  Pinger
	checks  []readinessCheck
	routes  []route
	now     func() time.Time
	budget  *bodyBudget
	limits  bodyLimits
	rejects *rejectLog

	previous []byte // also accepted while the secret is rotated; see WithPreviousSecret

	noMetrics bool // see WithoutMetricsRoute
}

type route struct {
	pattern string
	h       http.Handler
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMetrics sets the collectors the intake reports to and that /metrics
// serves (default: a fresh metrics.New()).
func WithMetrics(m *metrics.Metrics) Option { return func(s *Server) { s.metrics = m } }

// WithoutMetricsRoute leaves /metrics off this server, for a process that
// serves it on a listener of its own (TASUKI_METRICS_LISTEN): once metrics
// carry repository names, they should not be readable from the internet.
func WithoutMetricsRoute() Option { return func(s *Server) { s.noMetrics = true } }

// MetricsHandler serves m's registry in Prometheus's format.
func MetricsHandler(m *metrics.Metrics) http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// WithPinger sets what /readyz checks. Without it, a queue that has a
// Ping(ctx) error method is used, and otherwise /readyz always answers 200.
func WithPinger(p Pinger) Option { return func(s *Server) { s.pinger = p } }

// WithReadiness adds a check that /readyz runs after the store's ping. While
// check returns an error, /readyz names it on a line "name: error" under
// "degraded: accepting webhooks; jobs wait for:", but still answers 200:
// readiness decides whether a load balancer sends this replica webhooks,
// and the webhook endpoint keeps storing deliveries while, say, GitHub is
// unreachable. Taking every replica out of rotation then would turn a
// GitHub outage into a webhook outage. Only an unreachable store, which
// does stop the intake, answers 503. The error is shown to whoever probes,
// so it must carry no secret, host or credential.
func WithReadiness(name string, check func(ctx context.Context) error) Option {
	return func(s *Server) { s.checks = append(s.checks, readinessCheck{name, check}) }
}

type readinessCheck struct {
	name  string
	check func(ctx context.Context) error
}

// DefaultBodyBudget is how many bytes of webhook bodies the server holds in
// memory at once by default.
const DefaultBodyBudget = 256 << 20

// WithBodyBudget bounds the bytes of webhook bodies held in memory at once
// (default DefaultBodyBudget). Bodies are read before their signature can be
// checked, so without a bound anyone could make the process allocate 25 MiB
// per connection. A body's bytes are reserved as they arrive (see body.go);
// a request whose next chunk does not fit waits for bytes to be given back,
// and gets 503 only if its body timeout passes first.
func WithBodyBudget(bytes int64) Option {
	return func(s *Server) { s.budget = newBodyBudget(bytes) }
}

// WithRoute mounts h at pattern (a net/http ServeMux pattern such as
// "POST /tfc/run-task"), so features with their own endpoints plug in.
func WithRoute(pattern string, h http.Handler) Option {
	return func(s *Server) { s.routes = append(s.routes, route{pattern, h}) }
}

// New returns a Server storing verified deliveries in q. secret is the
// webhook secret of the GitHub App; New refuses an empty one, because an
// empty secret would make every request "verified".
func New(q Queue, secret []byte, opts ...Option) (*Server, error) {
	if len(secret) == 0 {
		return nil, errors.New("webhook secret is empty: refusing to accept unsigned deliveries")
	}
	if q == nil {
		return nil, errors.New("server needs a queue")
	}
	s := &Server{
		queue:   q,
		secret:  secret,
		now:     time.Now,
		limits:  bodyLimits{minRate: DefaultMinBodyRate, grace: DefaultBodyGrace, timeout: DefaultBodyTimeout},
		rejects: &rejectLog{every: DefaultRejectLogInterval},
	}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.budget == nil {
		s.budget = newBodyBudget(DefaultBodyBudget)
	}
	s.budget.held = s.metrics.WebhookBodyBytes
	for reason := range rejectOutcome {
		s.metrics.WebhookRejected.WithLabelValues(reason) // shown at 0 until it happens
	}
	if s.pinger == nil {
		if p, ok := q.(Pinger); ok {
			s.pinger = p
		}
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /webhook", s.webhook)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if !s.noMetrics {
		s.mux.Handle("GET /metrics", MetricsHandler(s.metrics))
	}
	for _, r := range s.routes {
		s.mux.Handle(r.pattern, r.h)
	}
	return s, nil
}

// ServeHTTP routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run serves on ln until ctx is done, then stops accepting connections and
// waits up to grace for in-flight requests (each of which either committed
// its delivery or did not answer 202). It returns nil after a clean stop.
func (s *Server) Run(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// A backstop for the mounted routes: the webhook intake sets
		// tighter read deadlines of its own while it reads a body (body.go).
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop http server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// maxHeaderValue bounds the event name and delivery ID we store; GitHub's
// are short (a GUID, a snake_case word).
const maxHeaderValue = 100

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	// The event header is untrusted until the signature checks out; keep it
	// out of metric labels until then so forged requests cannot blow up the
	// label set.
	event := "unverified"
	outcome := func(o string) { s.metrics.DeliveriesReceived.WithLabelValues(event, o).Inc() }

	// What can be refused without the body is refused before reading it.
	if r.ContentLength > MaxBodyBytes {
		s.reject(w, r, rejectTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
		return
	}
	sigHeader := r.Header.Get("X-Hub-Signature-256")
	if _, err := parseSignature(sigHeader); err != nil {
		reason := rejectMalformedSignature
		if errors.Is(err, ErrNoSignature) {
			reason = rejectNoSignature
		}
		s.reject(w, r, reason, http.StatusUnauthorized, err.Error())
		return
	}

	body, err := s.readBody(w, r)
	defer s.budget.give(int64(cap(body)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			s.reject(w, r, rejectTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
		case errors.Is(err, errTooSlow):
			s.reject(w, r, rejectTooSlow, http.StatusRequestTimeout,
				fmt.Sprintf("body arrives too slowly (under %d bytes/s after %s)", s.limits.minRate, s.limits.grace), "received", len(body))
		case errors.Is(err, errBodyTimeout):
			s.reject(w, r, rejectTimeout, http.StatusRequestTimeout,
				fmt.Sprintf("body did not arrive within %s", s.limits.timeout), "received", len(body))
		case errors.Is(err, errBusy):
			s.reject(w, r, rejectBusy, http.StatusServiceUnavailable, "too many deliveries in flight")
		default:
			s.reject(w, r, rejectReadError, http.StatusBadRequest, "could not read body", "err", err)
		}
		return
	}
	if err := s.verify(body, sigHeader); err != nil { // signature.go
		s.reject(w, r, rejectBadSignature, http.StatusUnauthorized, err.Error())
		return
	}

	// The body is GitHub's (or someone's holding the secret). The headers
	// are not signed; once checkHeaders passes they are short and
	// printable, and may be named in the log.
	id, ev := r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-GitHub-Event")
	if msg := checkHeaders(dispatch.Delivery{ID: id, Event: ev}); msg != "" {
		s.reject(w, r, rejectBadHeaders, http.StatusBadRequest, msg)
		return
	}
	d, err := ParseDelivery(id, ev, body)
	if err != nil {
		reason := rejectBadJSON
		switch {
		case errors.Is(err, ErrInvalidUTF8):
			reason = rejectInvalidUTF8
		case errors.Is(err, ErrNULCharacter):
			reason = rejectNULCharacter
		}
		s.reject(w, r, reason, http.StatusBadRequest, err.Error(), "delivery", id, "event", ev)
		return
	}
	event = d.Event

	created, err := s.queue.Enqueue(r.Context(), d)
	if err != nil {
		outcome("error")
		s.log.ErrorContext(r.Context(), "store delivery", "delivery", d.ID, "event", d.Event,
			"action", d.Action, "installation", d.InstallationID, "repo", d.Repository, "err", err)
		text(w, http.StatusInternalServerError, "could not store delivery")
		return
	}
	if created {
		outcome("accepted")
	} else {
		outcome("duplicate")
	}
	s.metrics.AckLatency.Observe(s.now().Sub(start).Seconds())
	s.log.DebugContext(r.Context(), "delivery stored", "delivery", d.ID, "event", d.Event,
		"action", d.Action, "installation", d.InstallationID, "repo", d.Repository, "duplicate", !created)
	text(w, http.StatusAccepted, "accepted")
}

// Errors of ParseDelivery for bodies that the two stores would not treat
// alike: PostgreSQL refuses text that is not UTF-8 and, in jsonb and in the
// text values decoded from the body (action, repository), the NUL
// character, which SQLite stores. Refusing them here answers GitHub the same
// way on both, instead of storing on one what the other refuses.
var (
	ErrInvalidUTF8  = errors.New("body is not valid UTF-8")
	ErrNULCharacter = errors.New(`body holds a JSON string with \u0000 (NUL), which tasuki cannot store`)
)

// ParseDelivery makes a Delivery of a webhook body and its X-GitHub-Delivery
// and X-GitHub-Event values, reading action, installation.id and
// repository.full_name from the body. The error says what is wrong: a
// missing or malformed header, a body that is not UTF-8 (ErrInvalidUTF8),
// not a JSON object, or that holds \u0000 (ErrNULCharacter).
func ParseDelivery(id, event string, body []byte) (dispatch.Delivery, error) {
	d := dispatch.Delivery{ID: id, Event: event}
	if msg := checkHeaders(d); msg != "" {
		return d, errors.New(msg)
	}
	if !utf8.Valid(body) {
		return d, fmt.Errorf("%w (first invalid byte at offset %d)", ErrInvalidUTF8, invalidUTF8At(body))
	}
	env, err := readEnvelope(body)
	if err != nil {
		return d, fmt.Errorf("body is not a JSON object: %w", err)
	}
	// After readEnvelope: only in valid JSON is every backslash an escape.
	if at := nulEscapeAt(body); at >= 0 {
		return d, fmt.Errorf("%w (at offset %d)", ErrNULCharacter, at)
	}
	d.Action, d.InstallationID, d.Repository = env.Action, env.InstallationID, env.Repository
	d.Payload = body
	return d, nil
}

// invalidUTF8At returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// nulEscapeAt returns the offset of the first \u0000 escape in b, which
// must be valid JSON, or -1. In valid JSON a backslash occurs only in a
// string and always starts an escape, so skipping each escape's first two
// bytes keeps "\\u0000" (a backslash, then the text u0000) apart.
func nulEscapeAt(b []byte) int {
	for i := 0; i < len(b); i += 2 {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j
		if i+6 <= len(b) && string(b[i+1:i+6]) == "u0000" {
			return i
		}
	}
	return -1
}

// checkHeaders returns what is wrong with the delivery headers, or "".
func checkHeaders(d dispatch.Delivery) string {
	switch {
	case d.Event == "":
		return "missing X-GitHub-Event header"
	case d.ID == "":
		return "missing X-GitHub-Delivery header"
	case len(d.Event) > maxHeaderValue || !printable(d.Event):
		return "malformed X-GitHub-Event header"
	case len(d.ID) > maxHeaderValue || !printable(d.ID):
		return "malformed X-GitHub-Delivery header"
	}
	return ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var missing []string
	if s.pinger != nil {
		if err := s.pinger.Ping(ctx); err != nil {
			// The error may name the database host; it goes to the log, not
			// to whoever probes us.
			s.log.WarnContext(r.Context(), "readiness check failed", "err", err)
			missing = append(missing, "store unreachable")
		}
	}
	if len(missing) > 0 {
		text(w, http.StatusServiceUnavailable, strings.Join(missing, "\n"))
		return
	}
	var waiting []string
	for _, c := range s.checks {
		if err := c.check(ctx); err != nil {
			waiting = append(waiting, c.name+": "+err.Error())
		}
	}
	if len(waiting) > 0 {
		text(w, http.StatusOK, "degraded: accepting webhooks; jobs wait for:\n"+strings.Join(waiting, "\n"))
		return
	}
	text(w, http.StatusOK, "ok")
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}
