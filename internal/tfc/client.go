// Package tfc reads Terraform Cloud / Terraform Enterprise runs for plan
// review: a run's JSON plan and the pull request it was planned for (from the
// configuration version's VCS ingress attributes). It also serves the run
// task endpoint that TFC calls after a plan (RunTaskHandler).
//
// Everything goes through the real go-tfe client, so the package behaves the
// same against app.terraform.io, a Terraform Enterprise host, or the
// in-memory API in tfctest.
package tfc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	tfe "github.com/hashicorp/go-tfe"
)

// DefaultAddress is HCP Terraform's address, used when none is configured.
const DefaultAddress = tfe.DefaultAddress

// Run is what plan review needs from one TFC run: the plan and where to post
// the review. Owner, Repo, PullRequest and CommitSHA are empty when the run
// was not started from a pull request (a CLI or UI run).
type Run struct {
	ID           string
	URL          string // the run's page, for links in the comment and task result
	Organization string
	Workspace    string
	Owner        string
	Repo         string
	PullRequest  int
	CommitSHA    string
	// PlanJSON is the run's `terraform show -json` output as TFC serves it
	// (sensitive values already redacted by TFC).
	PlanJSON []byte
}

// HasPullRequest reports whether the run knows its GitHub pull request.
func (r Run) HasPullRequest() bool {
	return r.Owner != "" && r.Repo != "" && r.PullRequest > 0 && r.CommitSHA != ""
}

// Client reads runs from one TFC/TFE address with one token.
type Client struct {
	api     *tfe.Client
	address string
}

// NewClient returns a client for address (DefaultAddress when empty) acting
// with token. go-tfe pings the API once here to learn its rate limit, so a
// wrong address or an unreachable host fails now. httpClient may be nil.
func NewClient(address, token string, httpClient *http.Client) (*Client, error) {
	if address == "" {
		address = DefaultAddress
	}
	if token == "" {
		return nil, errors.New("connect to terraform cloud: no API token (set tfc-token or TFE_TOKEN)")
	}
	u, err := url.Parse(address)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("connect to terraform cloud: address %q is not an absolute URL", address)
	}
	cfg := &tfe.Config{Address: address, Token: token, HTTPClient: httpClient}
	api, err := tfe.NewClient(cfg)
	if err != nil {
		// go-tfe's errors never carry the token.
		return nil, fmt.Errorf("connect to terraform cloud at %s: %w", address, err)
	}
	return &Client{api: api, address: strings.TrimSuffix(address, "/")}, nil
}

// Run reads run runID with its plan JSON and VCS data: three API calls
// (run with configuration version and ingress attributes included, plan
// JSON, which TFC answers with a redirect to its archive).
func (c *Client) Run(ctx context.Context, runID string) (Run, error) {
	r, err := c.api.Runs.ReadWithOptions(ctx, runID, &tfe.RunReadOptions{
		Include: []tfe.RunIncludeOpt{tfe.RunWorkspace, tfe.RunConfigVer, tfe.RunConfigVerIngress},
	})
	if err != nil {
		return Run{}, fmt.Errorf("read terraform cloud run %s: %w", runID, err)
	}
	out := Run{ID: r.ID}
	if r.Workspace != nil {
		out.Workspace = r.Workspace.Name
		if r.Workspace.Organization != nil {
			out.Organization = r.Workspace.Organization.Name
		}
	}
	if out.Organization != "" && out.Workspace != "" {
		out.URL = fmt.Sprintf("%s/app/%s/workspaces/%s/runs/%s", c.address,
			url.PathEscape(out.Organization), url.PathEscape(out.Workspace), url.PathEscape(r.ID))
	}
	if cv := r.ConfigurationVersion; cv != nil && cv.IngressAttributes != nil {
		ia := cv.IngressAttributes
		out.Owner, out.Repo = splitRepo(ia.Identifier)
		out.PullRequest = ia.PullRequestNumber
		out.CommitSHA = ia.CommitSHA
		if out.PullRequest == 0 && ia.IsPullRequest {
			out.PullRequest = prNumberFromURL(ia.PullRequestURL)
		}
	}
	if r.Plan == nil || r.Plan.ID == "" {
		return Run{}, fmt.Errorf("read terraform cloud run %s: the run has no plan yet (status %s)", runID, r.Status)
	}
	plan, err := c.api.Plans.ReadJSONOutput(ctx, r.Plan.ID)
	if err != nil {
		return Run{}, fmt.Errorf("read plan JSON of terraform cloud run %s (plan %s): %w", runID, r.Plan.ID, err)
	}
	out.PlanJSON = plan
	return out, nil
}

// TaskResult is the outcome reported back to a TFC run task.
type TaskResult struct {
	Passed  bool
	Message string // short; TFC shows it beside the task
	URL     string // where the details are (the PR comment)
}

// Callback reports result to a run task's task_result_callback_url,
// authenticated with the request's one-time access token.
func (c *Client) Callback(ctx context.Context, callbackURL, accessToken string, result TaskResult) error {
	status := tfe.TaskFailed
	if result.Passed {
		status = tfe.TaskPassed
	}
	err := c.api.RunTasksIntegration.Callback(ctx, callbackURL, accessToken, tfe.TaskResultCallbackRequestOptions{
		Status:  status,
		Message: truncate(result.Message, 256),
		URL:     result.URL,
	})
	if err != nil {
		return fmt.Errorf("report task result %s to terraform cloud: %w", status, err)
	}
	return nil
}

// splitRepo splits a VCS identifier "owner/repo" (GitHub's form in TFC's
// ingress attributes).
func splitRepo(id string) (owner, repo string) {
	owner, repo, ok := strings.Cut(strings.Trim(id, "/"), "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", ""
	}
	return owner, repo
}

// prNumberFromURL extracts N from ".../pull/N".
func prNumberFromURL(s string) int {
	u, err := url.Parse(s)
	if err != nil {
		return 0
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != "pull" {
		return 0
	}
	n, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
