// Package api is tasuki's HTTP API for people and tools other than GitHub:
// GET /api/v1/metrics returns a repository's delivery metrics (DORA's five,
// the stages of every change) as JSON, computed from the events the App
// recorded, without calling GitHub.
//
// The API is served on the webhook port, which faces the internet, so it
// is off until tokens are configured (TASUKI_API_TOKENS), and every request
// must carry one as "Authorization: Bearer TOKEN". Several tokens may be
// valid at once, for rotation; each request is compared against all of
// them in constant time. At most a few computations run at once, since a
// large repository's history takes hundreds of megabytes to compute over
// (about 400 MB for a million pull requests, BENCHMARKS.md).
//
// A token reads every repository the App recorded, in every organisation
// that installed it: tokens are for administrators (README). Neither a
// token nor the Authorization header is ever logged or echoed.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// History reads recorded events, linked under a repository's definitions
// (*store.Store provides it, without building a core.History).
type History interface {
	PrepareHistory(ctx context.Context, q store.HistoryQuery, cfg core.Config) (*core.Prepared, error)
}

// Settings returns what computing a repository's metrics needs of its
// configuration, as the App last read it (lth.LoadSettings over the store's
// memo).
type Settings func(ctx context.Context, repo string) (lth.RepoSettings, error)

// Route is the path of the metrics endpoint.
const Route = "GET /api/v1/metrics"

// Bounds of a request.
const (
	// DefaultPeriod is the period measured when since is not given.
	DefaultPeriod = 28 * 24 * time.Hour
	// MaxPeriod bounds until - since.
	MaxPeriod = 366 * 24 * time.Hour
	// Lookback is how long before the period pull requests are read, for
	// deployments in the period that shipped changes merged before it.
	Lookback = 90 * 24 * time.Hour
	// maxConcurrent bounds the computations running at once.
	maxConcurrent = 2
)

// API serves the HTTP API.
type API struct {
	tokens   [][32]byte // SHA-256 of each token
	history  History
	settings Settings
	log      *slog.Logger
	now      func() time.Time
	sem      chan struct{}
}

// Option configures New.
type Option func(*API)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(a *API) { a.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// New returns the API accepting tokens (none: the API answers that it is
// off).
func New(tokens []string, h History, s Settings, opts ...Option) *API {
	a := &API{history: h, settings: s, log: slog.Default(), now: time.Now, sem: make(chan struct{}, maxConcurrent)}
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
		}
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// ParseTokens splits TASUKI_API_TOKENS: comma-separated, blanks ignored.
// A token shorter than 16 characters is refused, as guessable.
func ParseTokens(s string) ([]string, error) {
	var out []string
	for i, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if len(t) < 16 {
			return nil, fmt.Errorf("TASUKI_API_TOKENS: token %d is %d characters long; use at least 16 random characters (e.g. openssl rand -hex 32)", i+1, len(t))
		}
		out = append(out, t)
	}
	return out, nil
}

// authorized compares the request's bearer token with every configured
// token, in constant time and without stopping at a match, so that neither
// the time taken nor which token matched tells anything.
func (a *API) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	match := 0
	for i := range a.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], a.tokens[i][:])
	}
	return match == 1
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, args...)})
}

// ServeHTTP serves GET /api/v1/metrics.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(a.tokens) == 0 {
		fail(w, http.StatusNotFound, "the metrics API is off: set TASUKI_API_TOKENS to one or more comma-separated tokens (at least 16 characters each) and call it with \"Authorization: Bearer TOKEN\"")
		return
	}
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tasuki"`)
		fail(w, http.StatusUnauthorized, "missing or unknown token: send \"Authorization: Bearer TOKEN\" with a token from TASUKI_API_TOKENS")
		return
	}
	q, err := a.parse(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%s", err)
		return
	}
	select {
	case a.sem <- struct{}{}:
		defer func() { <-a.sem }()
	case <-r.Context().Done():
		return
	}
	m, status, err := a.compute(r.Context(), q)
	if err != nil {
		a.log.ErrorContext(r.Context(), "metrics API", "repo", q.Repo, "err", err)
		if status == http.StatusBadRequest {
			fail(w, status, "%s", err)
			return
		}
		fail(w, status, "computing the metrics of %s failed; the server log has the details", q.Repo)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

var (
	repoRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,100}$`)
)

// parse reads and checks the query; its errors name the parameter and say
// what is accepted.
func (a *API) parse(r *http.Request) (core.Query, error) {
	var q core.Query
	vals := r.URL.Query()
	for k, vs := range vals {
		switch k {
		case "repo", "service", "team", "since", "until", "pulls":
		default:
			return q, fmt.Errorf("query parameter %q is unknown: use repo, service, team, since, until, pulls", k)
		}
		if len(vs) > 1 {
			return q, fmt.Errorf("query parameter %q is given %d times: give it once", k, len(vs))
		}
	}
	q.Repo = vals.Get("repo")
	switch {
	case q.Repo == "":
		return q, errors.New("query parameter \"repo\" is required: repo=OWNER/NAME")
	case !repoRE.MatchString(q.Repo):
		return q, fmt.Errorf("query parameter \"repo\": %q is not OWNER/NAME", clip(q.Repo))
	}
	if q.Service = vals.Get("service"); q.Service != "" && !nameRE.MatchString(q.Service) {
		return q, fmt.Errorf("query parameter \"service\": %q is not a service name (letters, digits, . _ / -; at most 100)", clip(q.Service))
	}
	if q.Team = vals.Get("team"); q.Team != "" && !nameRE.MatchString(q.Team) {
		return q, fmt.Errorf("query parameter \"team\": %q is not a team slug (letters, digits, . _ / -; at most 100)", clip(q.Team))
	}
	switch vals.Get("pulls") {
	case "", "false", "0":
	case "true", "1":
		q.Rows = true
	default:
		return q, fmt.Errorf("query parameter \"pulls\": %q is not true or false", clip(vals.Get("pulls")))
	}
	now := a.now().UTC()
	q.Now = now
	q.To = now
	var err error
	if s := vals.Get("until"); s != "" {
		if q.To, err = parseTime(s, true); err != nil {
			return q, fmt.Errorf("query parameter \"until\": %w", err)
		}
	}
	q.From = q.To.Add(-DefaultPeriod)
	if s := vals.Get("since"); s != "" {
		if q.From, err = parseTime(s, false); err != nil {
			return q, fmt.Errorf("query parameter \"since\": %w", err)
		}
	}
	switch {
	case !q.From.Before(q.To):
		return q, fmt.Errorf("query parameters \"since\" (%s) and \"until\" (%s): since must be before until", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	case q.To.Sub(q.From) > MaxPeriod:
		return q, fmt.Errorf("query parameters \"since\" and \"until\": the period is %s; at most 366 days", q.To.Sub(q.From).Round(time.Hour))
	}
	if q.Now.After(q.To) {
		q.Now = q.To
	}
	return q, nil
}

// parseTime reads RFC 3339 or a date (YYYY-MM-DD, midnight UTC; as until,
// the end of that day).
func parseTime(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-01-31) nor an RFC 3339 time (2026-01-31T12:00:00Z)", clip(s))
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// compute loads the repository's history around the period and computes.
func (a *API) compute(ctx context.Context, q core.Query) (core.Metrics, int, error) {
	st, err := a.settings(ctx, q.Repo)
	if err != nil {
		return core.Metrics{}, http.StatusInternalServerError, err
	}
	if q.Team != "" {
		if !st.HasTeams() {
			return core.Metrics{}, http.StatusBadRequest, fmt.Errorf("query parameter \"team\": %s names no teams (ownership.services.*.team or ownership.default_team in .github/tasuki.yml)", q.Repo)
		}
		q.TeamOf = st.TeamOf
	} else if st.HasTeams() {
		q.TeamOf = st.TeamOf
	}
	// The previous period (for the change) and the lookback for pull
	// requests merged before the deployments that shipped them.
	since := q.From.Add(-q.To.Sub(q.From)).Add(-Lookback)
	p, err := a.history.PrepareHistory(ctx, store.HistoryQuery{Repo: q.Repo, Since: since, Until: q.To}, st.LeadTime)
	if err != nil {
		return core.Metrics{}, http.StatusInternalServerError, err
	}
	m, err := p.Compute(q)
	if err != nil {
		return core.Metrics{}, http.StatusInternalServerError, err
	}
	return m, http.StatusOK, nil
}
