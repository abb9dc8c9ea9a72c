package ghclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// fakeClock is a clock whose Sleep returns at once, having moved the time
// on: the pacer's minutes pass in microseconds.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

// pacedClient returns a fake GitHub on clock fc that enforces GitHub's
// limit of 80 writes a minute, and a client of it made as the Action
// ("token") or the App ("installation") makes its clients.
func pacedClient(t *testing.T, kind string, fc *fakeClock, opts ...ghclient.Option) (*githubtest.Server, *github.Client) {
	t.Helper()
	srv := githubtest.New(t, githubtest.WithClock(fc.Now), githubtest.WithContentLimit(ghclient.DefaultWritesPerMinute))
	srv.AddRepo("acme/api", "main")
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("Outage")})
	srv.AddInstallation(7, "acme")
	opts = append([]ghclient.Option{ghclient.WithTransport(srv.HTTPClient().Transport), ghclient.WithLogger(quiet), ghclient.WithClock(fc)}, opts...)
	switch kind {
	case "token":
		c, err := ghclient.NewTokenClient(srv.Token("github-actions[bot]"), srv.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return srv, c
	case "installation":
		cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: srv.URL()}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cs.Client(context.Background(), 7)
		if err != nil {
			t.Fatal(err)
		}
		return srv, c
	}
	t.Fatalf("unknown client kind %q", kind)
	return nil, nil
}

// writes returns the content-creating requests the fake served, in order
// of arrival (minting installation tokens is not one).
func writes(srv *githubtest.Server) []githubtest.Call {
	var out []githubtest.Call
	for _, c := range srv.Calls() {
		if c.Method != http.MethodGet && c.Template != tmplTokens {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Begin < out[j].Begin })
	return out
}

// maxInWindow is the most calls whose Time falls within any window d long.
func maxInWindow(calls []githubtest.Call, d time.Duration) int {
	most := 0
	for i := range calls {
		n := 0
		for _, c := range calls {
			if !c.Time.Before(calls[i].Time) && c.Time.Sub(calls[i].Time) < d {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// 200 writes from 8 goroutines through one client: GitHub's fake (which
// refuses the 81st write within a minute) sees them one at a time, never
// more than 80 in a minute, and the last goes out two minutes after the
// first, on the fake clock.
func TestWritePacing(t *testing.T) {
	for _, kind := range []string{"token", "installation"} {
		t.Run(kind, func(t *testing.T) {
			fc := newFakeClock()
			srv, c := pacedClient(t, kind, fc)
			ctx := context.Background()
			const workers, each = 8, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						body := fmt.Sprintf("worker %d comment %d", g, i)
						if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: &body}); err != nil {
							errs <- err
						}
						// Reads are not paced: they go out while writes wait.
						if _, _, err := c.Issues.Get(ctx, "acme", "api", 1); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			ws := writes(srv)
			if len(ws) != workers*each {
				t.Fatalf("%d writes reached GitHub, want %d", len(ws), workers*each)
			}
			for i, w := range ws {
				if w.Status != http.StatusCreated {
					t.Errorf("write %d answered %d, want 201 (the fake refuses a write over its limit)", i, w.Status)
				}
				if i > 0 && w.Begin < ws[i-1].End {
					t.Errorf("write %d began before write %d ended", i, i-1)
				}
			}
			if n := maxInWindow(ws, time.Minute); n != ghclient.DefaultWritesPerMinute {
				t.Errorf("at most %d writes in a minute, want %d", n, ghclient.DefaultWritesPerMinute)
			}
			if span := ws[len(ws)-1].Time.Sub(ws[0].Time); span != 2*time.Minute {
				t.Errorf("200 writes took %v on the fake clock, want 2m0s (80, then 80 a minute later, then 40)", span)
			}
		})
	}
}

// A secondary rate limit answer to a write is waited out on the clock and
// the write sent again, a bounded number of times; a wait past the
// deadline is left to the job.
func TestSecondaryLimitOnWrite(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		headers  map[string]string
		times    int
		wantWait time.Duration // between the attempts, on the fake clock
		wantPost int
		wantErr  bool
	}{
		{"403 Retry-After", 403, map[string]string{"Retry-After": "30"}, 1, 30 * time.Second, 2, false},
		{"429 without Retry-After", 429, nil, 1, time.Minute, 2, false},
		// Retried twice, then the answer is the caller's.
		{"bounded", 403, map[string]string{"Retry-After": "5"}, 3, 5 * time.Second, 3, true},
		// A primary limit lasts until the hourly reset: not waited out here.
		{"primary", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1772442000"}, 1, 0, 1, true},
		{"permission", 403, nil, 1, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClock()
			srv, c := pacedClient(t, "token", fc)
			srv.InjectTimes(tt.times, "POST", tmplComments, tt.status, tt.headers)
			_, _, err := c.Issues.CreateComment(context.Background(), "acme", "api", 1, &github.IssueComment{Body: github.String("x")})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			ws := writes(srv)
			if len(ws) != tt.wantPost {
				t.Fatalf("%d POSTs, want %d", len(ws), tt.wantPost)
			}
			for i := 1; i < len(ws); i++ {
				if d := ws[i].Time.Sub(ws[i-1].Time); d != tt.wantWait {
					t.Errorf("attempt %d sent %v after the one before, want %v", i+1, d, tt.wantWait)
				}
			}
			if tt.name == "403 Retry-After" && (ws[0].Status != 403 || ws[1].Status != 201) {
				t.Errorf("answers %d, %d; want 403 then 201", ws[0].Status, ws[1].Status)
			}
			if tt.wantErr && tt.status == 403 && tt.headers != nil {
				if _, ok := ghclient.RetryAt(err); !ok {
					t.Errorf("RetryAt does not see a rate limit in %v", err)
				}
			}
		})
	}
}

func TestSecondaryLimitPastDeadline(t *testing.T) {
	fc := newFakeClock()
	srv, c := pacedClient(t, "token", fc)
	srv.Inject("POST", tmplComments, 403, map[string]string{"Retry-After": "30"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := fc.Now()
	_, _, err := c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: github.String("x")})
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) {
		t.Fatalf("err = %v, want GitHub's secondary limit answer", err)
	}
	at, ok := ghclient.RetryAt(err)
	if d := time.Until(at); !ok || d < 25*time.Second || d > 31*time.Second {
		t.Errorf("RetryAt = %v, %v; want about 30s from now", at, ok)
	}
	if fc.Now() != start || len(writes(srv)) != 1 {
		t.Errorf("waited %v and sent %d POSTs, want no wait and 1", fc.Now().Sub(start), len(writes(srv)))
	}
	// The client's next write, with the same short deadline, is not sent
	// before the pause GitHub asked for is over.
	_, _, err = c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: github.String("y")})
	if err == nil || len(writes(srv)) != 1 {
		t.Errorf("second write: err = %v, %d POSTs; want an error and no POST", err, len(writes(srv)))
	}
}

// A write that would wait for the pacer past its deadline is not sent; its
// error says until when to wait.
func TestPacerPastDeadline(t *testing.T) {
	fc := newFakeClock()
	srv, c := pacedClient(t, "token", fc, ghclient.WithWriteLimit(3))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: github.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err := c.Issues.CreateComment(dctx, "acme", "api", 1, &github.IssueComment{Body: github.String("x")})
	var we *ghclient.WaitError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *ghclient.WaitError", err)
	}
	if want := fc.Now().Add(time.Minute); !we.Until.Equal(want) || !we.RetryAt().Equal(want) {
		t.Errorf("Until = %v, want %v (a minute after the first write)", we.Until, want)
	}
	if at, ok := ghclient.RetryAt(err); !ok || !at.Equal(we.Until) {
		t.Errorf("RetryAt = %v, %v; want %v: the worker must see when to run again", at, ok, we.Until)
	}
	if n := len(writes(srv)); n != 3 {
		t.Errorf("%d writes sent, want 3", n)
	}
	// Without a deadline the write waits its minute.
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: github.String("x")}); err != nil {
		t.Fatal(err)
	}
	ws := writes(srv)
	if d := ws[3].Time.Sub(ws[0].Time); d != time.Minute {
		t.Errorf("the 4th write went out %v after the 1st, want 1m0s", d)
	}
}

// Config.Timeout bounds each attempt (the transport applies it, as the
// waits between attempts must not count against it).
func TestAttemptTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: hang.URL + githubtest.BasePath, Timeout: 100 * time.Millisecond},
		ghclient.WithLogger(quiet), ghclient.WithRetries(0, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = cs.App().Apps.Get(context.Background(), "")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %v, want a timeout after about 100ms", err, time.Since(start))
	}
}
