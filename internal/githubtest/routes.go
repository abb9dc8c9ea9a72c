package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

func (s *Server) routes() {
	const R = "/repos/{owner}/{repo}"
	s.handle("GET", R, s.getRepo)

	// Issues, comments, labels, timeline.
	s.handle("GET", R+"/issues", s.listIssues)
	s.handle("POST", R+"/issues", s.createIssue)
	s.handle("GET", R+"/issues/{issue_number}", s.getIssue)
	s.handle("PATCH", R+"/issues/{issue_number}", s.editIssue)
	s.handle("GET", R+"/issues/{issue_number}/comments", s.listComments)
	s.handle("POST", R+"/issues/{issue_number}/comments", s.createComment)
	s.handle("GET", R+"/issues/comments/{comment_id}", s.getComment)
	s.handle("PATCH", R+"/issues/comments/{comment_id}", s.editComment)
	s.handle("DELETE", R+"/issues/comments/{comment_id}", s.deleteComment)
	s.handle("GET", R+"/issues/{issue_number}/labels", s.listIssueLabels)
	s.handle("POST", R+"/issues/{issue_number}/labels", s.addIssueLabels)
	s.handle("PUT", R+"/issues/{issue_number}/labels", s.setIssueLabels)
	s.handle("DELETE", R+"/issues/{issue_number}/labels/{name}", s.removeIssueLabel)
	s.handle("POST", R+"/issues/{issue_number}/assignees", s.addAssignees)
	s.handle("GET", R+"/labels", s.listLabels)
	s.handle("POST", R+"/labels", s.createLabel)
	s.handle("GET", R+"/labels/{name}", s.getLabel)
	s.handle("GET", R+"/issues/{issue_number}/timeline", s.listTimeline)
	s.handle("GET", R+"/issues/{issue_number}/events", s.listIssueEvents)

	// Checks.
	s.handle("POST", R+"/check-runs", s.createCheckRun)
	s.handle("GET", R+"/check-runs/{check_run_id}", s.getCheckRun)
	s.handle("PATCH", R+"/check-runs/{check_run_id}", s.updateCheckRun)
	s.handle("GET", R+"/commits/{ref}/check-runs", s.listCheckRunsForRef)
	s.handle("GET", R+"/check-runs/{check_run_id}/annotations", s.listAnnotations)

	// Pulls and reviews.
	s.handle("GET", R+"/pulls", s.listPulls)
	s.handle("POST", R+"/pulls", s.createPull)
	s.handle("GET", R+"/pulls/{pull_number}", s.getPull)
	s.handle("PATCH", R+"/pulls/{pull_number}", s.editPull)
	s.handle("GET", R+"/pulls/{pull_number}/commits", s.listPullCommits)
	s.handle("GET", R+"/pulls/{pull_number}/files", s.listPullFiles)
	s.handle("GET", R+"/pulls/{pull_number}/reviews", s.listReviews)
	s.handle("POST", R+"/pulls/{pull_number}/reviews", s.createReview)
	s.handle("GET", R+"/pulls/{pull_number}/requested_reviewers", s.listRequestedReviewers)
	s.handle("POST", R+"/pulls/{pull_number}/requested_reviewers", s.requestReviewers)
	s.handle("PUT", R+"/pulls/{pull_number}/merge", s.mergePull)

	// Contents, refs.
	s.handle("GET", R+"/contents/{path}", s.getContents)
	s.handle("PUT", R+"/contents/{path}", s.putContents)
	s.handle("GET", R+"/git/ref/{ref}", s.getRef)
	s.handle("POST", R+"/git/refs", s.createRef)
	s.handle("PATCH", R+"/git/refs/{ref}", s.updateRef)
	s.handle("GET", R+"/branches/{branch}", s.getBranch)

	// Deployments.
	s.handle("GET", R+"/deployments", s.listDeployments)
	s.handle("POST", R+"/deployments", s.createDeployment)
	s.handle("GET", R+"/deployments/{deployment_id}/statuses", s.listDeploymentStatuses)
	s.handle("POST", R+"/deployments/{deployment_id}/statuses", s.createDeploymentStatus)

	// People.
	s.handle("GET", R+"/collaborators/{username}/permission", s.getPermission)
	s.handle("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", s.getTeamMembership)
	s.handle("GET", "/orgs/{org}/teams/{team_slug}/members", s.listTeamMembers)
	s.handle("GET", "/orgs/{org}/teams/{team_slug}", s.getTeam)
	s.handle("GET", "/users/{username}", s.getUser)

	// App.
	s.handle("GET", "/app", s.getApp)
	s.handle("GET", "/app/installations", s.listInstallations)
	s.handle("GET", R+"/installation", s.getRepoInstallation)
	s.handle("GET", "/installation/repositories", s.listInstallationRepos)
	s.handle("POST", "/app/installations/{installation_id}/access_tokens", s.createInstallationToken)
	s.handle("GET", "/app/hook/deliveries", s.listHookDeliveries)
	s.handle("GET", "/app/hook/deliveries/{delivery_id}", s.getHookDelivery)
	s.handle("POST", "/app/hook/deliveries/{delivery_id}/attempts", s.redeliver)

	s.handle("GET", "/search/issues", s.searchIssues)
	s.handle("GET", "/rate_limit", s.rateLimit)
}

// bodyFits enforces GitHub's 65,536-character limit on issue and comment
// bodies, answering 422 as GitHub does.
func (rc *reqCtx) bodyFits(body string) bool {
	if len([]rune(body)) <= 65536 {
		return true
	}
	rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "IssueComment", "code": "custom",
		"field": "body", "message": "body is too long (maximum is 65536 characters)"}}})
	return false
}

func (rc *reqCtx) repo() *repoState {
	r := rc.s.st.repo(rc.p("owner"), rc.p("repo"))
	if r == nil {
		rc.notFound()
	}
	return r
}

func (rc *reqCtx) me() *github.User { return rc.s.st.user(rc.who.login) }

func (s *Server) getRepo(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		rc.json(200, r.repo)
	}
}

// ---- issues ----

func sortDir[T any](items []T, desc bool, less func(a, b T) bool) {
	sort.SliceStable(items, func(i, j int) bool {
		if desc {
			return less(items[j], items[i])
		}
		return less(items[i], items[j])
	})
}

func hasLabels(is *github.Issue, names string) bool {
	if names == "" {
		return true
	}
	for _, want := range strings.Split(names, ",") {
		found := false
		for _, l := range is.Labels {
			if strings.EqualFold(l.GetName(), strings.TrimSpace(want)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) listIssues(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	state := rc.q("state")
	if state == "" {
		state = "open"
	}
	var out []*github.Issue
	for _, is := range r.issues {
		if state != "all" && is.GetState() != state {
			continue
		}
		if !hasLabels(is, rc.q("labels")) {
			continue
		}
		if c := rc.q("creator"); c != "" && !strings.EqualFold(is.GetUser().GetLogin(), c) {
			continue
		}
		if since := rc.q("since"); since != "" {
			if t, err := time.Parse(time.RFC3339, since); err == nil && is.GetUpdatedAt().Before(t) {
				continue
			}
		}
		out = append(out, is)
	}
	key := func(is *github.Issue) time.Time { return is.GetCreatedAt().Time }
	if rc.q("sort") == "updated" {
		key = func(is *github.Issue) time.Time { return is.GetUpdatedAt().Time }
	}
	sortDir(out, rc.q("direction") != "asc", func(a, b *github.Issue) bool {
		if ka, kb := key(a), key(b); !ka.Equal(kb) {
			return ka.Before(kb)
		}
		return a.GetNumber() < b.GetNumber()
	})
	page(rc, out)
}

func (s *Server) createIssue(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.IssueRequest
	if !rc.decode(&req) || !rc.bodyFits(req.GetBody()) {
		return
	}
	in := &github.Issue{Title: req.Title, Body: req.Body, User: rc.me()}
	if req.Labels != nil {
		for _, l := range *req.Labels {
			in.Labels = append(in.Labels, &github.Label{Name: github.String(l)})
		}
	}
	if req.Assignees != nil {
		for _, a := range *req.Assignees {
			in.Assignees = append(in.Assignees, &github.User{Login: github.String(a)})
		}
	}
	is := s.newIssue(r, in)
	for _, l := range is.Labels {
		r.timeline[is.GetNumber()] = append(r.timeline[is.GetNumber()], &github.Timeline{ID: github.Int64(s.st.nextID()),
			Event: github.String("labeled"), Actor: rc.me(), CreatedAt: is.CreatedAt, Label: &github.Label{Name: l.Name}})
	}
	rc.json(201, is)
}

func (rc *reqCtx) issue(r *repoState) *github.Issue {
	is := r.issues[rc.pInt("issue_number")]
	if is == nil {
		rc.notFound()
	}
	return is
}

func (s *Server) getIssue(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if is := rc.issue(r); is != nil {
			rc.json(200, is)
		}
	}
}

func (s *Server) event(r *repoState, number int, actor *github.User, ev string, f func(*github.Timeline)) {
	t := &github.Timeline{ID: github.Int64(s.st.nextID()), Event: github.String(ev), Actor: actor, CreatedAt: ts(s.now())}
	if f != nil {
		f(t)
	}
	r.timeline[number] = append(r.timeline[number], t)
}

func (s *Server) editIssue(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	var req github.IssueRequest
	if !rc.decode(&req) || !rc.bodyFits(req.GetBody()) {
		return
	}
	n := is.GetNumber()
	if req.Title != nil {
		is.Title = req.Title
	}
	if req.Body != nil {
		is.Body = req.Body
	}
	if req.State != nil && *req.State != is.GetState() {
		is.State = req.State
		if *req.State == "closed" {
			is.ClosedAt = ts(s.now())
			is.StateReason = req.StateReason
			s.event(r, n, rc.me(), "closed", nil)
		} else {
			is.ClosedAt = nil
			s.event(r, n, rc.me(), "reopened", nil)
		}
	}
	if req.Labels != nil {
		s.setLabels(r, is, *req.Labels, rc.me())
	}
	if req.Assignees != nil {
		is.Assignees = nil
		for _, a := range *req.Assignees {
			is.Assignees = append(is.Assignees, s.st.user(a))
		}
	}
	is.UpdatedAt = ts(s.now())
	rc.json(200, is)
}

func (s *Server) setLabels(r *repoState, is *github.Issue, names []string, actor *github.User) {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var kept []*github.Label
	for _, l := range is.Labels {
		if want[strings.ToLower(l.GetName())] {
			kept = append(kept, l)
			delete(want, strings.ToLower(l.GetName()))
		} else {
			name := l.GetName()
			s.event(r, is.GetNumber(), actor, "unlabeled", func(t *github.Timeline) { t.Label = &github.Label{Name: github.String(name)} })
		}
	}
	is.Labels = kept
	for _, n := range names {
		if want[strings.ToLower(n)] {
			s.addLabel(r, is, n, actor)
		}
	}
}

func (s *Server) addLabel(r *repoState, is *github.Issue, name string, actor *github.User) {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), name) {
			return
		}
	}
	l := r.ensureLabel(s.st, name)
	is.Labels = append(is.Labels, l)
	s.event(r, is.GetNumber(), actor, "labeled", func(t *github.Timeline) { t.Label = &github.Label{Name: l.Name, Color: l.Color} })
}

func (s *Server) listComments(rc *reqCtx) {
	r := rc.repo()
	if r == nil || rc.issue(r) == nil {
		return
	}
	out := r.issueComments(rc.pInt("issue_number"))
	if since := rc.q("since"); since != "" {
		t, _ := time.Parse(time.RFC3339, since)
		var kept []*github.IssueComment
		for _, c := range out {
			if !c.GetUpdatedAt().Before(t) {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	page(rc, out)
}

func (s *Server) createComment(rc *reqCtx) {
	r := rc.repo()
	if r == nil || rc.issue(r) == nil {
		return
	}
	var req github.IssueComment
	if !rc.decode(&req) || !rc.bodyFits(req.GetBody()) {
		return
	}
	rc.json(201, s.addComment(r, rc.pInt("issue_number"), rc.me(), req.GetBody()))
}

func (rc *reqCtx) comment(r *repoState) (int, *github.IssueComment) {
	id := rc.pInt64("comment_id")
	for i, c := range r.comments {
		if c.GetID() == id {
			return i, c
		}
	}
	rc.notFound()
	return -1, nil
}

func (s *Server) getComment(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if _, c := rc.comment(r); c != nil {
			rc.json(200, c)
		}
	}
}

func (s *Server) editComment(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	_, c := rc.comment(r)
	if c == nil {
		return
	}
	if !strings.EqualFold(c.GetUser().GetLogin(), rc.who.login) && r.perms[rc.who.login] != "admin" && !strings.HasSuffix(rc.who.login, "[bot]") {
		rc.fail(http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	var req github.IssueComment
	if !rc.decode(&req) || !rc.bodyFits(req.GetBody()) {
		return
	}
	c.Body = req.Body
	c.UpdatedAt = ts(s.now())
	for _, evs := range r.timeline {
		for _, e := range evs {
			if e.GetEvent() == "commented" && e.GetID() == c.GetID() {
				e.Body = c.Body
			}
		}
	}
	rc.json(200, c)
}

func (s *Server) deleteComment(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	i, c := rc.comment(r)
	if c == nil {
		return
	}
	r.comments = append(r.comments[:i], r.comments[i+1:]...)
	for n, evs := range r.timeline {
		for j, e := range evs {
			if e.GetEvent() == "commented" && e.GetID() == c.GetID() {
				r.timeline[n] = append(evs[:j:j], evs[j+1:]...)
				break
			}
		}
	}
	rc.noContent()
}

func (s *Server) listIssueLabels(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if is := rc.issue(r); is != nil {
			page(rc, is.Labels)
		}
	}
}

func labelNames(rc *reqCtx) ([]string, bool) {
	var arr []string
	if err := jsonUnmarshal(rc.body, &arr); err == nil {
		return arr, true
	}
	var obj struct {
		Labels []string `json:"labels"`
	}
	if !rc.decode(&obj) {
		return nil, false
	}
	return obj.Labels, true
}

func (s *Server) addIssueLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	names, ok := labelNames(rc)
	if !ok {
		return
	}
	for _, n := range names {
		s.addLabel(r, is, n, rc.me())
	}
	rc.json(200, is.Labels)
}

func (s *Server) setIssueLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	names, ok := labelNames(rc)
	if !ok {
		return
	}
	s.setLabels(r, is, names, rc.me())
	rc.json(200, is.Labels)
}

func (s *Server) removeIssueLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	var kept []string
	found := false
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), rc.p("name")) {
			found = true
			continue
		}
		kept = append(kept, l.GetName())
	}
	if !found {
		rc.fail(404, "Label does not exist")
		return
	}
	s.setLabels(r, is, kept, rc.me())
	rc.json(200, is.Labels)
}

func (s *Server) addAssignees(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	var req struct {
		Assignees []string `json:"assignees"`
	}
	if !rc.decode(&req) {
		return
	}
next:
	for _, a := range req.Assignees {
		for _, have := range is.Assignees {
			if strings.EqualFold(have.GetLogin(), a) {
				continue next
			}
		}
		u := s.st.user(a)
		is.Assignees = append(is.Assignees, u)
		s.event(r, is.GetNumber(), rc.me(), "assigned", func(t *github.Timeline) { t.Assignee = u })
	}
	rc.json(201, is)
}

func (s *Server) listLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var out []*github.Label
	for _, l := range r.labels {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	page(rc, out)
}

func (s *Server) createLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.Label
	if !rc.decode(&req) {
		return
	}
	if _, ok := r.labels[strings.ToLower(req.GetName())]; ok {
		rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "Label", "code": "already_exists", "field": "name"}}})
		return
	}
	l := r.ensureLabel(s.st, req.GetName())
	if req.Color != nil {
		l.Color = req.Color
	}
	l.Description = req.Description
	rc.json(201, l)
}

func (s *Server) getLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	l, ok := r.labels[strings.ToLower(rc.p("name"))]
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, l)
}

func (s *Server) listTimeline(rc *reqCtx) {
	if r := rc.repo(); r != nil && rc.issue(r) != nil {
		page(rc, r.timeline[rc.pInt("issue_number")])
	}
}

func (s *Server) listIssueEvents(rc *reqCtx) {
	r := rc.repo()
	if r == nil || rc.issue(r) == nil {
		return
	}
	var out []*github.IssueEvent
	for _, t := range r.timeline[rc.pInt("issue_number")] {
		if t.GetEvent() == "commented" || t.GetEvent() == "reviewed" || t.GetEvent() == "committed" {
			continue // the events API lists issue events only
		}
		out = append(out, &github.IssueEvent{ID: t.ID, Event: t.Event, Actor: t.Actor, CreatedAt: t.CreatedAt,
			Label: t.Label, Assignee: t.Assignee, CommitID: t.CommitID, Rename: t.Rename})
	}
	page(rc, out)
}

// ---- checks ----

func (s *Server) createCheckRun(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	// Only GitHub Apps (installation tokens, GITHUB_TOKEN) create check
	// runs, and each run belongs to the App that created it.
	slug, isBot := strings.CutSuffix(rc.who.login, "[bot]")
	if !isBot {
		rc.fail(http.StatusForbidden, "You must authenticate via a GitHub App.")
		return
	}
	var req github.CreateCheckRunOptions
	if !rc.decode(&req) {
		return
	}
	if err := checkOutputLimits(req.Output); err != "" {
		rc.fail(422, err)
		return
	}
	c := &github.CheckRun{ID: github.Int64(s.st.nextID()), Name: github.String(req.Name), HeadSHA: github.String(req.HeadSHA),
		ExternalID: req.ExternalID, DetailsURL: req.DetailsURL, Status: req.Status, Conclusion: req.Conclusion,
		StartedAt: req.StartedAt, CompletedAt: req.CompletedAt,
		App: s.appFor(slug)}
	if c.Status == nil {
		c.Status = github.String("queued")
	}
	if c.Conclusion != nil {
		c.Status = github.String("completed")
	}
	if c.GetStatus() == "completed" && c.CompletedAt == nil {
		c.CompletedAt = ts(s.now())
	}
	c.HTMLURL = github.String(fmt.Sprintf("https://github.com/%s/runs/%d", r.repo.GetFullName(), c.GetID()))
	s.applyOutput(c, req.Output)
	r.checkRuns = append(r.checkRuns, c)
	rc.json(201, c)
}

// checkOutputLimits applies GitHub's limits on check run output: 65,535
// characters for summary and text, at most 50 annotations per request.
func checkOutputLimits(o *github.CheckRunOutput) string {
	if o == nil {
		return ""
	}
	if len([]rune(o.GetSummary())) > 65535 {
		return "Invalid request. Only 65535 characters are allowed; summary is too long."
	}
	if len([]rune(o.GetText())) > 65535 {
		return "Invalid request. Only 65535 characters are allowed; text is too long."
	}
	if len(o.Annotations) > 50 {
		return "Invalid request. Only 50 annotations are allowed per request."
	}
	return ""
}

func (s *Server) applyOutput(c *github.CheckRun, o *github.CheckRunOutput) {
	if o == nil {
		return
	}
	prev := c.GetOutput()
	var anns []*github.CheckRunAnnotation
	if prev != nil {
		anns = prev.Annotations
	}
	// GitHub appends annotations sent on an update rather than replacing them.
	anns = append(anns, o.Annotations...)
	c.Output = &github.CheckRunOutput{Title: o.Title, Summary: o.Summary, Text: o.Text,
		AnnotationsCount: github.Int(len(anns)), Annotations: anns}
}

func (rc *reqCtx) checkRun(r *repoState) *github.CheckRun {
	id := rc.pInt64("check_run_id")
	for _, c := range r.checkRuns {
		if c.GetID() == id {
			return c
		}
	}
	rc.notFound()
	return nil
}

func (s *Server) getCheckRun(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if c := rc.checkRun(r); c != nil {
			rc.json(200, checkRunView(c))
		}
	}
}

// checkRunView hides annotations, which GitHub serves from their own endpoint.
func checkRunView(c *github.CheckRun) *github.CheckRun {
	v := *c
	if c.Output != nil {
		o := *c.Output
		o.Annotations = nil
		v.Output = &o
	}
	return &v
}

func (s *Server) updateCheckRun(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	c := rc.checkRun(r)
	if c == nil {
		return
	}
	if c.GetApp().GetSlug()+"[bot]" != rc.who.login {
		rc.fail(http.StatusForbidden, "Invalid app_id `"+strconv.FormatInt(c.GetApp().GetID(), 10)+"` - check run can only be modified by the GitHub App that created it.")
		return
	}
	var req github.UpdateCheckRunOptions
	if !rc.decode(&req) {
		return
	}
	if err := checkOutputLimits(req.Output); err != "" {
		rc.fail(422, err)
		return
	}
	if req.Name != "" {
		c.Name = github.String(req.Name)
	}
	if req.ExternalID != nil {
		c.ExternalID = req.ExternalID
	}
	if req.DetailsURL != nil {
		c.DetailsURL = req.DetailsURL
	}
	if req.Status != nil {
		c.Status = req.Status
	}
	if req.Conclusion != nil {
		c.Conclusion = req.Conclusion
		c.Status = github.String("completed")
	}
	if req.CompletedAt != nil {
		c.CompletedAt = req.CompletedAt
	}
	if c.GetStatus() == "completed" && c.CompletedAt == nil {
		c.CompletedAt = ts(s.now())
	}
	s.applyOutput(c, req.Output)
	rc.json(200, checkRunView(c))
}

func (s *Server) listCheckRunsForRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	ref := rc.p("ref")
	sha := ref
	if v, ok := r.refs["heads/"+ref]; ok {
		sha = v
	}
	var out []*github.CheckRun
	for i := len(r.checkRuns) - 1; i >= 0; i-- { // newest first, as GitHub lists them
		c := r.checkRuns[i]
		if c.GetHeadSHA() != sha {
			continue
		}
		if n := rc.q("check_name"); n != "" && c.GetName() != n {
			continue
		}
		if st := rc.q("status"); st != "" && c.GetStatus() != st {
			continue
		}
		out = append(out, checkRunView(c))
	}
	pageIn(rc, "check_runs", out, nil)
}

// pageIn answers a list endpoint that wraps its page in an object:
// {"total_count": N, key: [...], extra...}, paginated by per_page and page
// with a Link header to the next page.
func pageIn[T any](rc *reqCtx, key string, items []T, extra map[string]any) {
	per, _ := strconv.Atoi(rc.q("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	pg, _ := strconv.Atoi(rc.q("page"))
	if pg <= 0 {
		pg = 1
	}
	total := len(items)
	start, end := min((pg-1)*per, total), min(pg*per, total)
	if end < total {
		u := *rc.r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(pg+1))
		u.RawQuery = q.Encode()
		rc.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, rc.s.ts.URL, u.RequestURI()))
	}
	out := map[string]any{"total_count": total, key: nonNil(items[start:end])}
	for k, v := range extra {
		out[k] = v
	}
	rc.json(200, out)
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// ---- pulls ----

func (s *Server) listPulls(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	state := rc.q("state")
	if state == "" {
		state = "open"
	}
	var out []*github.PullRequest
	for _, pr := range r.pulls {
		pr = s.pullView(r, pr)
		if state != "all" && pr.GetState() != state {
			continue
		}
		if b := rc.q("base"); b != "" && pr.GetBase().GetRef() != b {
			continue
		}
		if h := rc.q("head"); h != "" {
			if _, ref, _ := strings.Cut(h, ":"); ref != pr.GetHead().GetRef() && h != pr.GetHead().GetRef() {
				continue
			}
		}
		out = append(out, pr)
	}
	key := func(p *github.PullRequest) time.Time { return p.GetCreatedAt().Time }
	switch rc.q("sort") {
	case "updated":
		key = func(p *github.PullRequest) time.Time { return p.GetUpdatedAt().Time }
	}
	// GitHub's default direction is desc, except asc for sort=created when
	// none is given... in fact "desc when sort is created or not given".
	desc := rc.q("direction") != "asc"
	sortDir(out, desc, func(a, b *github.PullRequest) bool {
		if ka, kb := key(a), key(b); !ka.Equal(kb) {
			return ka.Before(kb)
		}
		return a.GetNumber() < b.GetNumber()
	})
	page(rc, out)
}

func (s *Server) createPull(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.NewPullRequest
	if !rc.decode(&req) {
		return
	}
	headSHA, ok := r.refs["heads/"+req.GetHead()]
	if !ok {
		rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "PullRequest", "field": "head", "code": "invalid"}}})
		return
	}
	for _, pr := range r.pulls {
		if pr.GetState() == "open" && pr.GetHead().GetRef() == req.GetHead() && pr.GetBase().GetRef() == req.GetBase() {
			rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + req.GetHead() + "."}}})
			return
		}
	}
	pr := s.addPull(r, &github.PullRequest{Title: req.Title, Body: req.Body, User: rc.me(), Draft: req.Draft,
		Base: &github.PullRequestBranch{Ref: req.Base}, Head: &github.PullRequestBranch{Ref: req.Head, SHA: github.String(headSHA)}})
	rc.json(201, pr)
}

func (rc *reqCtx) pull(r *repoState) *github.PullRequest {
	pr := r.pulls[rc.pInt("pull_number")]
	if pr == nil {
		rc.notFound()
		return nil
	}
	return rc.s.pullView(r, pr)
}

func (s *Server) getPull(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if pr := rc.pull(r); pr != nil {
			rc.json(200, pr)
		}
	}
}

func (s *Server) editPull(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	pr := rc.pull(r)
	if pr == nil {
		return
	}
	var req github.PullRequest
	if !rc.decode(&req) {
		return
	}
	is := r.issues[pr.GetNumber()]
	if req.Title != nil {
		is.Title = req.Title
	}
	if req.Body != nil {
		is.Body = req.Body
	}
	if req.State != nil {
		is.State = req.State
		if req.GetState() == "closed" {
			is.ClosedAt = ts(s.now())
			pr.ClosedAt = is.ClosedAt
		}
	}
	is.UpdatedAt = ts(s.now())
	pr.UpdatedAt = is.UpdatedAt
	rc.json(200, s.pullView(r, pr))
}

func (s *Server) listPullCommits(rc *reqCtx) {
	if r := rc.repo(); r != nil && rc.pull(r) != nil {
		page(rc, r.prCommits[rc.pInt("pull_number")])
	}
}

func (s *Server) listPullFiles(rc *reqCtx) {
	if r := rc.repo(); r != nil && rc.pull(r) != nil {
		page(rc, r.prFiles[rc.pInt("pull_number")])
	}
}

func (s *Server) listReviews(rc *reqCtx) {
	if r := rc.repo(); r != nil && rc.pull(r) != nil {
		page(rc, r.reviews[rc.pInt("pull_number")])
	}
}

func (s *Server) createReview(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	pr := rc.pull(r)
	if pr == nil {
		return
	}
	var req github.PullRequestReviewRequest
	if !rc.decode(&req) {
		return
	}
	state := "PENDING"
	switch req.GetEvent() {
	case "APPROVE":
		state = "APPROVED"
	case "REQUEST_CHANGES":
		state = "CHANGES_REQUESTED"
	case "COMMENT":
		state = "COMMENTED"
	}
	commit := req.GetCommitID()
	if commit == "" {
		commit = pr.GetHead().GetSHA()
	}
	rv := &github.PullRequestReview{ID: github.Int64(s.st.nextID()), User: rc.me(), State: github.String(state),
		Body: req.Body, CommitID: github.String(commit), SubmittedAt: ts(s.now())}
	r.reviews[pr.GetNumber()] = append(r.reviews[pr.GetNumber()], rv)
	r.timeline[pr.GetNumber()] = append(r.timeline[pr.GetNumber()], reviewedEvent(rv))
	rc.json(200, rv)
}

// ---- contents and refs ----

func blobSHA(content []byte) string {
	return fakeSHA("blob", string(content))
}

func (s *Server) getContents(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	path := strings.Trim(rc.p("path"), "/")
	tree := r.tree(rc.q("ref"))
	if tree == nil {
		rc.fail(404, "No commit found for the ref "+rc.q("ref"))
		return
	}
	content, ok := tree[path]
	if !ok {
		// A directory listing.
		var entries []*github.RepositoryContent
		for p, c := range tree {
			if rest, ok := strings.CutPrefix(p, path+"/"); ok && !strings.Contains(rest, "/") {
				entries = append(entries, &github.RepositoryContent{Type: github.String("file"), Name: github.String(rest),
					Path: github.String(p), SHA: github.String(blobSHA(c)), Size: github.Int(len(c))})
			}
		}
		if len(entries) == 0 {
			rc.notFound()
			return
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].GetName() < entries[j].GetName() })
		rc.json(200, entries)
		return
	}
	sha := blobSHA(content)
	etag := `"` + sha + `"`
	rc.w.Header().Set("ETag", etag)
	if inm := rc.r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, sha) {
		rc.refund()
		rc.status = http.StatusNotModified
		rc.w.WriteHeader(http.StatusNotModified)
		return
	}
	name := path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		name = path[i+1:]
	}
	rc.json(200, &github.RepositoryContent{Type: github.String("file"), Encoding: github.String("base64"),
		Size: github.Int(len(content)), Name: github.String(name), Path: github.String(path), SHA: github.String(sha),
		Content: github.String(base64.StdEncoding.EncodeToString(content))})
}

func (s *Server) putContents(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.RepositoryContentFileOptions
	if !rc.decode(&req) {
		return
	}
	path := strings.Trim(rc.p("path"), "/")
	branch := req.GetBranch()
	if branch == "" {
		branch = r.repo.GetDefaultBranch()
	}
	if _, ok := r.refs["heads/"+branch]; !ok {
		rc.fail(404, "Branch "+branch+" not found")
		return
	}
	old, exists := r.tree(branch)[path]
	if exists && req.GetSHA() != blobSHA(old) {
		rc.fail(409, fmt.Sprintf("%s does not match %s", path, req.GetSHA()))
		return
	}
	if !exists && req.SHA != nil {
		rc.fail(409, fmt.Sprintf("%s does not exist; sha must be omitted", path))
		return
	}
	commit := r.commit(branch, path, req.Content, true)
	status := 201
	if exists {
		status = 200
	}
	rc.json(status, &github.RepositoryContentResponse{
		Content: &github.RepositoryContent{Path: github.String(path), SHA: github.String(blobSHA(req.Content))},
		Commit:  github.Commit{SHA: github.String(commit), Message: req.Message}})
}

func (s *Server) refView(r *repoState, ref string) *github.Reference {
	return &github.Reference{Ref: github.String("refs/" + ref),
		URL:    github.String(fmt.Sprintf("%srepos/%s/git/refs/%s", s.URL(), r.repo.GetFullName(), ref)),
		Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(r.refs[ref])}}
}

func (s *Server) getRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	ref := strings.TrimPrefix(rc.p("ref"), "refs/")
	if _, ok := r.refs[ref]; !ok {
		rc.notFound()
		return
	}
	rc.json(200, s.refView(r, ref))
}

func (s *Server) createRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !rc.decode(&req) {
		return
	}
	ref, ok := strings.CutPrefix(req.Ref, "refs/")
	if !ok || strings.Count(req.Ref, "/") < 2 {
		rc.fail(422, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, exists := r.refs[ref]; exists {
		rc.fail(422, "Reference already exists")
		return
	}
	if _, ok := r.trees[req.SHA]; !ok {
		rc.fail(422, "Object does not exist")
		return
	}
	r.refs[ref] = req.SHA
	rc.json(201, s.refView(r, ref))
}

func (s *Server) updateRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !rc.decode(&req) {
		return
	}
	ref := strings.TrimPrefix(rc.p("ref"), "refs/")
	if _, ok := r.refs[ref]; !ok {
		rc.fail(422, "Reference does not exist")
		return
	}
	if _, ok := r.trees[req.SHA]; !ok {
		rc.fail(422, "Object does not exist")
		return
	}
	r.refs[ref] = req.SHA
	rc.json(200, s.refView(r, ref))
}

// ---- deployments ----

func (s *Server) listDeployments(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var out []*github.Deployment
	for i := len(r.deployments) - 1; i >= 0; i-- {
		d := r.deployments[i]
		if e := rc.q("environment"); e != "" && d.GetEnvironment() != e {
			continue
		}
		if v := rc.q("sha"); v != "" && d.GetSHA() != v {
			continue
		}
		if v := rc.q("ref"); v != "" && d.GetRef() != v {
			continue
		}
		out = append(out, d)
	}
	page(rc, out)
}

func (s *Server) createDeployment(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.DeploymentRequest
	if !rc.decode(&req) {
		return
	}
	sha := req.GetRef()
	if v, ok := r.refs["heads/"+req.GetRef()]; ok {
		sha = v
	}
	env := req.GetEnvironment()
	if env == "" {
		env = "production"
	}
	d := &github.Deployment{ID: github.Int64(s.st.nextID()), Ref: req.Ref, SHA: github.String(sha), Task: github.String("deploy"),
		Environment: github.String(env), Description: req.Description, Creator: rc.me(), CreatedAt: ts(s.now()), UpdatedAt: ts(s.now())}
	r.deployments = append(r.deployments, d)
	rc.json(201, d)
}

func (rc *reqCtx) deployment(r *repoState) *github.Deployment {
	id := rc.pInt64("deployment_id")
	for _, d := range r.deployments {
		if d.GetID() == id {
			return d
		}
	}
	rc.notFound()
	return nil
}

func (s *Server) listDeploymentStatuses(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	d := rc.deployment(r)
	if d == nil {
		return
	}
	st := r.depStatuses[d.GetID()]
	out := make([]*github.DeploymentStatus, 0, len(st))
	for i := len(st) - 1; i >= 0; i-- {
		out = append(out, st[i])
	}
	page(rc, out)
}

func (s *Server) createDeploymentStatus(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	d := rc.deployment(r)
	if d == nil {
		return
	}
	var req github.DeploymentStatusRequest
	if !rc.decode(&req) {
		return
	}
	ds := &github.DeploymentStatus{ID: github.Int64(s.st.nextID()), State: req.State, Description: req.Description,
		Environment: d.Environment, LogURL: req.LogURL, EnvironmentURL: req.EnvironmentURL, Creator: rc.me(),
		CreatedAt: ts(s.now()), UpdatedAt: ts(s.now())}
	r.depStatuses[d.GetID()] = append(r.depStatuses[d.GetID()], ds)
	rc.json(201, ds)
}

// ---- people ----

func (s *Server) getPermission(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	login := rc.p("username")
	perm, ok := r.perms[login]
	if !ok {
		for k, v := range r.perms {
			if strings.EqualFold(k, login) {
				perm, ok = v, true
			}
		}
	}
	if !ok {
		if _, known := s.st.users[strings.ToLower(login)]; !known {
			rc.notFound()
			return
		}
		perm = "none"
	}
	legacy := perm
	switch perm {
	case "maintain":
		legacy = "write"
	case "triage":
		legacy = "read"
	}
	rc.json(200, &github.RepositoryPermissionLevel{Permission: github.String(legacy),
		User: s.st.user(login)})
}

func (rc *reqCtx) team() *teamState {
	t := rc.s.st.teams[strings.ToLower(rc.p("org")+"/"+rc.p("team_slug"))]
	if t == nil {
		rc.notFound()
	}
	return t
}

func (s *Server) getTeamMembership(rc *reqCtx) {
	t := rc.team()
	if t == nil {
		return
	}
	for login, role := range t.members {
		if strings.EqualFold(login, rc.p("username")) {
			rc.json(200, &github.Membership{State: github.String("active"), Role: github.String(role),
				URL: github.String(fmt.Sprintf("%sorgs/%s/teams/%s/memberships/%s", s.URL(), t.org, t.team.GetSlug(), login))})
			return
		}
	}
	rc.notFound()
}

func (s *Server) listTeamMembers(rc *reqCtx) {
	t := rc.team()
	if t == nil {
		return
	}
	var out []*github.User
	for login, role := range t.members {
		if r := rc.q("role"); r != "" && r != "all" && r != role {
			continue
		}
		out = append(out, s.st.user(login))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetLogin() < out[j].GetLogin() })
	page(rc, out)
}

func (s *Server) getUser(rc *reqCtx) {
	u, ok := s.st.users[strings.ToLower(rc.p("username"))]
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, u)
}

// ---- app ----

func (s *Server) getApp(rc *reqCtx) {
	rc.json(200, &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug), Name: github.String(s.appSlug),
		Owner: s.st.user("acme")})
}

func (s *Server) listInstallations(rc *reqCtx) {
	var out []*github.Installation
	for _, in := range s.st.installations {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	page(rc, out)
}

func (s *Server) createInstallationToken(rc *reqCtx) {
	id := rc.pInt64("installation_id")
	if _, ok := s.st.installations[id]; !ok {
		rc.notFound()
		return
	}
	tok, exp := s.mintInstallationToken(id)
	rc.json(201, &github.InstallationToken{Token: github.String(tok), ExpiresAt: ts(exp)})
}

// mintInstallationToken records a token of installation id acting as
// "<slug>[bot]", valid for an hour. The caller holds s.mu.
func (s *Server) mintInstallationToken(id int64) (string, time.Time) {
	login := s.appSlug + "[bot]"
	s.st.user(login)
	tok := fmt.Sprintf("ghs_inst_%d_%d", id, s.st.nextID())
	// Credentials follow the wall clock, which clients check expiry
	// against; WithClock only dates what happens in the repository.
	exp := time.Now().UTC().Add(time.Hour)
	s.tokens[tok] = principal{login: login, installationID: id, expires: exp}
	return tok, exp
}

// InstallationTokens counts installation tokens minted so far.
func (s *Server) InstallationTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.tokens {
		if p.installationID != 0 {
			n++
		}
	}
	return n
}

func (s *Server) listHookDeliveries(rc *reqCtx) {
	// Newest first, cursor pagination: the cursor is the ID to continue after.
	all := s.st.deliveries
	var out []*github.HookDelivery
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	if c := rc.q("cursor"); c != "" {
		cur, _ := strconv.ParseInt(c, 10, 64)
		for i, d := range out {
			if d.GetID() == cur {
				out = out[i+1:]
				break
			}
		}
	}
	per, _ := strconv.Atoi(rc.q("per_page"))
	if per <= 0 {
		per = 30
	}
	if len(out) > per {
		out = out[:per]
		u := *rc.r.URL
		q := u.Query()
		q.Set("cursor", strconv.FormatInt(out[len(out)-1].GetID(), 10))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		rc.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.ts.URL, u.RequestURI()))
	}
	list := make([]*github.HookDelivery, 0, len(out))
	for _, d := range out {
		v := *d
		v.Request, v.Response = nil, nil // the list omits payloads
		list = append(list, &v)
	}
	rc.json(200, list)
}

func (rc *reqCtx) delivery() *github.HookDelivery {
	id := rc.pInt64("delivery_id")
	for _, d := range rc.s.st.deliveries {
		if d.GetID() == id {
			return d
		}
	}
	rc.notFound()
	return nil
}

func (s *Server) getHookDelivery(rc *reqCtx) {
	if d := rc.delivery(); d != nil {
		rc.json(200, d)
	}
}

func (s *Server) redeliver(rc *reqCtx) {
	if d := rc.delivery(); d != nil {
		s.st.redelivered = append(s.st.redelivered, d.GetID())
		rc.json(202, map[string]any{})
	}
}

// ---- search, rate limit ----

// searchIssues supports the qualifiers tasuki uses: repo:, label:, is:
// (issue, pr, open, closed), in:body/in:title with a quoted phrase, and bare
// words matched against title and body.
func (s *Server) searchIssues(rc *reqCtx) {
	q := rc.q("q")
	terms := splitQuery(q)
	var repos []*repoState
	var filters []func(*github.Issue) bool
	in := "title,body"
	for _, t := range terms {
		if v, ok := strings.CutPrefix(t, "in:"); ok {
			in = v
		}
	}
	for _, t := range terms {
		k, v, hasColon := strings.Cut(t, ":")
		if !hasColon || strings.HasPrefix(t, `"`) {
			phrase := strings.ToLower(strings.Trim(t, `"`))
			filters = append(filters, func(is *github.Issue) bool {
				return (strings.Contains(in, "title") && strings.Contains(strings.ToLower(is.GetTitle()), phrase)) ||
					(strings.Contains(in, "body") && strings.Contains(strings.ToLower(is.GetBody()), phrase))
			})
			continue
		}
		v = strings.Trim(v, `"`)
		switch k {
		case "repo":
			o, n, _ := strings.Cut(v, "/")
			if r := s.st.repo(o, n); r != nil {
				repos = append(repos, r)
			} else {
				rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "The listed users and repositories cannot be searched", "resource": "Search", "field": "q", "code": "invalid"}}})
				return
			}
		case "label":
			filters = append(filters, func(is *github.Issue) bool { return hasLabels(is, v) })
		case "is", "type":
			filters = append(filters, func(is *github.Issue) bool {
				switch v {
				case "issue":
					return is.PullRequestLinks == nil
				case "pr":
					return is.PullRequestLinks != nil
				case "open", "closed":
					return is.GetState() == v
				}
				return true
			})
		case "state":
			filters = append(filters, func(is *github.Issue) bool { return is.GetState() == v })
		case "author":
			filters = append(filters, func(is *github.Issue) bool { return strings.EqualFold(is.GetUser().GetLogin(), v) })
		case "in":
		default:
			rc.json(422, map[string]any{"message": "githubtest: unsupported search qualifier " + k})
			return
		}
	}
	if len(repos) == 0 {
		for _, r := range s.st.repos {
			repos = append(repos, r)
		}
	}
	var out []*github.Issue
	for _, r := range repos {
	next:
		for _, is := range r.issues {
			for _, f := range filters {
				if !f(is) {
					continue next
				}
			}
			out = append(out, is)
		}
	}
	sortDir(out, rc.q("order") != "asc", func(a, b *github.Issue) bool {
		if !a.GetCreatedAt().Equal(b.GetCreatedAt()) {
			return a.GetCreatedAt().Before(b.GetCreatedAt().Time)
		}
		return a.GetID() < b.GetID()
	})
	pageIn(rc, "items", out, map[string]any{"incomplete_results": false})
}

// splitQuery splits a search query on spaces, keeping quoted phrases (also
// after a qualifier: label:"needs review") together.
func splitQuery(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	// Bytes, not runes: the separators are ASCII and bytes of a broken
	// UTF-8 sequence must pass through unchanged.
	for i := 0; i < len(q); i++ {
		b := q[i]
		switch {
		case b == '"':
			quoted = !quoted
			cur.WriteByte(b)
		case b == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(b)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func (s *Server) rateLimit(rc *reqCtx) {
	rem := s.remain[rc.r.Header.Get("Authorization")]
	// GET /rate_limit does not count against the limit.
	rc.refund()
	rem = s.remain[rc.r.Header.Get("Authorization")]
	reset := s.now().Add(time.Hour).Unix()
	core := map[string]int64{"limit": 5000, "remaining": int64(rem), "used": int64(5000 - rem), "reset": reset}
	rc.json(200, map[string]any{"resources": map[string]any{"core": core,
		"search": map[string]int64{"limit": 30, "remaining": 30, "used": 0, "reset": reset}}, "rate": core})
}

func (s *Server) listAnnotations(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if c := rc.checkRun(r); c != nil {
			page(rc, c.GetOutput().Annotations)
		}
	}
}

func (s *Server) listRequestedReviewers(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if pr := rc.pull(r); pr != nil {
			rc.json(200, &github.Reviewers{Users: nonNil(pr.RequestedReviewers), Teams: nonNil(pr.RequestedTeams)})
		}
	}
}

func (s *Server) requestReviewers(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	pr := rc.pull(r)
	if pr == nil {
		return
	}
	var req github.ReviewersRequest
	if !rc.decode(&req) {
		return
	}
	for _, u := range req.Reviewers {
		if strings.EqualFold(u, pr.GetUser().GetLogin()) {
			rc.fail(422, "Review cannot be requested from pull request author.")
			return
		}
		user := s.st.user(u)
		pr.RequestedReviewers = append(pr.RequestedReviewers, user)
		s.event(r, pr.GetNumber(), rc.me(), "review_requested", func(t *github.Timeline) { t.Reviewer = user })
	}
	for _, slug := range req.TeamReviewers {
		pr.RequestedTeams = append(pr.RequestedTeams, &github.Team{Slug: github.String(slug), Name: github.String(slug)})
		s.event(r, pr.GetNumber(), rc.me(), "review_requested", nil)
	}
	rc.json(201, pr)
}

func (s *Server) mergePull(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	pr := rc.pull(r)
	if pr == nil {
		return
	}
	if pr.GetMerged() || pr.GetState() != "open" {
		rc.fail(405, "Pull Request is not mergeable")
		return
	}
	var req struct {
		SHA string `json:"sha"`
	}
	if !rc.decode(&req) {
		return
	}
	if req.SHA != "" && req.SHA != pr.GetHead().GetSHA() {
		rc.fail(409, "Head branch was modified. Review and try the merge again.")
		return
	}
	// The base branch takes the head's files in a new merge commit.
	files := r.trees[pr.GetHead().GetSHA()]
	if files == nil {
		files = r.tree(pr.GetBase().GetRef())
	}
	sha := fakeSHA("merge", pr.GetHead().GetSHA(), pr.GetBase().GetRef())
	r.trees[sha] = files
	r.refs["heads/"+pr.GetBase().GetRef()] = sha
	now := ts(s.now())
	pr.Merged, pr.MergedAt, pr.ClosedAt, pr.MergeCommitSHA, pr.MergedBy = github.Bool(true), now, now, github.String(sha), rc.me()
	is := r.issues[pr.GetNumber()]
	is.State, is.ClosedAt = github.String("closed"), now
	pr.State = is.State
	s.event(r, pr.GetNumber(), rc.me(), "merged", func(t *github.Timeline) { t.CommitID = github.String(sha) })
	s.event(r, pr.GetNumber(), rc.me(), "closed", nil)
	rc.json(200, &github.PullRequestMergeResult{SHA: github.String(sha), Merged: github.Bool(true), Message: github.String("Pull Request successfully merged")})
}

func (s *Server) getBranch(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	sha, ok := r.refs["heads/"+rc.p("branch")]
	if !ok {
		rc.fail(404, "Branch not found")
		return
	}
	rc.json(200, &github.Branch{Name: github.String(rc.p("branch")), Commit: &github.RepositoryCommit{SHA: github.String(sha)}})
}

func (s *Server) getTeam(rc *reqCtx) {
	if t := rc.team(); t != nil {
		rc.json(200, t.team)
	}
}

// listInstallationRepos lists the repositories of the installation whose
// token made the request: those owned by its account (the fake's
// installations have repository_selection "all"). Other credentials are
// refused as GitHub refuses them.
func (s *Server) listInstallationRepos(rc *reqCtx) {
	in := s.st.installations[rc.who.installationID]
	if in == nil {
		rc.fail(http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.")
		return
	}
	var out []*github.Repository
	for _, r := range s.st.repos {
		if strings.EqualFold(r.repo.GetOwner().GetLogin(), in.GetAccount().GetLogin()) {
			out = append(out, r.repo)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	pageIn(rc, "repositories", out, map[string]any{"repository_selection": "all"})
}

func (s *Server) getRepoInstallation(rc *reqCtx) {
	if rc.repo() == nil {
		return
	}
	for _, in := range s.st.installations {
		if strings.EqualFold(in.GetAccount().GetLogin(), rc.p("owner")) {
			rc.json(200, in)
			return
		}
	}
	rc.notFound()
}

// appFor returns the App acting as "<slug>[bot]": tasuki's own App, or
// another (github-actions) with an ID derived from its slug.
func (s *Server) appFor(slug string) *github.App {
	if slug == s.appSlug {
		return &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug)}
	}
	id := int64(1000)
	for _, b := range []byte(slug) {
		id = id*31 + int64(b)
	}
	if id < 0 {
		id = -id
	}
	return &github.App{ID: github.Int64(id), Slug: github.String(slug)}
}
