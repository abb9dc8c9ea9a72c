package githubtest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// The reads onboarding verifies a repository with: branch protection and
// the rules of rulesets, a team's permission on a repository, outside
// collaborators, workflow runs, and the errors GitHub finds in CODEOWNERS.

func (s *Server) routesOnboarding() {
	const R = "/repos/{owner}/{repo}"
	s.handle("GET", R+"/branches/{branch}/protection", s.getBranchProtection)
	s.handle("GET", R+"/rules/branches/{branch}", s.getBranchRules)
	s.handle("GET", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", s.getTeamRepo)
	s.handle("GET", R+"/collaborators", s.listCollaborators)
	s.handle("GET", R+"/actions/runs", s.listWorkflowRuns)
	s.handle("GET", R+"/codeowners/errors", s.codeownersErrors)
	s.handle("GET", R+"/git/blobs/{file_sha}", s.getBlob)
}

// getBlob answers a blob by its ID: one uploaded through the git data API
// or one of any commit's files. As on GitHub, its URL names the content,
// so a conditional request for an unchanged file is answered 304 whatever
// the commits since.
func (s *Server) getBlob(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	sha := strings.ToLower(rc.p("file_sha"))
	content, ok := r.blobs[sha]
	if !ok {
		for _, files := range r.trees {
			for _, c := range files {
				if blobSHA(c) == sha {
					content, ok = c, true
					break
				}
			}
			if ok {
				break
			}
		}
	}
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, map[string]any{
		"sha": sha, "size": len(content), "encoding": "base64",
		"content": base64.StdEncoding.EncodeToString(content),
		"url":     fmt.Sprintf("%srepos/%s/git/blobs/%s", s.URL(), r.repo.GetFullName(), sha),
		"node_id": "B_" + sha[:12],
	})
}

// onboardingState is what the onboarding routes keep beside the shared
// state, guarded by the server's mu.
type onboardingState struct {
	protection map[string]BranchProtection // lower-case "owner/repo@branch"
	rules      map[string][]BranchRule     // lower-case "owner/repo@branch"
	teamRepos  map[string]string           // lower-case "org/slug owner/repo" -> permission
	outside    map[string]map[string]bool  // lower-case "owner/repo" -> outside collaborator logins
	runs       map[string][]map[string]any // lower-case "owner/repo" -> workflow runs, oldest first
}

// onboardingStates holds each server's onboardingState: the state lives
// beside the server so that the shared state stays as it was.
var onboardingStates sync.Map // *Server -> *onboardingState

// ob returns s's onboarding state, creating it on first use. Callers hold
// s.mu or are seeding under it.
func (s *Server) ob() *onboardingState {
	if v, ok := onboardingStates.Load(s); ok {
		return v.(*onboardingState)
	}
	st := &onboardingState{
		protection: map[string]BranchProtection{},
		rules:      map[string][]BranchRule{},
		teamRepos:  map[string]string{},
		outside:    map[string]map[string]bool{},
		runs:       map[string][]map[string]any{},
	}
	v, loaded := onboardingStates.LoadOrStore(s, st)
	if !loaded && s.t != nil {
		s.t.Cleanup(func() { onboardingStates.Delete(s) })
	}
	return v.(*onboardingState)
}

// BranchProtection is a branch protection rule as the fake keeps it.
type BranchProtection struct {
	RequiredChecks  []string // status check contexts required before merging
	RequiredReviews int      // approving reviews required; 0 with CodeOwnerReview false: no review rule
	CodeOwnerReview bool
}

// BranchRule is a rule of a repository ruleset applying to a branch.
// Type is GitHub's rule type ("pull_request", "required_status_checks",
// "deletion", ...); Parameters its parameters as GitHub sends them.
type BranchRule struct {
	Type       string
	Parameters map[string]any
}

// PullRequestRule is a ruleset's pull_request rule requiring reviews.
func PullRequestRule(reviews int, codeOwner bool) BranchRule {
	return BranchRule{Type: "pull_request", Parameters: map[string]any{
		"dismiss_stale_reviews_on_push": false, "require_code_owner_review": codeOwner, "require_last_push_approval": false,
		"required_approving_review_count": reviews, "required_review_thread_resolution": false}}
}

// StatusChecksRule is a ruleset's required_status_checks rule.
func StatusChecksRule(contexts ...string) BranchRule {
	checks := []map[string]any{}
	for _, c := range contexts {
		checks = append(checks, map[string]any{"context": c})
	}
	return BranchRule{Type: "required_status_checks", Parameters: map[string]any{
		"required_status_checks": checks, "strict_required_status_checks_policy": false}}
}

func branchKey(full, branch string) string { return strings.ToLower(full + "@" + branch) }

// SetBranchProtection protects branch of repository full with p.
func (s *Server) SetBranchProtection(full, branch string, p BranchProtection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full)
	s.ob().protection[branchKey(full, branch)] = p
}

// RemoveBranchProtection removes the branch protection rule of branch.
func (s *Server) RemoveBranchProtection(full, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ob().protection, branchKey(full, branch))
}

// SetBranchRules sets the ruleset rules applying to branch of full.
func (s *Server) SetBranchRules(full, branch string, rules ...BranchRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full)
	s.ob().rules[branchKey(full, branch)] = clone(rules)
}

// SetTeamPrivacy sets a seeded team's privacy: "closed" (visible to the
// organisation) or "secret".
func (s *Server) SetTeamPrivacy(org, slug, privacy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.teams[strings.ToLower(org+"/"+slug)]
	if t == nil {
		s.t.Fatalf("githubtest: team %s/%s not seeded (call AddTeam)", org, slug)
		return
	}
	t.team.Privacy = github.String(privacy)
}

// SetTeamRepoPermission gives team org/slug permission perm (pull, triage,
// push, maintain, admin; "" removes it) on repository full.
func (s *Server) SetTeamRepoPermission(org, slug, full, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full)
	k := strings.ToLower(org + "/" + slug + " " + full)
	if perm == "" {
		delete(s.ob().teamRepos, k)
		return
	}
	s.ob().teamRepos[k] = perm
}

// AddOutsideCollaborator gives login, who is not a member of the
// organisation, permission perm (read, triage, write, maintain, admin) on
// repository full.
func (s *Server) AddOutsideCollaborator(full, login, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	s.st.user(login)
	r.perms[login] = perm
	k := strings.ToLower(full)
	if s.ob().outside[k] == nil {
		s.ob().outside[k] = map[string]bool{}
	}
	s.ob().outside[k][strings.ToLower(login)] = true
}

// WorkflowRun is a workflow run to seed.
type WorkflowRun struct {
	Name       string // the workflow's name
	Path       string // its file; default .github/workflows/<name>.yml
	Branch     string // default: the default branch
	Event      string // default: push
	Status     string // default: completed
	Conclusion string // success, failure, ...; default success when completed
	CreatedAt  time.Time
}

// AddWorkflowRun seeds a run of a workflow of repository full and returns
// its ID.
func (s *Server) AddWorkflowRun(full string, w WorkflowRun) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	if w.Path == "" {
		w.Path = ".github/workflows/" + strings.ToLower(strings.ReplaceAll(w.Name, " ", "-")) + ".yml"
	}
	if w.Branch == "" {
		w.Branch = r.repo.GetDefaultBranch()
	}
	if w.Event == "" {
		w.Event = "push"
	}
	if w.Status == "" {
		w.Status = "completed"
	}
	var conclusion any
	if w.Status == "completed" {
		if w.Conclusion == "" {
			w.Conclusion = "success"
		}
		conclusion = w.Conclusion
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.now()
	}
	id := s.st.nextID()
	api := fmt.Sprintf("%srepos/%s/actions/runs/%d", s.URL(), full, id)
	sha := r.refs["heads/"+w.Branch]
	at := w.CreatedAt.UTC().Format(time.RFC3339)
	run := map[string]any{
		"id": id, "node_id": fmt.Sprintf("WFR_%d", id), "name": w.Name, "path": w.Path, "display_title": w.Name,
		"head_branch": w.Branch, "head_sha": sha, "run_number": id, "run_attempt": 1, "event": w.Event,
		"status": w.Status, "conclusion": conclusion, "workflow_id": int64(len(w.Path)), "url": api,
		"html_url":   fmt.Sprintf("https://github.com/%s/actions/runs/%d", full, id),
		"created_at": at, "updated_at": at, "run_started_at": at,
		"jobs_url": api + "/jobs", "logs_url": api + "/logs", "check_suite_url": api + "/check-suite",
		"cancel_url": api + "/cancel", "rerun_url": api + "/rerun", "artifacts_url": api + "/artifacts",
		"workflow_url":  fmt.Sprintf("%srepos/%s/actions/workflows/%d", s.URL(), full, len(w.Path)),
		"pull_requests": []any{}, "head_commit": nil, "repository": r.repo, "head_repository": r.repo,
	}
	k := strings.ToLower(full)
	s.ob().runs[k] = append(s.ob().runs[k], run)
	return id
}

// getBranchProtection answers as GitHub does: 404 "Branch not protected"
// without a rule.
func (s *Server) getBranchProtection(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	full, branch := r.repo.GetFullName(), rc.p("branch")
	if _, ok := r.refs["heads/"+branch]; !ok {
		rc.fail(404, "Branch not found")
		return
	}
	p, ok := s.ob().protection[branchKey(full, branch)]
	if !ok {
		rc.fail(404, "Branch not protected")
		return
	}
	u := fmt.Sprintf("%srepos/%s/branches/%s/protection", s.URL(), full, branch)
	out := map[string]any{
		"url":                     u,
		"enforce_admins":          map[string]any{"url": u + "/enforce_admins", "enabled": false},
		"required_linear_history": map[string]any{"enabled": false},
		"allow_force_pushes":      map[string]any{"enabled": false},
		"allow_deletions":         map[string]any{"enabled": false},
	}
	if p.RequiredChecks != nil {
		checks := []map[string]any{}
		for _, c := range p.RequiredChecks {
			checks = append(checks, map[string]any{"context": c, "app_id": nil})
		}
		out["required_status_checks"] = map[string]any{"url": u + "/required_status_checks", "strict": true,
			"contexts": nonNil(slices.Clone(p.RequiredChecks)), "checks": checks, "contexts_url": u + "/required_status_checks/contexts"}
	}
	if p.RequiredReviews > 0 || p.CodeOwnerReview {
		out["required_pull_request_reviews"] = map[string]any{"url": u + "/required_pull_request_reviews",
			"dismiss_stale_reviews": false, "require_code_owner_reviews": p.CodeOwnerReview,
			"required_approving_review_count": p.RequiredReviews, "require_last_push_approval": false}
	}
	rc.json(200, out)
}

func (s *Server) getBranchRules(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	full := r.repo.GetFullName()
	var out []map[string]any
	for _, rule := range s.ob().rules[branchKey(full, rc.p("branch"))] {
		e := map[string]any{"type": rule.Type, "ruleset_source_type": "Repository", "ruleset_source": full, "ruleset_id": 1}
		if rule.Parameters != nil {
			e["parameters"] = rule.Parameters
		}
		out = append(out, e)
	}
	page(rc, out)
}

// getTeamRepo answers GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}
// with the repository and the team's permissions on it, or 404 when the
// team has none (or does not exist).
func (s *Server) getTeamRepo(rc *reqCtx) {
	t := rc.team()
	if t == nil {
		return
	}
	r := rc.repo()
	if r == nil {
		return
	}
	perm, ok := s.ob().teamRepos[strings.ToLower(rc.p("org")+"/"+rc.p("team_slug")+" "+r.repo.GetFullName())]
	if !ok {
		rc.notFound()
		return
	}
	repo := clone(r.repo)
	repo.Permissions = permissionFlags(perm)
	repo.RoleName = github.String(roleName(perm))
	rc.json(200, repo)
}

// rank orders permissions as GitHub's role names and legacy names alike.
func rank(perm string) int {
	switch strings.ToLower(perm) {
	case "read", "pull":
		return 1
	case "triage":
		return 2
	case "write", "push":
		return 3
	case "maintain":
		return 4
	case "admin":
		return 5
	}
	return 0
}

// permissionFlags is GitHub's "permissions" object for perm: every level
// up to it set.
func permissionFlags(perm string) map[string]bool {
	n := rank(perm)
	return map[string]bool{"pull": n >= 1, "triage": n >= 2, "push": n >= 3, "maintain": n >= 4, "admin": n >= 5}
}

// roleName spells perm as GitHub's role_name does.
func roleName(perm string) string {
	return [...]string{"", "read", "triage", "write", "maintain", "admin"}[rank(perm)]
}

// listCollaborators lists people with a permission on the repository:
// affiliation outside keeps the outside collaborators, direct and all
// (default) everyone; permission keeps those holding at least it. The
// repository's owner (the organisation) is not a collaborator.
func (s *Server) listCollaborators(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	full := r.repo.GetFullName()
	outside := s.ob().outside[strings.ToLower(full)]
	var out []*github.User
	for login, perm := range r.perms {
		if strings.EqualFold(login, r.repo.GetOwner().GetLogin()) {
			continue
		}
		if rc.q("affiliation") == "outside" && !outside[strings.ToLower(login)] {
			continue
		}
		if p := rc.q("permission"); p != "" && rank(perm) < rank(p) {
			continue
		}
		u := clone(s.st.user(login))
		u.Permissions = permissionFlags(perm)
		u.RoleName = github.String(roleName(perm))
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].GetLogin()) < strings.ToLower(out[j].GetLogin()) })
	page(rc, out)
}

// listWorkflowRuns lists runs newest first, filtered by branch, event and
// status as GitHub does.
func (s *Server) listWorkflowRuns(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	runs := s.ob().runs[strings.ToLower(r.repo.GetFullName())]
	var out []map[string]any
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		if b := rc.q("branch"); b != "" && run["head_branch"] != b {
			continue
		}
		if e := rc.q("event"); e != "" && run["event"] != e {
			continue
		}
		if st := rc.q("status"); st != "" && run["status"] != st && run["conclusion"] != st {
			continue
		}
		out = append(out, run)
	}
	pageIn(rc, "workflow_runs", out, nil)
}

// codeownersErrors checks the CODEOWNERS GitHub would use at ref (default
// branch by default) as GitHub does for owners: a team must exist and hold
// write access to the repository, a user must hold write access; an email
// address is taken as it is. 404 when there is no CODEOWNERS file.
func (s *Server) codeownersErrors(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	tree := r.tree(rc.q("ref"))
	if tree == nil {
		rc.notFound()
		return
	}
	var path string
	var content []byte
	for _, p := range []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"} {
		if c, ok := tree[p]; ok {
			path, content = p, c
			break
		}
	}
	if path == "" {
		rc.notFound()
		return
	}
	full := r.repo.GetFullName()
	errs := []map[string]any{}
	for i, line := range strings.Split(string(content), "\n") {
		src := strings.TrimRight(line, "\r")
		code, _, _ := strings.Cut(src, "#")
		fields := strings.Fields(code)
		if len(fields) < 2 {
			continue
		}
		col := 0
		for _, owner := range fields[1:] {
			col = strings.Index(src[col:], owner) + col
			if s.knownOwner(r, full, owner) {
				col += len(owner)
				continue
			}
			errs = append(errs, map[string]any{
				"line": i + 1, "column": col + 1, "kind": "Unknown owner", "source": src, "suggestion": nil, "path": path,
				"message": fmt.Sprintf("Unknown owner on line %d: make sure %s exists and has write access to the repository\n\n  %s\n  %s^",
					i+1, owner, src, strings.Repeat(" ", col)),
			})
			col += len(owner)
		}
	}
	rc.json(200, map[string]any{"errors": errs})
}

// knownOwner reports whether GitHub would accept owner in full's
// CODEOWNERS. Called with s.mu held.
func (s *Server) knownOwner(r *repoState, full, owner string) bool {
	name, ok := strings.CutPrefix(owner, "@")
	if !ok {
		return strings.Contains(owner, "@") // an email address
	}
	if org, slug, isTeam := strings.Cut(name, "/"); isTeam {
		if s.st.teams[strings.ToLower(org+"/"+slug)] == nil {
			return false
		}
		return rank(s.ob().teamRepos[strings.ToLower(org+"/"+slug+" "+full)]) >= rank("write")
	}
	for login, perm := range r.perms {
		if strings.EqualFold(login, name) {
			return rank(perm) >= rank("write")
		}
	}
	return false
}
