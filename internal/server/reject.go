package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Reasons a webhook request is refused: the reason label of
// tasuki_webhook_rejected_total and the reason key of the log line.
const (
	rejectNoSignature        = "no_signature"
	rejectMalformedSignature = "malformed_signature"
	rejectBadSignature       = "bad_signature"
	rejectTooLarge           = "too_large"
	rejectTooSlow            = "too_slow"
	rejectTimeout            = "timeout"
	rejectReadError          = "read_error"
	rejectBusy               = "busy"
	rejectBadHeaders         = "bad_headers"
	rejectBadJSON            = "bad_json"
	rejectInvalidUTF8        = "invalid_utf8"
	rejectNULCharacter       = "nul_character"
)

// rejectOutcome maps each reason to the outcome label of
// tasuki_webhook_deliveries_total, which predates the reasons.
var rejectOutcome = map[string]string{
	rejectNoSignature:        "unauthorized",
	rejectMalformedSignature: "unauthorized",
	rejectBadSignature:       "unauthorized",
	rejectTooLarge:           "too_large",
	rejectTooSlow:            "bad_request",
	rejectTimeout:            "bad_request",
	rejectReadError:          "bad_request",
	rejectBusy:               "busy",
	rejectBadHeaders:         "bad_request",
	rejectBadJSON:            "bad_request",
	rejectInvalidUTF8:        "bad_request",
	rejectNULCharacter:       "bad_request",
}

// DefaultRejectLogInterval is how often at most a refused webhook is logged
// per reason by default.
const DefaultRejectLogInterval = 10 * time.Second

// WithRejectLogInterval sets how often at most a refused webhook is logged,
// per reason (default DefaultRejectLogInterval). Each line counts the
// refusals of its reason left out since the previous one; the metric
// tasuki_webhook_rejected_total counts them all.
func WithRejectLogInterval(d time.Duration) Option {
	return func(s *Server) { s.rejects.every = d }
}

// rejectLog decides which refusals are logged, so that unsigned traffic
// cannot flood the log: at most one line per reason per interval. Reasons
// are the constants above, so its maps stay small.
type rejectLog struct {
	every      time.Duration
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

// allow reports whether a refusal for reason may be logged at now, and how
// many were left out since the last one logged.
func (l *rejectLog) allow(reason string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.suppressed = map[string]time.Time{}, map[string]int{}
	}
	if last, ok := l.last[reason]; ok && now.Sub(last) < l.every {
		l.suppressed[reason]++
		return false, 0
	}
	n := l.suppressed[reason]
	l.last[reason], l.suppressed[reason] = now, 0
	return true, n
}

// reject answers a refused webhook request with code and msg, counts it
// under reason and logs it at a bounded rate. The connection is closed
// after the answer, so that net/http does not wait to drain a body that was
// not read (or read only in part) from a client that may never send it.
// attrs add context to the log line: only values that are safe to log.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, reason string, code int, msg string, attrs ...any) {
	s.metrics.WebhookRejected.WithLabelValues(reason).Inc()
	s.metrics.DeliveriesReceived.WithLabelValues("unverified", rejectOutcome[reason]).Inc()
	if ok, suppressed := s.rejects.allow(reason, s.now()); ok {
		s.log.Log(context.WithoutCancel(r.Context()), slog.LevelWarn, "webhook rejected",
			append([]any{"reason", reason, "status", code, "remote", r.RemoteAddr, "detail", msg, "suppressed", suppressed}, attrs...)...)
	}
	w.Header().Set("Connection", "close")
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	text(w, code, msg)
}
