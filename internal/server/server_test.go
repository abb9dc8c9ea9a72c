package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

var testSecret = []byte("test-webhook-secret")

// fixture is one payload of testdata/fixtures/webhooks, with the event and
// action its file name gives (EVENT.ACTION.N.json or EVENT.N.json).
type fixture struct {
	name, event, action string
	body                []byte
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	dir := testenv.Fixtures(t, "webhooks")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []fixture
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
		fx := fixture{name: filepath.Base(f), event: parts[0], body: body}
		if len(parts) == 3 {
			fx.action = parts[1]
		}
		out = append(out, fx)
	}
	if len(out) < 100 {
		t.Fatalf("found only %d webhook fixtures in %s", len(out), dir)
	}
	return out
}

func fixtureNamed(t testing.TB, name string) fixture {
	t.Helper()
	for _, f := range loadFixtures(t) {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no fixture %s", name)
	return fixture{}
}

// delivery builds a signed webhook request the way GitHub sends it.
func delivery(id, event string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", id)
	r.Header.Set("X-Hub-Signature-256", server.Sign(testSecret, body))
	return r
}

// repoOf reads repository.full_name by a route independent of the intake's.
func repoOf(t testing.TB, body []byte) (string, int64) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	repo := ""
	if r, ok := m["repository"].(map[string]any); ok {
		repo, _ = r["full_name"].(string)
	}
	var inst int64
	if i, ok := m["installation"].(map[string]any); ok {
		f, _ := i["id"].(float64)
		inst = int64(f)
	}
	return repo, inst
}

func TestWebhookIntake(t *testing.T) {
	pr := fixtureNamed(t, "pull_request.opened.1.json")
	tests := []struct {
		name     string
		requests func() []*http.Request
		codes    []int
		stored   []string // delivery IDs in the queue afterwards
		says     string   // in the last answer's body, if set
	}{
		{
			name:     "signed delivery is stored",
			requests: func() []*http.Request { return []*http.Request{delivery("d-1", "pull_request", pr.body)} },
			codes:    []int{202},
			stored:   []string{"d-1"},
		},
		{
			name: "redelivery answers 202 and makes no second job",
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "pull_request", pr.body), delivery("d-1", "pull_request", pr.body)}
			},
			codes:  []int{202, 202},
			stored: []string{"d-1"},
		},
		{
			name: "missing signature",
			requests: func() []*http.Request {
				r := delivery("d-1", "pull_request", pr.body)
				r.Header.Del("X-Hub-Signature-256")
				return []*http.Request{r}
			},
			codes: []int{401},
		},
		{
			name: "signature made with another secret",
			requests: func() []*http.Request {
				r := delivery("d-1", "pull_request", pr.body)
				r.Header.Set("X-Hub-Signature-256", server.Sign([]byte("other"), pr.body))
				return []*http.Request{r}
			},
			codes: []int{401},
		},
		{
			name: "signature of another body",
			requests: func() []*http.Request {
				r := delivery("d-1", "pull_request", pr.body)
				r.Header.Set("X-Hub-Signature-256", server.Sign(testSecret, []byte("{}")))
				return []*http.Request{r}
			},
			codes: []int{401},
		},
		{
			name: "sha1 signature only",
			requests: func() []*http.Request {
				r := delivery("d-1", "pull_request", pr.body)
				r.Header.Del("X-Hub-Signature-256")
				r.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
				return []*http.Request{r}
			},
			codes: []int{401},
		},
		{
			name: "malformed signature",
			requests: func() []*http.Request {
				r := delivery("d-1", "pull_request", pr.body)
				r.Header.Set("X-Hub-Signature-256", "sha256=zz")
				return []*http.Request{r}
			},
			codes: []int{401},
		},
		{
			name: "body is not JSON",
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "pull_request", []byte("action=opened"))}
			},
			codes: []int{400},
		},
		{
			name:     "body is a JSON array",
			requests: func() []*http.Request { return []*http.Request{delivery("d-1", "pull_request", []byte(`[1,2]`))} },
			codes:    []int{400},
		},
		{
			name:     "missing event header",
			requests: func() []*http.Request { return []*http.Request{delivery("d-1", "", pr.body)} },
			codes:    []int{400},
		},
		{
			name:     "missing delivery header",
			requests: func() []*http.Request { return []*http.Request{delivery("", "pull_request", pr.body)} },
			codes:    []int{400},
		},
		{
			name: "GET is not a delivery",
			requests: func() []*http.Request {
				return []*http.Request{httptest.NewRequest(http.MethodGet, "/webhook", nil)}
			},
			codes: []int{405},
		},
		{
			name: "over 25 MiB with Content-Length",
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "pull_request", bigJSON(server.MaxBodyBytes+1))}
			},
			codes: []int{413},
		},
		{
			name: "over 25 MiB chunked",
			requests: func() []*http.Request {
				body := bigJSON(server.MaxBodyBytes + 1)
				r := delivery("d-1", "pull_request", body)
				r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body))) // hides the length
				r.ContentLength = -1
				return []*http.Request{r}
			},
			codes: []int{413},
		},
		{
			// PostgreSQL refuses such text and SQLite stores it: refused
			// on both, with the same answer.
			name: "body is not valid UTF-8",
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "issues", []byte("{\"action\":\"opened\",\"title\":\"caf\xe9\"}"))}
			},
			codes: []int{400},
			says:  "body is not valid UTF-8 (first invalid byte at offset 31)",
		},
		{
			name: `JSON string holding \u0000`,
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "issues", []byte(`{"action":"opened","title":"a\u0000b"}`))}
			},
			codes: []int{400},
			says:  `body holds a JSON string with \u0000 (NUL), which tasuki cannot store (at offset 29)`,
		},
		{
			name: `action holding \u0000`,
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "issues", []byte(`{"action":"\u0000"}`))}
			},
			codes: []int{400},
			says:  `\u0000`,
		},
		{
			name: `non-ASCII text and an escaped backslash before u0000 are stored`,
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "issues", []byte(`{"action":"opened","title":"café 🚀 C:\\u0000"}`))}
			},
			codes:  []int{202},
			stored: []string{"d-1"},
		},
		{
			name: "exactly 25 MiB is accepted",
			requests: func() []*http.Request {
				return []*http.Request{delivery("d-1", "pull_request", bigJSON(server.MaxBodyBytes))}
			},
			codes:  []int{202},
			stored: []string{"d-1"},
		},
	}
	for _, be := range backends() {
		for _, tt := range tests {
			t.Run(be.name+"/"+tt.name, func(t *testing.T) {
				q, stored := be.open(t)
				s, err := server.New(q, testSecret)
				if err != nil {
					t.Fatal(err)
				}
				var codes []int
				var last string
				for _, r := range tt.requests() {
					w := httptest.NewRecorder()
					s.ServeHTTP(w, r)
					codes = append(codes, w.Code)
					last = w.Body.String()
				}
				if diff := cmp.Diff(tt.codes, codes); diff != "" {
					t.Errorf("status codes (-want +got):\n%s", diff)
				}
				if !strings.Contains(last, tt.says) {
					t.Errorf("answer %q does not say %q", last, tt.says)
				}
				var ids []string
				for _, d := range stored(t) {
					ids = append(ids, d.ID)
				}
				if diff := cmp.Diff(tt.stored, ids); diff != "" {
					t.Errorf("stored deliveries (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// backend is a Queue under test and a way to read back what it stored
// (ID, event, action, repository; the payload only where the queue can
// return it), oldest first.
type backend struct {
	name string
	open func(t *testing.T) (server.Queue, func(t *testing.T) []dispatch.Delivery)
}

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T) (server.Queue, func(t *testing.T) []dispatch.Delivery) {
			q := &server.MemQueue{}
			return q, func(*testing.T) []dispatch.Delivery { return q.Deliveries() }
		}},
		{"sqlite", func(t *testing.T) (server.Queue, func(t *testing.T) []dispatch.Delivery) {
			return storeBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
		}},
		{"postgres", func(t *testing.T) (server.Queue, func(t *testing.T) []dispatch.Delivery) {
			return storeBackend(t, pgtest.Start(t))
		}},
	}
}

// storeBackend opens the real store at url; what it stored is read back
// with ListDeliveries, which lists jobs, so a second job would show.
func storeBackend(t *testing.T, url string) (server.Queue, func(t *testing.T) []dispatch.Delivery) {
	st, err := store.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func(t *testing.T) []dispatch.Delivery {
		rows, err := st.ListDeliveries(context.Background(), store.ListFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []dispatch.Delivery
		for i := len(rows) - 1; i >= 0; i-- { // the store lists newest first
			r := rows[i]
			if r.State != store.StatePending {
				t.Errorf("delivery %s is %s, want pending (no workers run)", r.ID, r.State)
			}
			out = append(out, dispatch.Delivery{ID: r.ID, Event: r.Event, Action: r.Action, Repository: r.Repository})
		}
		return out
	}
}

// bigJSON returns a JSON object of exactly n bytes.
func bigJSON(n int) []byte {
	b := make([]byte, n)
	copy(b, `{"action":"opened","pad":"`)
	for i := len(`{"action":"opened","pad":"`); i < n-2; i++ {
		b[i] = 'x'
	}
	copy(b[n-2:], `"}`)
	return b
}

func TestEveryFixtureIsStored(t *testing.T) {
	fixtures := loadFixtures(t)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			q, stored := be.open(t)
			s, err := server.New(q, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			var want []dispatch.Delivery
			for i, f := range fixtures {
				id := fmt.Sprintf("fixture-%03d", i)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, delivery(id, f.event, f.body))
				if w.Code != http.StatusAccepted {
					t.Errorf("%s: status %d: %s", f.name, w.Code, w.Body)
				}
				repo, inst := repoOf(t, f.body)
				d := dispatch.Delivery{ID: id, Event: f.event, Action: f.action, Repository: repo}
				if be.name == "memory" {
					d.InstallationID, d.Payload = inst, f.body
				}
				want = append(want, d)
			}
			if diff := cmp.Diff(want, stored(t)); diff != "" {
				t.Errorf("stored deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

type failingQueue struct{ err error }

func (f failingQueue) Enqueue(context.Context, dispatch.Delivery) (bool, error) { return false, f.err }
func (f failingQueue) Ping(context.Context) error                               { return f.err }

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	pr := fixtureNamed(t, "pull_request.opened.1.json")
	s, err := server.New(failingQueue{errors.New("database is locked")}, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, delivery("d-1", "pull_request", pr.body))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500 so that GitHub records a failed delivery", w.Code)
	}
	if strings.Contains(w.Body.String(), "locked") {
		t.Errorf("response leaks the store error: %q", w.Body)
	}
}

func TestNewRefusesEmptySecret(t *testing.T) {
	if _, err := server.New(&server.MemQueue{}, nil); err == nil {
		t.Fatal("New accepted an empty webhook secret")
	}
}

func TestHealthReadyMetricsAndRoutes(t *testing.T) {
	pr := fixtureNamed(t, "pull_request.opened.1.json")
	m := metrics.New()
	runTask := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })

	up, err := server.New(&server.MemQueue{}, testSecret, server.WithMetrics(m), server.WithRoute("POST /tfc/run-task", runTask))
	if err != nil {
		t.Fatal(err)
	}
	down, err := server.New(failingQueue{errors.New("dial tcp 10.0.0.1:5432: connection refused")}, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	// One accepted, one duplicate and one forged delivery for the counters.
	for _, r := range []*http.Request{delivery("d-1", "pull_request", pr.body), delivery("d-1", "pull_request", pr.body), delivery("d-2", "pull_request", []byte(`{}`))} {
		if r.Header.Get("X-GitHub-Delivery") == "d-2" {
			r.Header.Set("X-Hub-Signature-256", server.Sign([]byte("forged"), []byte(`{}`)))
		}
		up.ServeHTTP(httptest.NewRecorder(), r)
	}

	tests := []struct {
		name     string
		h        http.Handler
		method   string
		path     string
		code     int
		contains []string
	}{
		{"healthz", up, "GET", "/healthz", 200, []string{"ok"}},
		{"healthz while store is down", down, "GET", "/healthz", 200, []string{"ok"}},
		{"readyz", up, "GET", "/readyz", 200, []string{"ok"}},
		{"readyz while store is down", down, "GET", "/readyz", 503, []string{"store unreachable"}},
		{"mounted route", up, "POST", "/tfc/run-task", http.StatusTeapot, nil},
		{"metrics", up, "GET", "/metrics", 200, []string{
			`tasuki_webhook_deliveries_total{event="pull_request",outcome="accepted"} 1`,
			`tasuki_webhook_deliveries_total{event="pull_request",outcome="duplicate"} 1`,
			`tasuki_webhook_deliveries_total{event="unverified",outcome="unauthorized"} 1`,
			`tasuki_webhook_ack_seconds_count 2`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.code {
				t.Errorf("status %d, want %d", w.Code, tt.code)
			}
			for _, c := range tt.contains {
				if !strings.Contains(w.Body.String(), c) {
					t.Errorf("body lacks %q:\n%s", c, w.Body)
				}
			}
			if strings.Contains(w.Body.String(), "10.0.0.1") {
				t.Errorf("body leaks the store address: %s", w.Body)
			}
		})
	}
}

// TestBodyBudget checks that a request holds of the body budget what it has
// sent, not what it declares, and that a delivery that does not fit waits
// for bytes to be given back instead of being refused:
//   - a sender declaring 900 KiB of a 2 MiB budget but sending 8 bytes
//     holds a first chunk (64 KiB), and a signed 1 MiB delivery is stored;
//   - a sender that has sent 700 KiB of 768 KiB holds 768 KiB, and a
//     signed 1 MiB delivery (which needs 1.5 MiB while its buffer grows)
//     waits until that sender gives up, and is then stored;
//   - a body larger than the whole budget can never fit and gets 503.
func TestBodyBudget(t *testing.T) {
	m := metrics.New()
	q := &server.MemQueue{}
	s, err := server.New(q, testSecret, server.WithBodyBudget(2<<20), server.WithMetrics(m), server.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	held := func() int64 { return int64(value(m.WebhookBodyBytes)) }
	post := func(id string, body []byte) int {
		r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
		r.Header.Set("X-GitHub-Event", "pull_request")
		r.Header.Set("X-GitHub-Delivery", id)
		r.Header.Set("X-Hub-Signature-256", server.Sign(testSecret, body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stopA, stopB := make(chan struct{}), make(chan struct{})
	defer close(stopA)
	go rawRequest{id: "a", length: 900 << 10, sig: forgedSignature, first: 8, every: time.Hour}.send(addr, stopA)
	waitFor(t, "the first sender is read", func() bool { return held() == 64<<10 })
	if code := post("big-1", bigJSON(1<<20)); code != http.StatusAccepted {
		t.Errorf("1 MiB delivery while a sender declaring 900 KiB has sent 8 bytes: status %d, want 202", code)
	}

	bDone := make(chan struct{})
	go func() {
		defer close(bDone)
		rawRequest{id: "b", length: 768 << 10, sig: forgedSignature, first: 700 << 10, every: time.Hour}.send(addr, stopB)
	}()
	waitFor(t, "the second sender's 700 KiB are read", func() bool { return held() == 64<<10+768<<10 })
	answered := make(chan int, 1)
	go func() { answered <- post("big-2", bigJSON(1<<20)) }()
	select {
	case code := <-answered:
		t.Fatalf("1 MiB delivery answered %d while only 1.2 MiB of the budget were free; want it to wait", code)
	case <-time.After(300 * time.Millisecond):
	}
	close(stopB) // the second sender gives up
	<-bDone
	select {
	case code := <-answered:
		if code != http.StatusAccepted {
			t.Errorf("1 MiB delivery once the second sender gave up: status %d, want 202", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("1 MiB delivery still waiting 5 s after the second sender gave up")
	}

	if code := post("huge", bigJSON(3<<20)); code != http.StatusServiceUnavailable {
		t.Errorf("3 MiB delivery with a 2 MiB budget: status %d, want 503", code)
	}
	var ids []string
	for _, d := range q.Deliveries() {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]string{"big-1", "big-2"}, ids); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if got := held(); got != 64<<10 {
		t.Errorf("%d body bytes held with only the first sender left, want %d", got, 64<<10)
	}
}
