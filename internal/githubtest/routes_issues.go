package githubtest

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

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
