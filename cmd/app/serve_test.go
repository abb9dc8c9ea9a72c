package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/examples"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// outage stands in front of the fake GitHub. Until up is called it refuses
// every request (the connection is closed without an answer) or, with hang,
// holds it unanswered; from then on it passes requests through, the held
// ones included.
type outage struct {
	ts    *httptest.Server
	hang  bool
	proxy *httputil.ReverseProxy
	upc   chan struct{}
	once  sync.Once
}

func newOutage(t *testing.T, gh *githubtest.Server, hang bool) *outage {
	t.Helper()
	target, err := url.Parse(gh.HostURL())
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{hang: hang, upc: make(chan struct{})}
	o.proxy = httputil.NewSingleHostReverseProxy(target)
	o.proxy.ErrorLog = log.New(io.Discard, "", 0)
	o.ts = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(func() {
		o.up() // lets held requests finish, so Close does not wait for them
		o.ts.Close()
	})
	return o
}

// URL is the API base URL the App is given.
func (o *outage) URL() string { return o.ts.URL + githubtest.BasePath }

func (o *outage) up() { o.once.Do(func() { close(o.upc) }) }

func (o *outage) serve(w http.ResponseWriter, r *http.Request) {
	select {
	case <-o.upc:
		o.proxy.ServeHTTP(w, r)
		return
	default:
	}
	if !o.hang {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	select {
	case <-o.upc:
		o.proxy.ServeHTTP(w, r)
	case <-r.Context().Done():
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines may log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeWhileGitHubIsDown runs `app serve` while GitHub refuses or does
// not answer: the server must start, report itself alive but not ready
// (naming the missing identity), store a webhook and keep its job waiting
// without spending an attempt, and process the delivery once, when GitHub
// is back.
func TestServeWhileGitHubIsDown(t *testing.T) {
	tests := []struct {
		name string
		hang bool
	}{
		{"GitHub refuses connections", false},
		{"GitHub does not answer", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := githubtest.New(t)
			if err := seedDemo(gh); err != nil {
				t.Fatal(err)
			}
			down := newOutage(t, gh, tt.hang)
			dir := t.TempDir()
			addr := freeAddr(t)
			db := "sqlite://" + filepath.Join(dir, "tasuki.db")
			env := map[string]string{
				"TASUKI_GITHUB_APP_ID":           "1",
				"TASUKI_GITHUB_PRIVATE_KEY_FILE": writeFile(t, "app.pem", githubtest.AppKey()),
				"TASUKI_GITHUB_API_URL":          down.URL(),
				"TASUKI_WEBHOOK_SECRET":          procSecret,
				"TASUKI_DATABASE_URL":            db,
				"TASUKI_LISTEN":                  addr,
				"TASUKI_LOG_LEVEL":               "info",
			}
			var logs syncBuffer
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			exited := make(chan int, 1)
			go func() {
				exited <- run(ctx, []string{"serve", "--redeliver-every", "0", "--job-timeout", "5m", "--shutdown-timeout", "20s"},
					func(k string) string { return env[k] }, io.Discard, &logs)
			}()
			defer func() {
				if t.Failed() {
					t.Logf("app log:\n%s", logs.String())
				}
			}()

			// Alive while GitHub is down.
			waitFor(t, exited, "/healthz answers 200", func() bool {
				code, _ := get(t, addr, "/healthz")
				return code == http.StatusOK
			})
			code, body := get(t, addr, "/readyz")
			// Ready for webhooks (a load balancer keeps sending them), and
			// saying what the jobs wait for.
			if code != http.StatusOK || !strings.HasPrefix(body, "degraded: accepting webhooks; jobs wait for:\ngithub: app identity not resolved yet: ") {
				t.Errorf("/readyz while GitHub is down: %d %q, want 200 naming the missing app identity", code, body)
			}
			if host := strings.TrimPrefix(down.ts.URL, "http://"); strings.Contains(body, host) {
				t.Errorf("/readyz shows GitHub's address: %q", body)
			}

			// A delivery is stored, and its job waits for the identity.
			payload, err := examples.FS.ReadFile("events/03-issues.labeled.json")
			if err != nil {
				t.Fatal(err)
			}
			const id = "labeled-while-github-down"
			if code, err := send(http.DefaultClient, addr, id, "issues", payload); err != nil || code != http.StatusAccepted {
				t.Fatalf("webhook while GitHub is down: %d %v, want 202", code, err)
			}
			st, err := store.Open(context.Background(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), store.WithoutMigrate())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			waitFor(t, exited, "the delivery's job to start", func() bool {
				return storedDelivery(t, st, id).State == store.StateRunning
			})
			if n := len(gh.Calls()); n != 0 {
				t.Errorf("%d requests reached GitHub during the outage", n)
			}
			if _, body := get(t, addr, "/readyz"); !strings.HasPrefix(body, "degraded:") {
				t.Errorf("/readyz = %q while GitHub is still down, want degraded", body)
			}

			// GitHub is back: the waiting job runs, once.
			down.up()
			waitFor(t, exited, "the delivery to be processed", func() bool {
				s := storedDelivery(t, st, id).State
				return s == store.StateDone || s == store.StateFailed
			})
			if row := storedDelivery(t, st, id); row.State != store.StateDone || row.Attempts != 1 {
				t.Errorf("delivery %s after GitHub came back: %s after %d attempts (%s), want done after 1",
					id, row.State, row.Attempts, row.LastError)
			}
			var postmortems int
			for _, is := range gh.Issues(demoRepo) {
				if strings.HasPrefix(is.GetTitle(), "Postmortem:") {
					postmortems++
				}
			}
			if postmortems != 1 {
				t.Errorf("%d postmortem issues opened, want 1", postmortems)
			}
			if code, body := get(t, addr, "/readyz"); code != http.StatusOK || body != "ok" {
				t.Errorf("/readyz after GitHub came back: %d %q, want 200 ok", code, body)
			}

			stop()
			select {
			case code := <-exited:
				if code != 0 {
					t.Errorf("app serve exited %d, want 0", code)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("app serve did not stop within 30s of its context ending")
			}
		})
	}
}

// get returns the status and body of GET path on the server at addr.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitFor polls cond until it holds, failing the test after 60 seconds or
// when the server exits.
func waitFor(t *testing.T, exited <-chan int, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		select {
		case code := <-exited:
			t.Fatalf("app serve exited %d while waiting for %s", code, what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func storedDelivery(t *testing.T, st *store.Store, id string) store.DeliveryRow {
	t.Helper()
	rows, err := st.ListDeliveries(context.Background(), store.ListFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == id {
			return r
		}
	}
	return store.DeliveryRow{}
}
