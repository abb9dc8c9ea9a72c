package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/server"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the logged lines that contain all of subs.
func (s *syncBuffer) lines(subs ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		ok := l != ""
		for _, sub := range subs {
			ok = ok && strings.Contains(l, sub)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// TestRejectionsCountedAndLogBounded sends bursts of refused requests: each
// is counted under its reason in /metrics, but the log gets one line per
// reason per interval, and the next line says how many were left out.
func TestRejectionsCountedAndLogBounded(t *testing.T) {
	const interval = 300 * time.Millisecond
	var logged syncBuffer
	m := metrics.New()
	s, err := server.New(&server.MemQueue{}, testSecret, server.WithMetrics(m),
		server.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))), server.WithRejectLogInterval(interval))
	if err != nil {
		t.Fatal(err)
	}
	send := func(n int, body []byte, sig string) {
		for i := range n {
			r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			r.Header.Set("X-GitHub-Event", "push")
			r.Header.Set("X-GitHub-Delivery", fmt.Sprint("r-", i))
			if sig != "" {
				r.Header.Set("X-Hub-Signature-256", sig)
			}
			s.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	start := time.Now()
	send(200, []byte(`{}`), "")                                                              // no_signature
	send(50, []byte(`{}`), forgedSignature)                                                  // bad_signature
	send(3, []byte("{\"a\":\"\xff\"}"), server.Sign(testSecret, []byte("{\"a\":\"\xff\"}"))) // invalid_utf8
	send(2, []byte(`{`), server.Sign(testSecret, []byte(`{`)))                               // bad_json
	if time.Since(start) >= interval {
		t.Skipf("the bursts took %v, longer than the log interval", time.Since(start))
	}

	wantLines := map[string]int{"no_signature": 1, "bad_signature": 1, "invalid_utf8": 1, "bad_json": 1}
	for reason, n := range wantLines {
		if got := logged.lines("webhook rejected", "reason="+reason+" "); len(got) != n {
			t.Errorf("%d log lines for %s, want %d:\n%s", len(got), reason, n, strings.Join(got, "\n"))
		}
	}
	if got := logged.lines("webhook rejected"); len(got) != 4 {
		t.Errorf("%d log lines for 255 refusals, want 4", len(got))
	}

	time.Sleep(interval)
	send(1, []byte(`{}`), "")
	if got := logged.lines("reason=no_signature ", "suppressed=199"); len(got) != 1 {
		t.Errorf("no line says the 199 no_signature refusals left out:\n%s", strings.Join(logged.lines("reason=no_signature"), "\n"))
	}

	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`tasuki_webhook_rejected_total{reason="no_signature"} 201`,
		`tasuki_webhook_rejected_total{reason="bad_signature"} 50`,
		`tasuki_webhook_rejected_total{reason="invalid_utf8"} 3`,
		`tasuki_webhook_rejected_total{reason="bad_json"} 2`,
		`tasuki_webhook_rejected_total{reason="too_slow"} 0`,
		`tasuki_webhook_deliveries_total{event="unverified",outcome="unauthorized"} 251`,
		`tasuki_webhook_body_bytes 0`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestParseDeliveryEncoding checks the body checks that keep SQLite and
// PostgreSQL alike: UTF-8, and no \u0000 in any JSON string, told apart
// from a backslash followed by the text u0000.
func TestParseDeliveryEncoding(t *testing.T) {
	tests := []struct {
		body string
		want error
	}{
		{`{"a":"plain"}`, nil},
		{`{"a":"café ✓ 🚀"}`, nil},
		{`{"a":"\u00e9\u0001"}`, nil},
		{`{"a":"\\u0000"}`, nil},   // backslash, then text
		{`{"a":"\\\\u0000"}`, nil}, // two backslashes, then text
		{`{"a":"\u0000"}`, server.ErrNULCharacter},
		{`{"a":"\\\u0000"}`, server.ErrNULCharacter}, // backslash, then NUL
		{`{"\u0000":1}`, server.ErrNULCharacter},
		{`{"a":["x","\u0000"]}`, server.ErrNULCharacter},
		{"{\"a\":\"\xc3\"}", server.ErrInvalidUTF8},
		{"{\"a\":\"\xed\xa0\x80\"}", server.ErrInvalidUTF8}, // a surrogate in UTF-8
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := server.ParseDelivery("d-1", "push", []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("ParseDelivery(%q) = %v, want %v", tt.body, err, tt.want)
			}
		})
	}
}
