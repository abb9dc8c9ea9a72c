package ghclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"
)

// GraphQLURL returns the GraphQL endpoint beside the REST API at restBase,
// completing restBase as go-github does: https://api.github.com/graphql for
// github.com (restBase empty or https://api.github.com/),
// https://HOST/api/graphql for a GitHub Enterprise Server whose REST API is
// https://HOST/api/v3/ (or given as the bare https://HOST/), and restBase +
// "graphql" for an API served at a host's root (GHE.com's
// https://api.SUBDOMAIN.ghe.com/).
func GraphQLURL(restBase string) (string, error) {
	if restBase == "" {
		restBase = DefaultBaseURL
	}
	u, err := url.Parse(restBase)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("GitHub base URL %q: want an absolute URL such as https://ghe.example.com/api/v3/", restBase)
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	p := strings.TrimSuffix(u.Path, "/") + "/"
	// go-github's rule (WithEnterpriseURLs): a base that is not /api/v3/ and
	// not on an API host is a GHES web address whose API is under /api/v3/.
	if !strings.HasSuffix(p, "/api/v3/") && !strings.HasPrefix(u.Host, "api.") && !strings.Contains(u.Host, ".api.") {
		p += "api/v3/"
	}
	if strings.HasSuffix(p, "/api/v3/") {
		u.Path = strings.TrimSuffix(p, "v3/") + "graphql"
	} else {
		u.Path = p + "graphql"
	}
	return u.String(), nil
}

// GraphQLFor returns a GraphQL client that sends its queries through rest's
// HTTP client: the same credentials (an installation token renewed before it
// expires, or a GITHUB_TOKEN), the same transport (request counting, rate
// limit gauge, pacing) and the endpoint beside rest's base URL
// (GraphQLURL). Its errors are classified by Classify: GitHub's rate limit
// answers, which come as 200 with a RATE_LIMITED error, and answers other
// than 200 are returned as errors that keep their status and headers.
func GraphQLFor(rest *github.Client) (*githubv4.Client, error) {
	if rest == nil || rest.BaseURL == nil {
		return nil, fmt.Errorf("GraphQL client: no REST client to share")
	}
	endpoint, err := GraphQLURL(rest.BaseURL.String())
	if err != nil {
		return nil, err
	}
	hc := rest.Client() // a copy: timeout and transport
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &graphQLTransport{next: next, userAgent: rest.UserAgent}
	return githubv4.NewEnterpriseClient(endpoint, hc), nil
}

// GraphQL returns the GraphQL client acting for installationID, sharing the
// installation's REST client's token and transport (see Client and
// GraphQLFor).
func (cs *Clients) GraphQL(ctx context.Context, installationID int64) (*githubv4.Client, error) {
	c, err := cs.Client(ctx, installationID)
	if err != nil {
		return nil, err
	}
	return GraphQLFor(c)
}

// NewTokenGraphQL returns a GraphQL client authenticated with a token (the
// Action's GITHUB_TOKEN). baseURL is GITHUB_API_URL; empty means
// github.com. To share one transport with the REST client, make that with
// NewTokenClient and pass it to GraphQLFor instead.
func NewTokenGraphQL(token, baseURL string, opts ...Option) (*githubv4.Client, error) {
	c, err := NewTokenClient(token, baseURL, opts...)
	if err != nil {
		return nil, err
	}
	return GraphQLFor(c)
}

// maxGraphQLBody bounds a GraphQL answer the transport reads to look for a
// rate limit error; tasuki's queries ask for far less.
const maxGraphQLBody = 32 << 20

// graphQLTransport sits above the REST transport for GraphQL requests. It
// turns the answers githubv4 would reduce to text (a status other than 200;
// a 200 carrying a RATE_LIMITED error) into *graphQLError, which keeps what
// Classify needs: status, headers, GitHub's message and error type.
type graphQLTransport struct {
	next      http.RoundTripper
	userAgent string
}

func (t *graphQLTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		ua := t.userAgent
		if ua == "" {
			ua = "tasuki"
		}
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", ua)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		var e struct {
			Message          string `json:"message"`
			DocumentationURL string `json:"documentation_url"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, &graphQLError{method: req.Method, path: req.URL.Path, status: resp.StatusCode, header: resp.Header,
			message: e.Message, docURL: e.DocumentationURL}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphQLBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxGraphQLBody {
		return nil, fmt.Errorf("%s %s: GraphQL answer larger than %d bytes", req.Method, req.URL.Path, maxGraphQLBody)
	}
	if bytes.Contains(body, []byte(`"RATE_LIMIT`)) {
		var out struct {
			Errors []struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &out) == nil {
			for _, e := range out.Errors {
				if e.Type == "RATE_LIMITED" || e.Type == "RATE_LIMIT" {
					return nil, &graphQLError{method: req.Method, path: req.URL.Path, status: http.StatusOK, header: resp.Header,
						typ: e.Type, message: e.Message}
				}
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
