package githubtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

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
	pr.UpdatedAt = rv.SubmittedAt // a review updates the pull request, as on GitHub
	rc.json(200, rv)
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
	r.addCommit(sha, files, []string{r.refs["heads/"+pr.GetBase().GetRef()], pr.GetHead().GetSHA()},
		fmt.Sprintf("Merge pull request #%d", pr.GetNumber()), rc.who.login, s.now())
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
