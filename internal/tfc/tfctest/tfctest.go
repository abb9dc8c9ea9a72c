// Package tfctest is an in-memory Terraform Cloud API for tests, served by
// httptest and spoken to through the real go-tfe client. It answers what
// tasuki calls: the ping go-tfe sends on client creation, runs (with the
// workspace, configuration version and ingress attributes included), a
// plan's JSON output (by redirect to an archive URL, as TFC does, or
// directly) and the run task result callback.
package tfctest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Run is one seeded run.
type Run struct {
	ID           string
	Status       string // default "planned"
	Organization string
	Workspace    string
	PlanID       string // empty: the run has no plan
	PlanJSON     []byte
	// VCS ingress attributes of the run's configuration version; a zero
	// Identifier means the run was not started from VCS.
	Identifier  string // "owner/repo"
	PullRequest int
	CommitSHA   string
}

// Callback is one task result PATCH received.
type Callback struct {
	TaskResultID string
	Token        string // the bearer token it carried, for asserting which token was used
	Status       string
	Message      string
	URL          string
}

// Server is the in-memory API.
type Server struct {
	*httptest.Server
	// Token is the bearer token the API accepts (besides task access tokens
	// added with AcceptToken).
	Token string
	// Redirect makes json-output answer with a 307 to an archive URL, as TFC
	// does; default true.
	Redirect bool

	mu        sync.Mutex
	runs      map[string]Run
	plans     map[string]string // plan ID -> run ID
	tokens    map[string]bool
	callbacks []Callback
	requests  map[string]int
	t         testing.TB
}

// New starts a server closed at the end of the test.
func New(t testing.TB) *Server {
	s := &Server{
		Token:    "tfc-test-token",
		Redirect: true,
		runs:     map[string]Run{},
		plans:    map[string]string{},
		tokens:   map[string]bool{},
		requests: map[string]int{},
		t:        t,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Address is the address to give go-tfe.
func (s *Server) Address() string { return s.URL }

// AddRun seeds a run.
func (s *Server) AddRun(r Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Status == "" {
		r.Status = "planned"
	}
	s.runs[r.ID] = r
	if r.PlanID != "" {
		s.plans[r.PlanID] = r.ID
	}
}

// AcceptToken makes the API accept token (a run task's access token).
func (s *Server) AcceptToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// CallbackURL returns the task_result_callback_url for a task result ID.
func (s *Server) CallbackURL(taskResultID string) string {
	return s.URL + "/api/v2/task-results/" + taskResultID + "/callback"
}

// Callbacks returns the task result PATCHes received, in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// Requests returns how many requests each "METHOD /path-pattern" received.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func (s *Server) count(key string) {
	s.mu.Lock()
	s.requests[key]++
	s.mu.Unlock()
}

func (s *Server) authorized(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return tok, tok == s.Token || s.tokens[tok]
}

const jsonAPI = "application/vnd.api+json"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("TFP-API-Version", "2.6")
	w.Header().Set("TFP-AppName", "HCP Terraform")
	path := r.URL.Path
	switch {
	case path == "/api/v2/ping" && r.Method == http.MethodGet:
		s.count("GET /api/v2/ping")
		w.WriteHeader(http.StatusNoContent)
		return
	case strings.HasPrefix(path, "/_archivist/"):
		// The archive URL is pre-signed and needs no token, like TFC's.
		s.count("GET /_archivist/{plan}")
		s.writePlan(w, strings.TrimPrefix(path, "/_archivist/"))
		return
	}
	tok, ok := s.authorized(r)
	if !ok {
		s.count("unauthorized")
		writeErrors(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/api/v2/"), "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "runs":
		s.count("GET /api/v2/runs/{id}")
		s.writeRun(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "plans" && parts[2] == "json-output":
		s.count("GET /api/v2/plans/{id}/json-output")
		if s.Redirect {
			http.Redirect(w, r, s.URL+"/_archivist/"+parts[1], http.StatusTemporaryRedirect)
			return
		}
		s.writePlan(w, parts[1])
	case r.Method == http.MethodPatch && len(parts) == 3 && parts[0] == "task-results" && parts[2] == "callback":
		s.count("PATCH /api/v2/task-results/{id}/callback")
		s.callback(w, r, parts[1], tok)
	default:
		s.count("unknown " + r.Method + " " + path)
		writeErrors(w, http.StatusNotFound, "not found")
	}
}

func (s *Server) writePlan(w http.ResponseWriter, planID string) {
	s.mu.Lock()
	runID, ok := s.plans[planID]
	run := s.runs[runID]
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(run.PlanJSON)
}

type resource struct {
	Type          string                  `json:"type"`
	ID            string                  `json:"id"`
	Attributes    map[string]any          `json:"attributes,omitempty"`
	Relationships map[string]relationship `json:"relationships,omitempty"`
}

type relationship struct {
	Data *ref `json:"data"`
}

type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (s *Server) writeRun(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	run, ok := s.runs[id]
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "not found")
		return
	}
	include := map[string]bool{}
	for _, inc := range strings.Split(r.URL.Query().Get("include"), ",") {
		include[inc] = true
	}
	wsID := "ws-" + run.Workspace
	cvID := "cv-" + run.ID
	rels := map[string]relationship{
		"workspace":             {Data: &ref{Type: "workspaces", ID: wsID}},
		"configuration-version": {Data: &ref{Type: "configuration-versions", ID: cvID}},
	}
	if run.PlanID != "" {
		rels["plan"] = relationship{Data: &ref{Type: "plans", ID: run.PlanID}}
	}
	doc := map[string]any{
		"data": resource{Type: "runs", ID: run.ID, Attributes: map[string]any{"status": run.Status}, Relationships: rels},
	}
	var included []resource
	if include["workspace"] {
		included = append(included,
			resource{Type: "workspaces", ID: wsID, Attributes: map[string]any{"name": run.Workspace},
				Relationships: map[string]relationship{"organization": {Data: &ref{Type: "organizations", ID: run.Organization}}}})
	}
	if include["configuration_version"] || include["configuration_version.ingress_attributes"] {
		cv := resource{Type: "configuration-versions", ID: cvID, Attributes: map[string]any{"source": "tfe-api", "status": "uploaded"}}
		if run.Identifier != "" {
			cv.Attributes["source"] = "github"
			iaID := "ia-" + run.ID
			cv.Relationships = map[string]relationship{"ingress-attributes": {Data: &ref{Type: "ingress-attributes", ID: iaID}}}
			if include["configuration_version.ingress_attributes"] {
				included = append(included, resource{Type: "ingress-attributes", ID: iaID, Attributes: map[string]any{
					"identifier":          run.Identifier,
					"commit-sha":          run.CommitSHA,
					"is-pull-request":     run.PullRequest > 0,
					"pull-request-number": run.PullRequest,
					"pull-request-url":    fmt.Sprintf("https://github.com/%s/pull/%d", run.Identifier, run.PullRequest),
				}})
			}
		}
		included = append(included, cv)
	}
	if len(included) > 0 {
		doc["included"] = included
	}
	w.Header().Set("Content-Type", jsonAPI)
	json.NewEncoder(w).Encode(doc)
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request, taskResultID, token string) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Status  string `json:"status"`
				Message string `json:"message"`
				URL     string `json:"url"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data.Type != "task-results" {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("bad task result body (type %q, err %v)", body.Data.Type, err))
		return
	}
	switch body.Data.Attributes.Status {
	case "passed", "failed", "running":
	default:
		writeErrors(w, http.StatusBadRequest, "bad status "+body.Data.Attributes.Status)
		return
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, Callback{
		TaskResultID: taskResultID, Token: token,
		Status: body.Data.Attributes.Status, Message: body.Data.Attributes.Message, URL: body.Data.Attributes.URL,
	})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func writeErrors(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", jsonAPI)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"status": fmt.Sprint(code), "title": msg}}})
}
