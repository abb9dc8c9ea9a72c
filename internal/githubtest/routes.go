package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

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

	// Contents, refs, git data.
	s.handle("GET", R+"/contents/{path}", s.getContents)
	s.handle("PUT", R+"/contents/{path}", s.putContents)
	s.handle("GET", R+"/git/ref/{ref}", s.getRef)
	s.handle("POST", R+"/git/refs", s.createRef)
	s.handle("PATCH", R+"/git/refs/{ref}", s.updateRef)
	s.handle("POST", R+"/git/blobs", s.createBlob)
	s.handle("POST", R+"/git/trees", s.createTree)
	s.handle("GET", R+"/git/trees/{tree_sha}", s.getTree)
	s.handle("POST", R+"/git/commits", s.createCommit)
	s.handle("GET", R+"/git/commits/{commit_sha}", s.getCommit)
	s.handle("GET", R+"/branches/{branch}", s.getBranch)
	s.handle("GET", R+"/compare/{basehead}", s.compareCommits) // routes_compare.go

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
	s.handle("POST", "/app-manifests/{code}/conversions", s.convertManifest) // routes_manifest.go

	s.handle("GET", "/search/issues", s.searchIssues)
	s.handle("GET", "/rate_limit", s.rateLimit)
	s.routesOnboarding() // routes_onboarding.go
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

func (s *Server) event(r *repoState, number int, actor *github.User, ev string, f func(*github.Timeline)) {
	t := &github.Timeline{ID: github.Int64(s.st.nextID()), Event: github.String(ev), Actor: actor, CreatedAt: ts(s.now())}
	if f != nil {
		f(t)
	}
	r.timeline[number] = append(r.timeline[number], t)
}

func sortDir[T any](items []T, desc bool, less func(a, b T) bool) {
	sort.SliceStable(items, func(i, j int) bool {
		if desc {
			return less(items[j], items[i])
		}
		return less(items[i], items[j])
	})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
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

// page answers a list endpoint GitHub-style: per_page (default 30, max 100),
// page, and a Link header with next/last/prev/first.
func page[T any](rc *reqCtx, items []T) {
	per, _ := strconv.Atoi(rc.q("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	pg, _ := strconv.Atoi(rc.q("page"))
	if pg <= 0 {
		pg = 1
	}
	last := (len(items) + per - 1) / per
	if last == 0 {
		last = 1
	}
	start, end := (pg-1)*per, pg*per
	if start > len(items) {
		start = len(items)
	}
	if end > len(items) {
		end = len(items)
	}
	var links []string
	link := func(n int, rel string) {
		u := *rc.r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf(`<%s%s>; rel="%s"`, rc.s.ts.URL, u.RequestURI(), rel))
	}
	if pg < last {
		link(pg+1, "next")
		link(last, "last")
	}
	if pg > 1 {
		link(1, "first")
		link(pg-1, "prev")
	}
	if len(links) > 0 {
		rc.w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	rc.json(http.StatusOK, out)
}
