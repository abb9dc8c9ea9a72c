package ghclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

const tmplApp = "/app"

func appClient(t *testing.T, srv *githubtest.Server) *ghclient.Clients {
	t.Helper()
	cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: srv.URL()},
		ghclient.WithTransport(srv.HTTPClient().Transport), ghclient.WithLogger(quiet), ghclient.WithRetries(0, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestIdentityResolverRetries checks that the resolver keeps asking while
// GitHub fails, says why meanwhile without naming the API's URL, and hands
// the identity to everyone waiting once GitHub answers.
func TestIdentityResolverRetries(t *testing.T) {
	srv := githubtest.New(t, githubtest.WithAppSlug("tasuki-staging"))
	srv.InjectTimes(3, "GET", tmplApp, http.StatusServiceUnavailable, nil)
	cs := appClient(t, srv)

	r := ghclient.ResolveIdentity(context.Background(), cs.App(), ghclient.WithIdentityLogger(quiet),
		ghclient.WithIdentityBackoff(time.Millisecond, 4*time.Millisecond))
	defer r.Stop()

	// The first answer is the injected 503.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.FirstAnswer(ctx)
	if !errors.Is(err, ghclient.ErrIdentityPending) {
		t.Fatalf("FirstAnswer = %v, want ErrIdentityPending", err)
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("FirstAnswer %v does not carry GitHub's 503", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "app identity not resolved yet: GET /app: GitHub answered 503") || strings.Contains(msg, "http") {
		t.Errorf("FirstAnswer's message %q: want it to start with what is missing and name no URL", msg)
	}

	id, err := r.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if want := (ghclient.Identity{Slug: "tasuki-staging", Login: "tasuki-staging[bot]"}); id != want {
		t.Errorf("identity %+v, want %+v", id, want)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err after resolving = %v", err)
	}
	if n := srv.CallCount("GET", tmplApp); n != 4 {
		t.Errorf("GET /app asked %d times, want 4 (3 failures, then the answer)", n)
	}
	// Later waiters get it at once, without asking again.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if id2, err := r.Wait(done); err != nil || id2 != id {
		t.Errorf("Wait with an ended context after resolving = %+v, %v", id2, err)
	}
	if n := srv.CallCount("GET", tmplApp); n != 4 {
		t.Errorf("GET /app asked %d times after resolving, want still 4", n)
	}
}

// TestIdentityWaitEnds checks that waiting for an identity GitHub does not
// give ends with the waiter's context or when the resolver stops, with an
// error that says what is missing.
func TestIdentityWaitEnds(t *testing.T) {
	srv := githubtest.New(t)
	srv.InjectTimes(1000, "GET", tmplApp, http.StatusBadGateway, nil)
	cs := appClient(t, srv)
	r := ghclient.ResolveIdentity(context.Background(), cs.App(), ghclient.WithIdentityLogger(quiet),
		ghclient.WithIdentityBackoff(time.Millisecond, 2*time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.Wait(ctx)
	if !errors.Is(err, ghclient.ErrIdentityPending) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want ErrIdentityPending and the deadline", err)
	}

	waited := make(chan error, 1)
	go func() {
		_, err := r.Wait(context.Background())
		waited <- err
	}()
	r.Stop()
	select {
	case err := <-waited:
		if !errors.Is(err, ghclient.ErrIdentityPending) {
			t.Errorf("Wait after Stop = %v, want ErrIdentityPending", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Stop")
	}
	if err := r.Err(); !errors.Is(err, ghclient.ErrIdentityPending) {
		t.Errorf("Err = %v, want ErrIdentityPending", err)
	}
}

// TestIdentityRefused checks that GitHub's 401 (a wrong App ID or key) is
// recognisable in FirstAnswer's error, for the server to stop with a clear
// message.
func TestIdentityRefused(t *testing.T) {
	srv := githubtest.New(t)
	srv.InjectTimes(1000, "GET", tmplApp, http.StatusUnauthorized, nil)
	cs := appClient(t, srv)
	r := ghclient.ResolveIdentity(context.Background(), cs.App(), ghclient.WithIdentityLogger(quiet))
	defer r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.FirstAnswer(ctx)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("FirstAnswer = %v, want GitHub's 401 in the chain", err)
	}
}

// TestIdentityErrorNamesNoURL checks the messages of failed GET /app
// requests, which /readyz shows to anyone: what GitHub answered, or why it
// could not be reached, without the API's URL.
func TestIdentityErrorNamesNoURL(t *testing.T) {
	srv := githubtest.New(t)
	cs := appClient(t, srv)
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		want    string
	}{
		{"unavailable", 503, nil, "GET /app: GitHub answered 503 Service Unavailable: Service Unavailable"},
		{"rate limited", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
			"GET /app: GitHub answered 403 Forbidden: API rate limit exceeded for installation."},
		{"secondary limit", 429, map[string]string{"Retry-After": "1"}, "GET /app: GitHub answered 429 Too Many Requests: You have exceeded a secondary rate limit."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Inject("GET", tmplApp, tt.status, tt.headers)
			_, err := ghclient.FetchIdentity(context.Background(), cs.App())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q", err, tt.want)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String() + githubtest.BasePath
		ln.Close() // nothing listens there now
		cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: base},
			ghclient.WithLogger(quiet), ghclient.WithRetries(0, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ghclient.FetchIdentity(context.Background(), cs.App())
		if err == nil || !strings.HasPrefix(err.Error(), "GET /app: ") || strings.Contains(err.Error(), base) {
			t.Errorf("error %q, want what failed without the URL", err)
		}
	})
}
