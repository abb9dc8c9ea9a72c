package tfc

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Reviewer reviews a TFC run's plan on its pull request (a comment and a
// check run) and says what to report back to TFC. handler.Review provides it.
type Reviewer interface {
	ReviewRun(ctx context.Context, run Run) (TaskResult, error)
}

// MaxRunTaskBody is the largest run task request accepted. TFC's payload is
// a small JSON object (the plan itself is fetched separately).
const MaxRunTaskBody = 1 << 20

// SignatureHeader carries the HMAC-SHA512 of the body, hex encoded, when the
// run task was configured with an HMAC key.
const SignatureHeader = "X-Tfc-Task-Signature"

// EventRunTask is the event name of run tasks queued with WithQueue; register
// the RunTaskHandler for it on the dispatch router.
const EventRunTask = "tfc_run_task"

// Queue stores a run task durably for a worker (store.Store does). Enqueue
// reports created=false for an ID already stored, so a request TFC sends
// twice is reviewed once.
type Queue interface {
	Enqueue(ctx context.Context, d dispatch.Delivery) (created bool, err error)
}

// RunTaskHandler serves POST /tfc/run-task. It verifies the request, answers
// 200 at once (TFC waits at most 10 seconds for the answer) and reviews the
// run in the background, reporting to the task result callback URL: in a
// bounded goroutine by default, or, WithQueue, in the job worker that calls
// its Handle.
type RunTaskHandler struct {
	key       []byte
	reviewer  Reviewer
	log       *slog.Logger
	timeout   time.Duration
	allowed   []*url.URL
	http      *http.Client
	sem       chan struct{}
	wg        sync.WaitGroup
	queue     Queue
	newClient func(address, token string, hc *http.Client) (*Client, error)
}

// RunTaskOption configures a RunTaskHandler.
type RunTaskOption func(*RunTaskHandler)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) RunTaskOption { return func(h *RunTaskHandler) { h.log = l } }

// WithTimeout bounds one background review (default 5 minutes).
func WithTimeout(d time.Duration) RunTaskOption { return func(h *RunTaskHandler) { h.timeout = d } }

// WithAllowedAddresses lists the TFC/TFE addresses whose callback and API URLs
// are trusted (default DefaultAddress). The access token of a request is only
// ever sent to one of these, so a forged request cannot make tasuki fetch from
// or report to another host.
func WithAllowedAddresses(addrs ...string) RunTaskOption {
	return func(h *RunTaskHandler) {
		h.allowed = nil
		for _, a := range addrs {
			if u, err := url.Parse(a); err == nil && u.Host != "" {
				h.allowed = append(h.allowed, u)
			}
		}
	}
}

// WithHTTPClient sets the HTTP client used to talk to TFC.
func WithHTTPClient(c *http.Client) RunTaskOption { return func(h *RunTaskHandler) { h.http = c } }

// WithQueue makes the handler store each run task in q (as a delivery of
// event EventRunTask) instead of reviewing it in a goroutine, so a restart
// or a crashed replica does not lose it and a failed report is retried.
// The stored payload holds TFC's access token for the task, which TFC
// accepts only until the task times out (at most about ten minutes).
func WithQueue(q Queue) RunTaskOption { return func(h *RunTaskHandler) { h.queue = q } }

// WithConcurrency bounds the reviews running at once (default 4); requests
// beyond it wait for a slot in the background, never in the HTTP handler.
func WithConcurrency(n int) RunTaskOption {
	return func(h *RunTaskHandler) { h.sem = make(chan struct{}, max(n, 1)) }
}

// NewRunTaskHandler returns the run task endpoint. hmacKey is the key set on
// the run task in TFC; when it is non-empty every request must carry a valid
// X-TFC-Task-Signature, when empty the signature is not checked (TFC allows
// keyless tasks) but only allowed addresses are ever contacted.
func NewRunTaskHandler(hmacKey []byte, reviewer Reviewer, opts ...RunTaskOption) *RunTaskHandler {
	h := &RunTaskHandler{
		key:       hmacKey,
		reviewer:  reviewer,
		log:       slog.Default(),
		timeout:   5 * time.Minute,
		sem:       make(chan struct{}, 4),
		newClient: NewClient,
	}
	WithAllowedAddresses(DefaultAddress)(h)
	for _, o := range opts {
		o(h)
	}
	return h
}

// ServeHTTP verifies and accepts one run task request.
func (h *RunTaskHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "run task requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRunTaskBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("run task request larger than %d bytes", MaxRunTaskBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read run task request", http.StatusBadRequest)
		return
	}
	if len(h.key) > 0 && !validSignature(h.key, body, r.Header.Get(SignatureHeader)) {
		h.log.WarnContext(r.Context(), "run task request with a bad signature", "remote", r.RemoteAddr)
		http.Error(w, "invalid "+SignatureHeader, http.StatusUnauthorized)
		return
	}
	var req tfe.RunTaskRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "run task request is not valid JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	// TFC verifies a new run task by sending a request with stage "test" and
	// access token "verify"; it only wants a 200.
	if req.Stage == "test" || req.AccessToken == "verify" {
		h.log.InfoContext(r.Context(), "run task verification request", "organization", req.OrganizationName)
		w.WriteHeader(http.StatusOK)
		return
	}
	if req.AccessToken == "" || req.TaskResultCallbackURL == "" || req.RunID == "" {
		http.Error(w, "run task request lacks access_token, task_result_callback_url or run_id", http.StatusBadRequest)
		return
	}
	address, err := h.addressOf(req.TaskResultCallbackURL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if h.queue != nil {
		d := dispatch.Delivery{ID: "tfc-" + req.TaskResultID, Event: EventRunTask, Action: req.Stage, Payload: body}
		if req.TaskResultID == "" {
			d.ID = "tfc-" + req.RunID + "-" + req.Stage
		}
		if _, err := h.queue.Enqueue(r.Context(), d); err != nil {
			h.log.ErrorContext(r.Context(), "run task: enqueue", "tfc_run", req.RunID, "err", err)
			http.Error(w, "could not queue the run task", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)

	h.wg.Add(1)
	// The review outlives the request; it keeps the request's values (for
	// tracing) but not its cancellation.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer h.wg.Done()
		h.sem <- struct{}{}
		defer func() { <-h.sem }()
		ctx, cancel := context.WithTimeout(ctx, h.timeout)
		defer cancel()
		_ = h.review(ctx, address, req) // logged; nothing retries a goroutine
	}()
}

// Wait blocks until every accepted run task has been reviewed and reported;
// servers call it on shutdown, tests before asserting.
func (h *RunTaskHandler) Wait() { h.wg.Wait() }

// addressOf returns the allowed TFC address serving callbackURL.
func (h *RunTaskHandler) addressOf(callbackURL string) (string, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("task_result_callback_url %q is not an absolute URL", callbackURL)
	}
	for _, a := range h.allowed {
		if strings.EqualFold(a.Scheme, u.Scheme) && strings.EqualFold(a.Host, u.Host) {
			return a.Scheme + "://" + a.Host + strings.TrimSuffix(a.Path, "/"), nil
		}
	}
	return "", fmt.Errorf("task_result_callback_url host %s is not an allowed terraform cloud address", u.Host)
}

// Handle reviews a run task stored by WithQueue. It returns an error only
// when the result could not be reported, so that the job retries; the
// review it repeats is idempotent (the comment and check are upserted).
func (h *RunTaskHandler) Handle(ctx context.Context, d dispatch.Delivery) error {
	var req tfe.RunTaskRequest
	if err := json.Unmarshal(d.Payload, &req); err != nil {
		return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
	}
	address, err := h.addressOf(req.TaskResultCallbackURL)
	if err != nil {
		return fmt.Errorf("%s %s: %w", d.Event, d.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	return h.review(ctx, address, req)
}

var _ dispatch.Handler = (*RunTaskHandler)(nil)

func (h *RunTaskHandler) review(ctx context.Context, address string, req tfe.RunTaskRequest) error {
	log := h.log.With("tfc_run", req.RunID, "workspace", req.WorkspaceName, "stage", req.Stage)
	c, err := h.newClient(address, req.AccessToken, h.http)
	if err != nil {
		log.ErrorContext(ctx, "run task: connect to terraform cloud", "err", err)
		return err // without a client there is no way to report back either
	}
	result, err := h.reviewRun(ctx, c, req)
	if err != nil {
		log.ErrorContext(ctx, "run task: review", "err", err)
		result = TaskResult{Passed: false, Message: "tasuki could not review this run: " + err.Error()}
	}
	if result.URL == "" {
		result.URL = req.RunAppURL
	}
	if err := c.Callback(ctx, req.TaskResultCallbackURL, req.AccessToken, result); err != nil {
		log.ErrorContext(ctx, "run task: report result", "err", err)
		return err
	}
	log.InfoContext(ctx, "run task reviewed", "passed", result.Passed)
	return nil
}

func (h *RunTaskHandler) reviewRun(ctx context.Context, c *Client, req tfe.RunTaskRequest) (TaskResult, error) {
	run, err := c.Run(ctx, req.RunID)
	if err != nil {
		return TaskResult{}, err
	}
	if run.URL == "" {
		run.URL = req.RunAppURL
	}
	if run.Organization == "" {
		run.Organization = req.OrganizationName
	}
	if run.Workspace == "" {
		run.Workspace = req.WorkspaceName
	}
	// A run whose configuration version carries no VCS data (an API-driven
	// run) may still name its pull request in the request itself.
	if run.Owner == "" && req.VcsRepoURL != "" {
		if u, err := url.Parse(req.VcsRepoURL); err == nil {
			run.Owner, run.Repo = splitRepo(u.Path)
		}
	}
	if run.PullRequest == 0 {
		run.PullRequest = prNumberFromURL(req.VcsPullRequestURL)
	}
	if run.CommitSHA == "" && req.VcsCommitURL != "" {
		if i := strings.LastIndex(req.VcsCommitURL, "/"); i >= 0 {
			run.CommitSHA = req.VcsCommitURL[i+1:]
		}
	}
	if !run.HasPullRequest() {
		return TaskResult{Passed: true, Message: "Not a pull request run: nothing for tasuki to review.", URL: run.URL}, nil
	}
	return h.reviewer.ReviewRun(ctx, run)
}

// Sign returns the X-TFC-Task-Signature value for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha512.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func validSignature(key, body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) == 0 {
		return false
	}
	m := hmac.New(sha512.New, key)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
