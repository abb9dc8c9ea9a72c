package ghclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// tokenRefuser answers installation token requests itself while answer is
// set, as GitHub does for a removed or suspended installation, and passes
// everything else to the fake GitHub.
type tokenRefuser struct {
	next   http.RoundTripper
	answer atomic.Pointer[http.Response]
	body   atomic.Pointer[string]
}

func (r *tokenRefuser) RoundTrip(req *http.Request) (*http.Response, error) {
	a := r.answer.Load()
	if a == nil || req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/access_tokens") {
		return r.next.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	resp := *a
	resp.Header = a.Header.Clone()
	resp.Body = io.NopCloser(strings.NewReader(*r.body.Load()))
	resp.Request = req
	return &resp, nil
}

func (r *tokenRefuser) refuse(status int, headers map[string]string, body string) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for k, v := range headers {
		h.Set(k, v)
	}
	r.body.Store(&body)
	r.answer.Store(&http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Header: h, ProtoMajor: 1, ProtoMinor: 1})
}

// TestInstallationGone checks that a token request refused because the
// installation was removed (404) or suspended (403 with GitHub's message)
// fails the installation's requests with ErrInstallationGone, that other
// refusals do not, and that the installation works again once GitHub mints
// tokens again (nothing is remembered).
func TestInstallationGone(t *testing.T) {
	const docs = `"documentation_url":"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"`
	tests := []struct {
		name     string
		status   int
		headers  map[string]string
		body     string
		wantGone bool
		wantMsg  string
	}{
		{"uninstalled", 404, nil, `{"message":"Not Found",` + docs + `}`, true,
			"installation 7 was removed (GitHub answered 404 Not Found to POST /app/installations/7/access_tokens)"},
		{"suspended", 403, nil, `{"message":"This installation has been suspended",` + docs + `}`, true,
			"installation 7 is suspended (GitHub answered 403 Forbidden to POST /app/installations/7/access_tokens)"},
		{"suspended, rate limited", 403, map[string]string{"Retry-After": "60"}, `{"message":"This installation has been suspended"}`, false, ""},
		{"other 403", 403, nil, `{"message":"Resource not accessible by integration"}`, false, ""},
		{"403 without JSON", 403, nil, `suspended`, false, ""},
		{"server error", 500, nil, `{"message":"Server Error"}`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/api", "main")
			srv.AddInstallation(7, "acme")
			refuser := &tokenRefuser{next: srv.HTTPClient().Transport}
			cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: srv.URL()},
				ghclient.WithTransport(refuser), ghclient.WithLogger(quiet), ghclient.WithRetries(0, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, err := cs.Client(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			refuser.refuse(tt.status, tt.headers, tt.body)
			_, _, err = c.Repositories.Get(ctx, "acme", "api")
			if err == nil {
				t.Fatal("want an error")
			}
			if got := errors.Is(err, ghclient.ErrInstallationGone); got != tt.wantGone {
				t.Errorf("errors.Is(err, ErrInstallationGone) = %v, want %v; err: %v", got, tt.wantGone, err)
			}
			if got := isPermanent(err); got != tt.wantGone {
				t.Errorf("has Permanent() true = %v, want %v", got, tt.wantGone)
			}
			if tt.wantGone && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if tt.headers["Retry-After"] != "" {
				if _, ok := ghclient.RetryAt(err); !ok {
					t.Errorf("RetryAt does not see the rate limit through %v", err)
				}
			}

			refuser.answer.Store(nil)
			if _, _, err := c.Repositories.Get(ctx, "acme", "api"); err != nil {
				t.Errorf("after GitHub mints tokens again: %v", err)
			}
		})
	}
}

// isPermanent is dispatch.IsPermanent's test for one chain: an error in it
// has a Permanent method that returns true.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
