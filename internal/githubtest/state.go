package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

type state struct {
	seq           int64
	users         map[string]*github.User // by lower-case login
	repos         map[string]*repoState   // by lower-case "owner/name"
	teams         map[string]*teamState   // by lower-case "org/slug"
	installations map[int64]*github.Installation
	deliveries    []*github.HookDelivery
	redelivered   []int64
}

type repoState struct {
	repo        *github.Repository
	nextNumber  int
	issues      map[int]*github.Issue
	pulls       map[int]*github.PullRequest
	comments    []*github.IssueComment
	labels      map[string]*github.Label // by lower-case name
	timeline    map[int][]*github.Timeline
	checkRuns   []*github.CheckRun
	reviews     map[int][]*github.PullRequestReview
	prCommits   map[int][]*github.RepositoryCommit
	prFiles     map[int][]*github.CommitFile
	refs        map[string]string            // "heads/main" -> sha
	trees       map[string]map[string][]byte // commit sha -> path -> content
	commits     map[string]*gitCommit        // commit sha -> its tree, parents, message
	blobs       map[string][]byte            // blob sha -> content (git data API)
	gitTrees    map[string]map[string][]byte // tree sha -> path -> content
	deployments []*github.Deployment
	depStatuses map[int64][]*github.DeploymentStatus
	releases    []*github.RepositoryRelease // graphql_backfill.go
	perms       map[string]string           // login -> admin|maintain|write|triage|read
}

type teamState struct {
	team    *github.Team
	org     string
	members map[string]string // login -> role (member|maintainer)
}

func newState() *state {
	return &state{
		users:         map[string]*github.User{},
		repos:         map[string]*repoState{},
		teams:         map[string]*teamState{},
		installations: map[int64]*github.Installation{},
	}
}

func (st *state) nextID() int64 { st.seq++; return st.seq }

// user returns the user with login, creating it (Bot if it ends in "[bot]").
func (st *state) user(login string) *github.User {
	k := strings.ToLower(login)
	if u, ok := st.users[k]; ok {
		return u
	}
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := &github.User{Login: github.String(login), ID: github.Int64(st.nextID()), Type: github.String(typ),
		HTMLURL: github.String("https://github.com/" + login)}
	st.users[k] = u
	return u
}

func (st *state) repo(owner, name string) *repoState {
	return st.repos[strings.ToLower(owner+"/"+name)]
}

// clone deep-copies v through JSON so callers cannot race the server.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func splitFull(full string) (string, string) {
	o, r, ok := strings.Cut(full, "/")
	if !ok {
		panic(fmt.Sprintf("githubtest: repository %q is not owner/name", full))
	}
	return o, r
}

func fakeSHA(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

func ts(t time.Time) *github.Timestamp { return &github.Timestamp{Time: t} }

// mustRepo returns the seeded repository or fails the test.
func (s *Server) mustRepo(full string) *repoState {
	o, n := splitFull(full)
	r := s.st.repo(o, n)
	if r == nil {
		s.t.Fatalf("githubtest: repository %s not seeded (call AddRepo)", full)
	}
	return r
}

// AddRepo seeds a repository "owner/name" with defaultBranch ("main" if
// empty) and an initial empty commit. It returns the repository.
func (s *Server) AddRepo(full, defaultBranch string) *github.Repository {
	s.mu.Lock()
	defer s.mu.Unlock()
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	o, n := splitFull(full)
	owner := s.st.user(o)
	r := &repoState{
		repo: &github.Repository{ID: github.Int64(s.st.nextID()), Name: github.String(n), FullName: github.String(full),
			Owner: owner, DefaultBranch: github.String(defaultBranch), Private: github.Bool(true),
			HTMLURL: github.String("https://github.com/" + full), URL: github.String(s.URL() + "repos/" + full)},
		nextNumber:  1,
		issues:      map[int]*github.Issue{},
		pulls:       map[int]*github.PullRequest{},
		labels:      map[string]*github.Label{},
		timeline:    map[int][]*github.Timeline{},
		reviews:     map[int][]*github.PullRequestReview{},
		prCommits:   map[int][]*github.RepositoryCommit{},
		prFiles:     map[int][]*github.CommitFile{},
		refs:        map[string]string{},
		trees:       map[string]map[string][]byte{},
		commits:     map[string]*gitCommit{},
		blobs:       map[string][]byte{},
		gitTrees:    map[string]map[string][]byte{},
		depStatuses: map[int64][]*github.DeploymentStatus{},
		perms:       map[string]string{o: "admin"},
	}
	root := fakeSHA(full, "root")
	r.refs["heads/"+defaultBranch] = root
	r.addCommit(root, map[string][]byte{}, nil, "Initial commit", owner.GetLogin(), s.now())
	s.st.repos[strings.ToLower(full)] = r
	return clone(r.repo)
}

// HasRepo reports whether repository "owner/name" is seeded.
func (s *Server) HasRepo(full string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.repos[strings.ToLower(full)] != nil
}

// AddUser seeds a user (type "User", "Bot" or "Organization").
func (s *Server) AddUser(login, typ string) *github.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(login)
	if typ != "" {
		u.Type = github.String(typ)
	}
	return clone(u)
}

// AddTeam seeds an org team with members (role "member").
func (s *Server) AddTeam(org, slug string, members ...string) *github.Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(org + "/" + slug)
	t, ok := s.st.teams[k]
	if !ok {
		t = &teamState{org: org, members: map[string]string{},
			team: &github.Team{ID: github.Int64(s.st.nextID()), Slug: github.String(slug), Name: github.String(slug)}}
		s.st.teams[k] = t
	}
	for _, m := range members {
		s.st.user(m)
		t.members[m] = "member"
	}
	return clone(t.team)
}

// SetPermission sets login's permission on a repository (admin, maintain,
// write, triage, read).
func (s *Server) SetPermission(full, login, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.user(login)
	s.mustRepo(full).perms[login] = perm
}

// AddInstallation seeds an App installation on account. It can reach the
// account's repositories (GET /installation/repositories lists them).
func (s *Server) AddInstallation(id int64, account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.installations[id] = &github.Installation{ID: github.Int64(id), AppID: github.Int64(s.appID),
		Account: s.st.user(account)}
}

// EditRepo changes the seeded repository full (e.g. to archive it) with
// edit, under the server's lock.
func (s *Server) EditRepo(full string, edit func(*github.Repository)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(s.mustRepo(full).repo)
}

func (r *repoState) ensureLabel(st *state, name string) *github.Label {
	k := strings.ToLower(name)
	if l, ok := r.labels[k]; ok {
		return l
	}
	l := &github.Label{ID: github.Int64(st.nextID()), Name: github.String(name), Color: github.String("ededed")}
	r.labels[k] = l
	return l
}

// AddLabel seeds a repository label.
func (s *Server) AddLabel(full, name, color string) *github.Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.mustRepo(full).ensureLabel(s.st, name)
	if color != "" {
		l.Color = github.String(color)
	}
	return clone(l)
}

func (s *Server) newIssue(r *repoState, in *github.Issue) *github.Issue {
	is := clone(in)
	if is.Number == nil || is.GetNumber() == 0 {
		is.Number = github.Int(r.nextNumber)
	}
	if is.GetNumber() >= r.nextNumber {
		r.nextNumber = is.GetNumber() + 1
	}
	full := r.repo.GetFullName()
	is.ID = github.Int64(s.st.nextID())
	is.NodeID = github.String(fmt.Sprintf("I_%d", is.GetID()))
	if is.User == nil {
		is.User = s.st.user(s.login)
	} else {
		is.User = s.st.user(is.User.GetLogin())
	}
	if is.State == nil {
		is.State = github.String("open")
	}
	if is.CreatedAt == nil {
		is.CreatedAt = ts(s.now())
	}
	if is.UpdatedAt == nil {
		is.UpdatedAt = is.CreatedAt
	}
	if is.GetState() == "closed" && is.ClosedAt == nil {
		is.ClosedAt = ts(s.now())
	}
	labels := is.Labels
	is.Labels = nil
	for _, l := range labels {
		is.Labels = append(is.Labels, r.ensureLabel(s.st, l.GetName()))
	}
	var assignees []*github.User
	for _, a := range is.Assignees {
		assignees = append(assignees, s.st.user(a.GetLogin()))
	}
	is.Assignees = assignees
	is.HTMLURL = github.String(fmt.Sprintf("https://github.com/%s/issues/%d", full, is.GetNumber()))
	is.URL = github.String(fmt.Sprintf("%srepos/%s/issues/%d", s.URL(), full, is.GetNumber()))
	is.RepositoryURL = github.String(s.URL() + "repos/" + full)
	r.issues[is.GetNumber()] = is
	return is
}

// AddIssue seeds an issue. Zero fields get defaults: the next number, the
// server's login as author, state open, created now. Labels are created in
// the repository as needed, and a "labeled" timeline event is recorded for
// each at the creation time.
func (s *Server) AddIssue(full string, in *github.Issue) *github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	is := s.newIssue(r, in)
	for _, l := range is.Labels {
		r.timeline[is.GetNumber()] = append(r.timeline[is.GetNumber()], &github.Timeline{
			ID: github.Int64(s.st.nextID()), Event: github.String("labeled"), Actor: is.User,
			CreatedAt: is.CreatedAt, Label: &github.Label{Name: l.Name, Color: l.Color}})
	}
	return clone(is)
}

// AddComment seeds an issue or PR comment by login.
func (s *Server) AddComment(full string, number int, login, body string) *github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	return clone(s.addComment(r, number, s.st.user(login), body))
}

func (s *Server) addComment(r *repoState, number int, u *github.User, body string) *github.IssueComment {
	id := s.st.nextID()
	full := r.repo.GetFullName()
	c := &github.IssueComment{ID: github.Int64(id), NodeID: github.String(fmt.Sprintf("IC_%d", id)), Body: github.String(body), User: u,
		CreatedAt: ts(s.now()), UpdatedAt: ts(s.now()),
		HTMLURL:  github.String(fmt.Sprintf("https://github.com/%s/issues/%d#issuecomment-%d", full, number, id)),
		URL:      github.String(fmt.Sprintf("%srepos/%s/issues/comments/%d", s.URL(), full, id)),
		IssueURL: github.String(fmt.Sprintf("%srepos/%s/issues/%d", s.URL(), full, number))}
	r.comments = append(r.comments, c)
	// GitHub's timeline lists comments as "commented" events (actor and user
	// are the author).
	r.timeline[number] = append(r.timeline[number], &github.Timeline{ID: c.ID, Event: github.String("commented"),
		Actor: u, User: u, Body: c.Body, CreatedAt: c.CreatedAt, URL: c.URL})
	return c
}

// AddTimeline seeds a timeline event on an issue or PR (also served by
// /issues/{n}/events).
func (s *Server) AddTimeline(full string, number int, ev *github.Timeline) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	e := clone(ev)
	if e.ID == nil {
		e.ID = github.Int64(s.st.nextID())
	}
	if e.CreatedAt == nil {
		e.CreatedAt = ts(s.now())
	}
	r.timeline[number] = append(r.timeline[number], e)
}

// AddPull seeds a pull request (sharing numbers with issues). Defaults: the
// server's login as author, state open, base the default branch, head
// "feature" at a made-up SHA.
func (s *Server) AddPull(full string, in *github.PullRequest) *github.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.addPull(s.mustRepo(full), in))
}

func (s *Server) addPull(r *repoState, in *github.PullRequest) *github.PullRequest {
	pr := clone(in)
	full := r.repo.GetFullName()
	is := s.newIssue(r, &github.Issue{Number: pr.Number, Title: pr.Title, Body: pr.Body, User: pr.User, State: pr.State,
		Labels: pr.Labels, CreatedAt: pr.CreatedAt, ClosedAt: pr.ClosedAt, Assignees: pr.Assignees})
	is.PullRequestLinks = &github.PullRequestLinks{URL: github.String(fmt.Sprintf("%srepos/%s/pulls/%d", s.URL(), full, is.GetNumber()))}
	pr.Number = is.Number
	pr.ID = github.Int64(s.st.nextID())
	pr.User, pr.State, pr.CreatedAt, pr.Labels = is.User, is.State, is.CreatedAt, is.Labels
	pr.UpdatedAt = is.UpdatedAt
	pr.HTMLURL = github.String(fmt.Sprintf("https://github.com/%s/pull/%d", full, is.GetNumber()))
	pr.URL = github.String(fmt.Sprintf("%srepos/%s/pulls/%d", s.URL(), full, is.GetNumber()))
	if pr.Base == nil {
		pr.Base = &github.PullRequestBranch{}
	}
	if pr.Base.Ref == nil {
		pr.Base.Ref = r.repo.DefaultBranch
	}
	if pr.Base.SHA == nil {
		pr.Base.SHA = github.String(r.refs["heads/"+pr.Base.GetRef()])
	}
	pr.Base.Repo = r.repo
	if pr.Head == nil {
		pr.Head = &github.PullRequestBranch{}
	}
	if pr.Head.Ref == nil {
		pr.Head.Ref = github.String("feature")
	}
	if pr.Head.SHA == nil {
		pr.Head.SHA = github.String(fakeSHA(full, "pr", fmt.Sprint(is.GetNumber())))
	}
	pr.Head.Repo = r.repo
	if pr.MergedAt != nil {
		pr.Merged = github.Bool(true)
		pr.State = github.String("closed")
		is.State = pr.State
		if pr.ClosedAt == nil {
			pr.ClosedAt = pr.MergedAt
		}
		is.ClosedAt = pr.ClosedAt
	}
	if pr.Draft == nil {
		pr.Draft = github.Bool(false)
	}
	r.pulls[is.GetNumber()] = pr
	return pr
}

// AddReview seeds a review on PR number by login. State is APPROVED,
// CHANGES_REQUESTED, COMMENTED or DISMISSED; commitID defaults to the PR's
// head SHA.
func (s *Server) AddReview(full string, number int, login, state, commitID string) *github.PullRequestReview {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	pr := r.pulls[number]
	if pr == nil {
		s.t.Fatalf("githubtest: no PR %s#%d", full, number)
	}
	if commitID == "" {
		commitID = pr.GetHead().GetSHA()
	}
	rv := &github.PullRequestReview{ID: github.Int64(s.st.nextID()), User: s.st.user(login), State: github.String(state),
		CommitID: github.String(commitID), SubmittedAt: ts(s.now()), Body: github.String(""),
		HTMLURL: github.String(fmt.Sprintf("https://github.com/%s/pull/%d#pullrequestreview-%d", full, number, s.st.seq))}
	r.reviews[number] = append(r.reviews[number], rv)
	r.timeline[number] = append(r.timeline[number], reviewedEvent(rv))
	pr.UpdatedAt = rv.SubmittedAt // a review updates the pull request, as on GitHub
	return clone(rv)
}

// SetPullFiles sets the files a PR changes.
func (s *Server) SetPullFiles(full string, number int, files ...*github.CommitFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full).prFiles[number] = clone(files)
}

// SetPullCommits sets the commits of a PR.
func (s *Server) SetPullCommits(full string, number int, commits ...*github.RepositoryCommit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full).prCommits[number] = clone(commits)
}

// SetHead moves a PR's head to sha (a new push).
func (s *Server) SetHead(full string, number int, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.mustRepo(full).pulls[number]
	if pr == nil {
		s.t.Fatalf("githubtest: no PR %s#%d", full, number)
	}
	pr.Head.SHA = github.String(sha)
}

// PutFile commits content at path on branch (creating the branch from the
// default branch if needed) and returns the new commit SHA.
func (s *Server) PutFile(full, branch, path string, content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	if branch == "" {
		branch = r.repo.GetDefaultBranch()
	}
	return r.commit(branch, path, content, true)
}

// commit writes (or deletes, when content is nil and write is false) a file
// on branch and returns the new head SHA.
func (r *repoState) commit(branch, path string, content []byte, write bool) string {
	parent, ok := r.refs["heads/"+branch]
	if !ok {
		parent = r.refs["heads/"+r.repo.GetDefaultBranch()]
	}
	tree := map[string][]byte{}
	for p, c := range r.trees[parent] {
		tree[p] = c
	}
	if write {
		tree[path] = append([]byte(nil), content...)
	} else {
		delete(tree, path)
	}
	sha := fakeSHA(parent, path, string(content), fmt.Sprint(write))
	r.addCommit(sha, tree, []string{parent}, "Update "+path, r.repo.GetOwner().GetLogin(), time.Now().UTC())
	r.refs["heads/"+branch] = sha
	return sha
}

// AddCheckRun seeds a check run.
func (s *Server) AddCheckRun(full string, run *github.CheckRun) *github.CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	c := clone(run)
	c.ID = github.Int64(s.st.nextID())
	if c.App == nil {
		c.App = &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug)}
	}
	r.checkRuns = append(r.checkRuns, c)
	return clone(c)
}

// AddDeployment seeds a deployment.
func (s *Server) AddDeployment(full string, d *github.Deployment) *github.Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	c := clone(d)
	c.ID = github.Int64(s.st.nextID())
	if c.CreatedAt == nil {
		c.CreatedAt = ts(s.now())
	}
	r.deployments = append(r.deployments, c)
	return clone(c)
}

// AddHookDelivery seeds a webhook delivery of the App (newest last).
func (s *Server) AddHookDelivery(d *github.HookDelivery) *github.HookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := clone(d)
	if c.ID == nil {
		c.ID = github.Int64(s.st.nextID())
	}
	if c.DeliveredAt == nil {
		c.DeliveredAt = ts(s.now())
	}
	s.st.deliveries = append(s.st.deliveries, c)
	return clone(c)
}

// Redelivered returns the delivery IDs redelivery was asked for, in order.
func (s *Server) Redelivered() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.st.redelivered...)
}

// Issue returns issue (or PR) number, or nil.
func (s *Server) Issue(full string, number int) *github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustRepo(full).issues[number]
	if is == nil {
		return nil
	}
	return clone(is)
}

// Issues returns every issue and PR of the repository, by number.
func (s *Server) Issues(full string) []*github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	var out []*github.Issue
	for _, is := range r.issues {
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() < out[j].GetNumber() })
	return clone(out)
}

// Pull returns PR number, or nil.
func (s *Server) Pull(full string, number int) *github.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.mustRepo(full).pulls[number]
	if pr == nil {
		return nil
	}
	return clone(s.pullView(s.mustRepo(full), pr))
}

// Pulls returns every PR of the repository, by number.
func (s *Server) Pulls(full string) []*github.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	var out []*github.PullRequest
	for _, pr := range r.pulls {
		out = append(out, s.pullView(r, pr))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() < out[j].GetNumber() })
	return clone(out)
}

// Comments returns the comments on issue or PR number, oldest first.
func (s *Server) Comments(full string, number int) []*github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.mustRepo(full).issueComments(number))
}

func (r *repoState) issueComments(number int) []*github.IssueComment {
	suffix := fmt.Sprintf("/issues/%d", number)
	var out []*github.IssueComment
	for _, c := range r.comments {
		if strings.HasSuffix(c.GetIssueURL(), suffix) {
			out = append(out, c)
		}
	}
	return out
}

// CheckRuns returns every check run of the repository, oldest first.
func (s *Server) CheckRuns(full string) []*github.CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.mustRepo(full).checkRuns)
}

// Timeline returns the timeline events of issue or PR number.
func (s *Server) Timeline(full string, number int) []*github.Timeline {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.mustRepo(full).timeline[number])
}

// File returns the content of path at ref (branch name or commit SHA;
// default branch if empty).
func (s *Server) File(full, ref, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	tree := r.tree(ref)
	c, ok := tree[path]
	return append([]byte(nil), c...), ok
}

// Ref returns the SHA a ref ("heads/main") points to.
func (s *Server) Ref(full, ref string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.mustRepo(full).refs[ref]
	return sha, ok
}

// Deployments returns the repository's deployments and their statuses.
func (s *Server) Deployments(full string) ([]*github.Deployment, map[int64][]*github.DeploymentStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	return clone(r.deployments), clone(r.depStatuses)
}

func (r *repoState) tree(ref string) map[string][]byte {
	if ref == "" {
		ref = r.repo.GetDefaultBranch()
	}
	ref = strings.TrimPrefix(ref, "refs/")
	for _, k := range []string{ref, "heads/" + ref, "tags/" + ref} {
		if sha, ok := r.refs[k]; ok {
			return r.trees[sha]
		}
	}
	return r.trees[ref]
}

// pullView returns pr with the issue-held fields (labels, title, state)
// brought up to date.
func (s *Server) pullView(r *repoState, pr *github.PullRequest) *github.PullRequest {
	if is := r.issues[pr.GetNumber()]; is != nil {
		pr.Labels, pr.Title, pr.Body, pr.State, pr.Assignees = is.Labels, is.Title, is.Body, is.State, is.Assignees
	}
	return pr
}

func reviewedEvent(rv *github.PullRequestReview) *github.Timeline {
	return &github.Timeline{ID: rv.ID, Event: github.String("reviewed"), User: rv.User, Actor: rv.User,
		State: github.String(strings.ToLower(rv.GetState())), CommitID: rv.CommitID, SubmittedAt: rv.SubmittedAt, Body: rv.Body}
}
