// Package server is tasuki's HTTP intake: it verifies a GitHub webhook
// delivery, stores it durably through a Queue and answers 202. Nothing else
// happens in the request; the store's workers do the GitHub work later. It
// also serves the health, readiness and metrics endpoints, lets other
// features mount routes (the TFC run-task endpoint), and asks GitHub to
// redeliver deliveries that never reached the store (Redeliverer).
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

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
	routes  []route
	now     func() time.Time
	budget  *bodyBudget
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

// WithPinger sets what /readyz checks. Without it, a queue that has a
// Ping(ctx) error method is used, and otherwise /readyz always answers 200.
func WithPinger(p Pinger) Option { return func(s *Server) { s.pinger = p } }

// DefaultBodyBudget is how many bytes of webhook bodies the server holds in
// memory at once by default.
const DefaultBodyBudget = 256 << 20

// WithBodyBudget bounds the bytes of webhook bodies held in memory at once
// (default DefaultBodyBudget). Bodies are read before their signature can be
// checked, so without a bound anyone could make the process allocate 25 MiB
// per connection; a request that does not fit gets 503 and GitHub's failed
// delivery is redelivered later.
func WithBodyBudget(bytes int64) Option {
	return func(s *Server) { s.budget = &bodyBudget{free: bytes} }
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
	s := &Server{queue: q, secret: secret, now: time.Now}
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
		s.budget = &bodyBudget{free: DefaultBodyBudget}
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
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
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
		// GitHub gives up on a delivery after 10 s; a body that takes longer
		// to arrive is not worth waiting for.
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

	if r.ContentLength > MaxBodyBytes {
		outcome("too_large")
		text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
		return
	}
	// Reserve what the body may take: its declared length, or the limit
	// when it is sent without one.
	reserve := int64(MaxBodyBytes)
	if r.ContentLength >= 0 {
		reserve = r.ContentLength
	}
	if !s.budget.take(reserve) {
		outcome("busy")
		w.Header().Set("Retry-After", "1")
		text(w, http.StatusServiceUnavailable, "too many deliveries in flight")
		return
	}
	defer s.budget.give(reserve)
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			outcome("too_large")
			text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
			return
		}
		outcome("bad_request")
		text(w, http.StatusBadRequest, "could not read body")
		return
	}
	if err := VerifySignature(s.secret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		outcome("unauthorized")
		s.log.WarnContext(r.Context(), "webhook rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		text(w, http.StatusUnauthorized, err.Error())
		return
	}

	d, err := ParseDelivery(r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-GitHub-Event"), body)
	if err != nil {
		outcome("bad_request")
		text(w, http.StatusBadRequest, err.Error())
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

// ParseDelivery makes a Delivery of a webhook body and its X-GitHub-Delivery
// and X-GitHub-Event values, reading action, installation.id and
// repository.full_name from the body. The error says what is wrong: a
// missing or malformed header, or a body that is not a JSON object.
func ParseDelivery(id, event string, body []byte) (dispatch.Delivery, error) {
	d := dispatch.Delivery{ID: id, Event: event}
	if msg := checkHeaders(d); msg != "" {
		return d, errors.New(msg)
	}
	env, err := readEnvelope(body)
	if err != nil {
		return d, fmt.Errorf("body is not a JSON object: %w", err)
	}
	d.Action, d.InstallationID, d.Repository = env.Action, env.InstallationID, env.Repository
	d.Payload = body
	return d, nil
}

// bodyBudget counts the bytes of request bodies the server may still hold.
type bodyBudget struct {
	mu   sync.Mutex
	free int64
}

func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

// readBody reads r whole. With the request's Content-Length as hint it
// reads into one buffer of the right size instead of growing one from 512
// bytes, which cost the intake a tenth of its CPU in copies.
func readBody(r io.Reader, hint int64) ([]byte, error) {
	if hint <= 0 || hint > MaxBodyBytes {
		return io.ReadAll(r)
	}
	buf := make([]byte, hint+1) // one more, to see the end without growing
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	// Longer than announced (the HTTP server normally prevents this).
	rest, err := io.ReadAll(r)
	return append(buf, rest...), err
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
	if s.pinger == nil {
		text(w, http.StatusOK, "ok")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.pinger.Ping(ctx); err != nil {
		// The error may name the database host; it goes to the log, not to
		// whoever probes us.
		s.log.WarnContext(r.Context(), "readiness check failed", "err", err)
		text(w, http.StatusServiceUnavailable, "store unreachable")
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
