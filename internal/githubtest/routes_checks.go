package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

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

func (s *Server) listAnnotations(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if c := rc.checkRun(r); c != nil {
			page(rc, c.GetOutput().Annotations)
		}
	}
}
