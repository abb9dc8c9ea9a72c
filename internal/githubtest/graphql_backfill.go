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

// The GraphQL answers of the lead-time backfill: repository {
// pullRequests, deployments, releases } with what is nested in them, from
// the fake's state (the same pulls, reviews, commits, files, timeline,
// deployments the REST routes serve). Every query is costed as GitHub
// costs it (graphQLCost): the answer's rateLimit { cost remaining resetAt }
// and the token's budget follow that cost, a connection without first/last
// or over 100 fails the test as GitHub refuses it, and so does a query over
// GitHub's 500,000 node limit. A token whose budget (SetGraphQLLimit, 5,000
// by default) does not cover a query gets GitHub's RATE_LIMITED answer until
// the reset an hour after its first query, on the server's clock.

// graphQLNodeLimit is GitHub's limit on the nodes one query may ask for.
const graphQLNodeLimit = 500_000

// graphQLBudget is the GraphQL rate limit per token. Guarded by Server.mu.
type graphQLBudget struct {
	limit int                  // points per hour; 0 means 5000
	reset map[string]time.Time // per token: when its budget refills
	spent int                  // points charged, over all tokens
}

// SetGraphQLLimit sets the GraphQL points each token may spend an hour
// (GitHub: 5,000 for a user, more for large installations). Budgets already
// running keep what they spent.
func (s *Server) SetGraphQLLimit(points int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gql.limit = points
}

// GraphQLPoints returns the GraphQL rate limit points the fake charged, over
// all tokens.
func (s *Server) GraphQLPoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gql.spent
}

func (b *graphQLBudget) perHour() int {
	if b.limit <= 0 {
		return 5000
	}
	return b.limit
}

// spendGraphQLPoints charges cost to the token of r. ok is false, and
// nothing is charged, when the budget left does not cover it.
func (s *Server) spendGraphQLPoints(r *http.Request, cost int) (remaining int, reset time.Time, ok bool) {
	key := "graphql " + r.Header.Get("Authorization")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gql.reset == nil {
		s.gql.reset = map[string]time.Time{}
	}
	now := s.now()
	reset, running := s.gql.reset[key]
	rem, seen := s.remain[key]
	if !running || !now.Before(reset) || !seen {
		reset = now.Add(time.Hour).Truncate(time.Second)
		rem = s.gql.perHour()
		s.gql.reset[key] = reset
	}
	if rem < cost {
		s.remain[key] = rem
		return rem, reset, false
	}
	rem -= cost
	s.remain[key] = rem
	s.gql.spent += cost
	return rem, reset, true
}

// answerGraphQLSpent answers as GitHub does when the query costs more than
// the budget left.
func (s *Server) answerGraphQLSpent(rc *reqCtx, reset time.Time) {
	s.answerGraphQLRateLimited(rc, &injection{headers: map[string]string{
		"X-RateLimit-Limit": strconv.Itoa(s.graphQLLimit()), "X-RateLimit-Remaining": "0",
		"X-RateLimit-Used": strconv.Itoa(s.graphQLLimit()), "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
		"X-RateLimit-Resource": "graphql",
	}})
}

func (s *Server) graphQLLimit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gql.perHour()
}

// bindGraphQL reads every field's arguments, with variables, and returns
// the query's cost by GitHub's formula: the requests needed to fill every
// connection to its first/last, over 100, rounded, at least 1. It fails as
// GitHub does on a connection without first/last or above 100, and on a
// query over the node limit.
func bindGraphQL(sel []gqlField, vars map[string]any) (cost int, err error) {
	requests, nodes := 0, 0
	var walk func(fs []gqlField, mult int) error
	walk = func(fs []gqlField, mult int) error {
		for i := range fs {
			f := &fs[i]
			if f.args != "" {
				a, err := parseGQLArgs(f.args, vars)
				if err != nil {
					return fmt.Errorf("arguments of %s: %w", f.name, err)
				}
				f.argv = a
			}
			m := mult
			if gqlConnections[f.name] {
				n, err := pageSize(*f)
				if err != nil {
					return err
				}
				requests += mult
				nodes += mult * n
				m = mult * max(n, 1)
			}
			if err := walk(f.sel, m); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(sel, 1); err != nil {
		return 0, err
	}
	if nodes > graphQLNodeLimit {
		//lint:ignore ST1005 GitHub's own GraphQL error text
		return 0, fmt.Errorf("This query requests up to %d possible nodes which exceeds the maximum limit of %d.", nodes, graphQLNodeLimit)
	}
	return max(1, (requests+50)/100), nil
}

// gqlConnections are the connections the fake serves; GitHub requires
// first or last on each.
var gqlConnections = map[string]bool{"pullRequests": true, "commits": true, "reviews": true, "labels": true,
	"files": true, "timelineItems": true, "deployments": true, "releases": true}

func pageSize(f gqlField) (int, error) {
	first, hasFirst := f.argv["first"].(int)
	last, hasLast := f.argv["last"].(int)
	switch {
	case hasFirst && hasLast:
		//lint:ignore ST1005 GitHub's own GraphQL error text
		return 0, fmt.Errorf("Passing both `first` and `last` to paginate the `%s` connection is not supported.", f.name)
	case !hasFirst && !hasLast:
		//lint:ignore ST1005 GitHub's own GraphQL error text
		return 0, fmt.Errorf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.name)
	case hasLast:
		first = last
	}
	if first < 0 || first > 100 {
		//lint:ignore ST1005 GitHub's own GraphQL error text
		return 0, fmt.Errorf("Requesting %d records on the `%s` connection exceeds the `first` limit of 100 records.", first, f.name)
	}
	return first, nil
}

// resolveRepository answers repository(owner:, name:) { ... }.
func (s *Server) resolveRepository(rc *reqCtx, f gqlField) (any, error) {
	owner, _ := f.argv["owner"].(string)
	name, _ := f.argv["name"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.repo(owner, name)
	if r == nil || !rc.canSee(r) {
		return nil, &gqlNotFound{fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}
	}
	out := map[string]any{}
	for _, c := range f.sel {
		var v any
		var err error
		switch c.name {
		case "pullRequests":
			v, err = s.gqlPulls(r, c)
		case "deployments":
			v, err = s.gqlDeployments(r, c)
		case "releases":
			v, err = s.gqlReleases(r, c)
		case "pullRequest":
			n, _ := c.argv["number"].(int)
			if pr := r.pulls[n]; pr != nil {
				v, err = object("PullRequest", c.sel, s.gqlPullValues(r, pr))
			}
		case "nameWithOwner":
			v = r.repo.GetFullName()
		case "__typename":
			v = "Repository"
		default:
			err = noField(c.name, "Repository")
		}
		if err != nil {
			return nil, err
		}
		out[c.key()] = v
	}
	return out, nil
}

// canSee reports whether the caller may read r: an installation sees its
// account's repositories; a user token (tests) sees every one.
func (rc *reqCtx) canSee(r *repoState) bool {
	if rc.who.installationID == 0 {
		return true
	}
	in := rc.s.st.installations[rc.who.installationID]
	return in != nil && strings.EqualFold(in.GetAccount().GetLogin(), r.repo.GetOwner().GetLogin())
}

// gqlNotFound is an object GitHub does not show the caller: the field is
// null and the answer carries a NOT_FOUND error; not a mistake of the test.
type gqlNotFound struct{ msg string }

func (e *gqlNotFound) Error() string { return e.msg }

func noField(name, typ string) error {
	//lint:ignore ST1005 GitHub's own GraphQL error text, capitalised as GitHub sends it
	return fmt.Errorf("Field '%s' doesn't exist on type '%s' (or githubtest does not implement it)", name, typ)
}

// connection answers a connection field f over items (in the order asked
// for), each keyed by a stable cursor value and answered by node.
func connection[T any](f gqlField, items []T, key func(T) string, node func(T, []gqlField) (map[string]any, error)) (map[string]any, error) {
	start := 0
	if after, ok := f.argv["after"].(string); ok && after != "" {
		raw, err := base64.StdEncoding.DecodeString(after)
		if err != nil || !strings.HasPrefix(string(raw), "cursor:") {
			//lint:ignore ST1005 GitHub's own GraphQL error text
			return nil, fmt.Errorf("`%s` does not appear to be a valid cursor.", after)
		}
		k := strings.TrimPrefix(string(raw), "cursor:")
		start = len(items)
		for i, it := range items {
			if key(it) == k {
				start = i + 1
				break
			}
		}
	}
	n, _ := pageSize(f)
	if _, ok := f.argv["last"]; ok {
		// last: the final n items (no `before` support).
		start = max(start, len(items)-n)
	}
	end := min(len(items), start+n)
	out := map[string]any{}
	for _, c := range f.sel {
		switch c.name {
		case "totalCount":
			out[c.key()] = len(items)
		case "pageInfo":
			pi := map[string]any{"hasNextPage": end < len(items), "hasPreviousPage": start > 0,
				"endCursor": nil, "startCursor": nil}
			if end > start {
				pi["startCursor"] = encodeCursor(key(items[start]))
				pi["endCursor"] = encodeCursor(key(items[end-1]))
			}
			v, err := pick("PageInfo", c.sel, pi)
			if err != nil {
				return nil, err
			}
			out[c.key()] = v
		case "nodes":
			nodes := make([]any, 0, end-start)
			for _, it := range items[start:end] {
				v, err := node(it, c.sel)
				if err != nil {
					return nil, err
				}
				nodes = append(nodes, v)
			}
			out[c.key()] = nodes
		default:
			return nil, noField(c.name, "Connection")
		}
	}
	return out, nil
}

func encodeCursor(k string) string { return base64.StdEncoding.EncodeToString([]byte("cursor:" + k)) }

func gqlTime(t *github.Timestamp) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func gqlActor(u *github.User) any {
	if u == nil {
		return nil
	}
	typ := u.GetType()
	if typ == "" {
		typ = "User"
	}
	return map[string]any{"__typename": typ, "login": u.GetLogin(), "databaseId": u.GetID()}
}

// object answers sel over the values of an object of type typ; values may
// hold functions answering a nested selection.
func object(typ string, sel []gqlField, values map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, c := range sel {
		if c.name == "..." {
			if c.alias == typ {
				sub, err := object(typ, c.sel, values)
				if err != nil {
					return nil, err
				}
				for k, v := range sub {
					out[k] = v
				}
			}
			continue
		}
		v, ok := values[c.name]
		if !ok {
			return nil, noField(c.name, typ)
		}
		if v == nil {
			out[c.key()] = nil // a null object or scalar
			continue
		}
		if fn, isFn := v.(func(gqlField) (any, error)); isFn {
			got, err := fn(c)
			if err != nil {
				return nil, err
			}
			out[c.key()] = got
			continue
		}
		if m, isObj := v.(map[string]any); isObj {
			if len(c.sel) == 0 {
				//lint:ignore ST1005 GitHub's own GraphQL error text
				return nil, fmt.Errorf("Field must have selections (%s of %s)", c.name, typ)
			}
			sub, err := object(fmt.Sprint(m["__typename"]), c.sel, m)
			if err != nil {
				return nil, err
			}
			out[c.key()] = sub
			continue
		}
		if len(c.sel) > 0 {
			return nil, noField(c.name, typ)
		}
		out[c.key()] = v
	}
	return out, nil
}

// orderDesc reads orderBy's direction: true for DESC (and by default, as
// the backfill's queries ask).
func orderDesc(f gqlField) bool {
	o, _ := f.argv["orderBy"].(map[string]any)
	d, _ := o["direction"].(string)
	return d != "ASC"
}

func (s *Server) gqlPulls(r *repoState, f gqlField) (any, error) {
	o, _ := f.argv["orderBy"].(map[string]any)
	field, _ := o["field"].(string)
	prs := make([]*github.PullRequest, 0, len(r.pulls))
	for _, pr := range r.pulls {
		prs = append(prs, pr)
	}
	at := func(pr *github.PullRequest) time.Time {
		if field == "UPDATED_AT" {
			return pullUpdatedAt(r, pr)
		}
		return pr.GetCreatedAt().Time
	}
	desc := orderDesc(f)
	sort.Slice(prs, func(i, j int) bool {
		a, b := at(prs[i]), at(prs[j])
		if !a.Equal(b) {
			return a.After(b) == desc
		}
		return (prs[i].GetNumber() > prs[j].GetNumber()) == desc
	})
	key := func(pr *github.PullRequest) string { return strconv.Itoa(pr.GetNumber()) }
	return connection(f, prs, key, func(pr *github.PullRequest, sel []gqlField) (map[string]any, error) {
		return object("PullRequest", sel, s.gqlPullValues(r, pr))
	})
}

// pullUpdatedAt is when GitHub would say pr was last updated: its
// updated_at, or its merge, closing or latest review if later (seeded
// pulls carry the updated_at they were made with).
func pullUpdatedAt(r *repoState, pr *github.PullRequest) time.Time {
	t := pr.GetUpdatedAt().Time
	for _, u := range []time.Time{pr.GetMergedAt().Time, pr.GetClosedAt().Time, r.issues[pr.GetNumber()].GetClosedAt().Time} {
		if u.After(t) {
			t = u
		}
	}
	for _, rv := range r.reviews[pr.GetNumber()] {
		if rv.GetSubmittedAt().After(t) {
			t = rv.GetSubmittedAt().Time
		}
	}
	return t
}

func (s *Server) gqlPullValues(r *repoState, pr *github.PullRequest) map[string]any {
	n := pr.GetNumber()
	is := r.issues[n]
	v := map[string]any{
		"__typename": "PullRequest", "number": n, "title": is.GetTitle(), "createdAt": gqlTime(pr.CreatedAt),
		"updatedAt": gqlTime(ts(pullUpdatedAt(r, pr))), "mergedAt": gqlTime(pr.MergedAt), "closedAt": gqlTime(is.ClosedAt),
		"isDraft": pr.GetDraft(), "baseRefName": pr.GetBase().GetRef(), "headRefName": pr.GetHead().GetRef(),
		"author": gqlActor(pr.GetUser()), "merged": pr.GetMerged(), "state": strings.ToUpper(is.GetState()),
		"mergeCommit": nil,
	}
	if pr.GetMerged() && pr.GetMergeCommitSHA() != "" {
		v["mergeCommit"] = map[string]any{"__typename": "Commit", "oid": pr.GetMergeCommitSHA()}
	}
	v["commits"] = func(f gqlField) (any, error) {
		key := func(c *github.RepositoryCommit) string { return c.GetSHA() }
		return connection(f, r.prCommits[n], key, func(c *github.RepositoryCommit, sel []gqlField) (map[string]any, error) {
			authored := c.GetCommit().GetAuthor().GetDate()
			committed := c.GetCommit().GetCommitter().GetDate()
			if committed.IsZero() {
				committed = authored
			}
			commit := map[string]any{"__typename": "Commit", "oid": c.GetSHA(),
				"authoredDate": gqlTime(&authored), "committedDate": gqlTime(&committed)}
			return object("PullRequestCommit", sel, map[string]any{"__typename": "PullRequestCommit", "commit": commit})
		})
	}
	v["reviews"] = func(f gqlField) (any, error) {
		key := func(rv *github.PullRequestReview) string { return strconv.FormatInt(rv.GetID(), 10) }
		return connection(f, r.reviews[n], key, func(rv *github.PullRequestReview, sel []gqlField) (map[string]any, error) {
			state := rv.GetState()
			if state == "COMMENT" {
				state = "COMMENTED"
			}
			return object("PullRequestReview", sel, map[string]any{"__typename": "PullRequestReview", "databaseId": rv.GetID(),
				"author": gqlActor(rv.GetUser()), "state": state, "submittedAt": gqlTime(rv.SubmittedAt)})
		})
	}
	v["labels"] = func(f gqlField) (any, error) {
		key := func(l *github.Label) string { return l.GetName() }
		return connection(f, is.Labels, key, func(l *github.Label, sel []gqlField) (map[string]any, error) {
			return object("Label", sel, map[string]any{"__typename": "Label", "name": l.GetName(), "color": l.GetColor()})
		})
	}
	v["files"] = func(f gqlField) (any, error) {
		key := func(c *github.CommitFile) string { return c.GetFilename() }
		return connection(f, r.prFiles[n], key, func(c *github.CommitFile, sel []gqlField) (map[string]any, error) {
			return object("PullRequestChangedFile", sel, map[string]any{"__typename": "PullRequestChangedFile", "path": c.GetFilename(),
				"additions": c.GetAdditions(), "deletions": c.GetDeletions()})
		})
	}
	v["timelineItems"] = func(f gqlField) (any, error) {
		types := map[string]bool{}
		if l, ok := f.argv["itemTypes"].([]any); ok {
			for _, t := range l {
				types[fmt.Sprint(t)] = true
			}
		}
		var evs []*github.Timeline
		for _, e := range r.timeline[n] {
			if t := timelineType(e.GetEvent()); t != "" && (len(types) == 0 || types[t]) {
				evs = append(evs, e)
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].GetCreatedAt().Before(evs[j].GetCreatedAt().Time) })
		key := func(e *github.Timeline) string { return strconv.FormatInt(e.GetID(), 10) }
		return connection(f, evs, key, func(e *github.Timeline, sel []gqlField) (map[string]any, error) {
			t := timelineType(e.GetEvent())
			typ := typeOfItem(t)
			return object(typ, sel, map[string]any{"__typename": typ, "createdAt": gqlTime(e.CreatedAt), "actor": gqlActor(e.Actor)})
		})
	}
	return v
}

// timelineType is the GraphQL itemTypes value of a REST timeline event the
// fake serves in timelineItems; "" for the others.
func timelineType(event string) string {
	switch event {
	case "ready_for_review":
		return "READY_FOR_REVIEW_EVENT"
	case "convert_to_draft":
		return "CONVERT_TO_DRAFT_EVENT"
	case "reviewed":
		return "PULL_REQUEST_REVIEW"
	}
	return ""
}

func typeOfItem(t string) string {
	switch t {
	case "READY_FOR_REVIEW_EVENT":
		return "ReadyForReviewEvent"
	case "CONVERT_TO_DRAFT_EVENT":
		return "ConvertToDraftEvent"
	}
	return "PullRequestReview"
}

func (s *Server) gqlDeployments(r *repoState, f gqlField) (any, error) {
	envs := map[string]bool{}
	if l, ok := f.argv["environments"].([]any); ok {
		for _, e := range l {
			envs[fmt.Sprint(e)] = true
		}
	}
	var ds []*github.Deployment
	for _, d := range r.deployments {
		if len(envs) == 0 || envs[d.GetEnvironment()] {
			ds = append(ds, d)
		}
	}
	desc := orderDesc(f)
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].GetCreatedAt().Time, ds[j].GetCreatedAt().Time
		if !a.Equal(b) {
			return a.After(b) == desc
		}
		return (ds[i].GetID() > ds[j].GetID()) == desc
	})
	key := func(d *github.Deployment) string { return strconv.FormatInt(d.GetID(), 10) }
	return connection(f, ds, key, func(d *github.Deployment, sel []gqlField) (map[string]any, error) {
		v := map[string]any{"__typename": "Deployment", "databaseId": d.GetID(), "environment": d.GetEnvironment(),
			"createdAt": gqlTime(d.CreatedAt), "commitOid": d.GetSHA(), "creator": gqlActor(d.Creator), "latestStatus": nil,
			"ref": nil, "task": d.GetTask()}
		if d.GetRef() != "" && d.GetRef() != d.GetSHA() {
			v["ref"] = map[string]any{"__typename": "Ref", "name": d.GetRef()}
		}
		if st := r.depStatuses[d.GetID()]; len(st) > 0 {
			last := st[len(st)-1]
			v["latestStatus"] = map[string]any{"__typename": "DeploymentStatus", "state": strings.ToUpper(last.GetState()),
				"createdAt": gqlTime(last.CreatedAt)}
		}
		return object("Deployment", sel, v)
	})
}

func (s *Server) gqlReleases(r *repoState, f gqlField) (any, error) {
	rs := append([]*github.RepositoryRelease(nil), r.releases...)
	desc := orderDesc(f)
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].GetCreatedAt().Time, rs[j].GetCreatedAt().Time
		if !a.Equal(b) {
			return a.After(b) == desc
		}
		return (rs[i].GetID() > rs[j].GetID()) == desc
	})
	key := func(rel *github.RepositoryRelease) string { return strconv.FormatInt(rel.GetID(), 10) }
	return connection(f, rs, key, func(rel *github.RepositoryRelease, sel []gqlField) (map[string]any, error) {
		v := map[string]any{"__typename": "Release", "databaseId": rel.GetID(), "tagName": rel.GetTagName(),
			"createdAt": gqlTime(rel.CreatedAt), "publishedAt": gqlTime(rel.PublishedAt), "isDraft": rel.GetDraft(),
			"isPrerelease": rel.GetPrerelease(), "author": gqlActor(rel.Author), "tagCommit": nil}
		sha := rel.GetTargetCommitish()
		if ref, ok := r.refs["heads/"+sha]; ok {
			sha = ref
		}
		if sha != "" {
			v["tagCommit"] = map[string]any{"__typename": "Commit", "oid": sha}
		}
		return object("Release", sel, v)
	})
}

// PullHistory is one pull request to seed with what the lead-time backfill
// reads of it: commits (oldest first, as GitHub lists a PR's commits),
// reviews, changed paths and draft events.
type PullHistory struct {
	Pull    *github.PullRequest
	Commits []*github.RepositoryCommit
	Reviews []*github.PullRequestReview // User, State, SubmittedAt; IDs are assigned
	Paths   []string
	// ReadyAt, when set, records a ready_for_review timeline event then
	// (the PR was opened as a draft).
	ReadyAt time.Time
}

// AddPullHistories seeds many pull requests at once, for tests that need
// thousands (AddPull and AddReview copy every value they are given).
// Numbers and IDs are assigned as AddPull does.
func (s *Server) AddPullHistories(full string, hs []PullHistory) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	nums := make([]int, len(hs))
	for i, h := range hs {
		pr := s.addPullFast(r, h.Pull)
		n := pr.GetNumber()
		nums[i] = n
		if len(h.Commits) > 0 {
			r.prCommits[n] = h.Commits
		}
		for _, rv := range h.Reviews {
			c := *rv
			c.ID = github.Int64(s.st.nextID())
			c.User = s.st.user(rv.GetUser().GetLogin())
			r.reviews[n] = append(r.reviews[n], &c)
		}
		for _, p := range h.Paths {
			r.prFiles[n] = append(r.prFiles[n], &github.CommitFile{Filename: github.String(p), Status: github.String("modified")})
		}
		if !h.ReadyAt.IsZero() {
			r.timeline[n] = append(r.timeline[n], &github.Timeline{ID: github.Int64(s.st.nextID()),
				Event: github.String("ready_for_review"), Actor: pr.User, CreatedAt: ts(h.ReadyAt)})
		}
	}
	return nums
}

// addPullFast is addPull without the copies: the issue and the pull share
// in's values. Called with s.mu held.
func (s *Server) addPullFast(r *repoState, in *github.PullRequest) *github.PullRequest {
	pr := *in
	n := r.nextNumber
	if pr.Number != nil && pr.GetNumber() > 0 {
		n = pr.GetNumber()
	}
	r.nextNumber = max(r.nextNumber, n+1)
	pr.Number = github.Int(n)
	pr.ID = github.Int64(s.st.nextID())
	user := s.login
	if pr.User != nil {
		user = pr.User.GetLogin()
	}
	pr.User = s.st.user(user)
	if pr.CreatedAt == nil {
		pr.CreatedAt = ts(s.now())
	}
	if pr.UpdatedAt == nil {
		pr.UpdatedAt = pr.CreatedAt
	}
	state := "open"
	if pr.MergedAt != nil {
		pr.Merged, state = github.Bool(true), "closed"
		if pr.ClosedAt == nil {
			pr.ClosedAt = pr.MergedAt
		}
	} else if pr.ClosedAt != nil {
		state = "closed"
	}
	pr.State = github.String(state)
	var labels []*github.Label
	for _, l := range pr.Labels {
		labels = append(labels, r.ensureLabel(s.st, l.GetName()))
	}
	pr.Labels = labels
	if pr.Base == nil {
		pr.Base = &github.PullRequestBranch{Ref: r.repo.DefaultBranch}
	}
	if pr.Head == nil {
		pr.Head = &github.PullRequestBranch{Ref: github.String("feature")}
	}
	if pr.Draft == nil {
		pr.Draft = github.Bool(false)
	}
	full := r.repo.GetFullName()
	r.issues[n] = &github.Issue{Number: pr.Number, ID: github.Int64(s.st.nextID()), Title: pr.Title, User: pr.User, State: pr.State,
		Labels: labels, CreatedAt: pr.CreatedAt, UpdatedAt: pr.UpdatedAt, ClosedAt: pr.ClosedAt,
		HTMLURL:          github.String(fmt.Sprintf("https://github.com/%s/pull/%d", full, n)),
		PullRequestLinks: &github.PullRequestLinks{URL: github.String(fmt.Sprintf("%srepos/%s/pulls/%d", s.URL(), full, n))}}
	r.pulls[n] = &pr
	return &pr
}

// AddDeploymentStatus seeds a status on a deployment (state "success",
// "failure", "in_progress", "inactive"...) at a time.
func (s *Server) AddDeploymentStatus(full string, deploymentID int64, state string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	r.depStatuses[deploymentID] = append(r.depStatuses[deploymentID], &github.DeploymentStatus{ID: github.Int64(s.st.nextID()),
		State: github.String(state), CreatedAt: ts(at), UpdatedAt: ts(at)})
}

// AddRelease seeds a release. TargetCommitish may be a branch or a commit
// SHA; ID and CreatedAt (now) are assigned when missing.
func (s *Server) AddRelease(full string, rel *github.RepositoryRelease) *github.RepositoryRelease {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(full)
	c := clone(rel)
	c.ID = github.Int64(s.st.nextID())
	if c.CreatedAt == nil {
		c.CreatedAt = ts(s.now())
	}
	if c.Author != nil {
		c.Author = s.st.user(c.Author.GetLogin())
	}
	r.releases = append(r.releases, c)
	return clone(c)
}

// parseGQLArgs reads an argument list "(name: value, ...)" with variables
// resolved from vars.
func parseGQLArgs(raw string, vars map[string]any) (map[string]any, error) {
	p := &gqlParser{src: raw}
	p.space()
	if p.peek() != '(' {
		return nil, fmt.Errorf("want '(' at 0")
	}
	p.pos++
	out := map[string]any{}
	for {
		p.space()
		if p.peek() == ')' {
			p.pos++
			return out, nil
		}
		name := p.name()
		if name == "" {
			return nil, fmt.Errorf("want an argument name at %d", p.pos)
		}
		p.space()
		if p.peek() != ':' {
			return nil, fmt.Errorf("want ':' after argument %s", name)
		}
		p.pos++
		v, err := p.value(vars)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", name, err)
		}
		out[name] = v
	}
}

// value reads one GraphQL input value: a $variable, a number, a string,
// true/false/null, an enum value, a list or an input object. Numbers come
// out as int (or float64), enum values as strings.
func (p *gqlParser) value(vars map[string]any) (any, error) {
	p.space()
	switch c := p.peek(); {
	case c == '$':
		p.pos++
		name := p.name()
		v, ok := vars[name]
		if !ok {
			return nil, nil // an omitted nullable variable is null
		}
		return normalizeJSON(v), nil
	case c == '"':
		start := p.pos
		for p.pos++; p.pos < len(p.src) && p.src[p.pos] != '"'; p.pos++ {
			if p.src[p.pos] == '\\' {
				p.pos++
			}
		}
		if p.pos >= len(p.src) {
			return nil, fmt.Errorf("unterminated string")
		}
		p.pos++
		s, err := strconv.Unquote(p.src[start:p.pos])
		if err != nil {
			return nil, fmt.Errorf("string %s: %w", p.src[start:p.pos], err)
		}
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		for p.pos++; p.pos < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0; p.pos++ {
		}
		if n, err := strconv.Atoi(p.src[start:p.pos]); err == nil {
			return n, nil
		}
		return strconv.ParseFloat(p.src[start:p.pos], 64)
	case c == '[':
		p.pos++
		out := []any{}
		for {
			p.space()
			if p.peek() == ']' {
				p.pos++
				return out, nil
			}
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("unterminated list")
			}
			v, err := p.value(vars)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	case c == '{':
		p.pos++
		out := map[string]any{}
		for {
			p.space()
			if p.peek() == '}' {
				p.pos++
				return out, nil
			}
			k := p.name()
			if k == "" {
				return nil, fmt.Errorf("want a field name at %d", p.pos)
			}
			p.space()
			if p.peek() != ':' {
				return nil, fmt.Errorf("want ':' after %s", k)
			}
			p.pos++
			v, err := p.value(vars)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
	default:
		switch n := p.name(); n {
		case "":
			return nil, fmt.Errorf("want a value at %d", p.pos)
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		default:
			return n, nil
		}
	}
}

// normalizeJSON turns a JSON variable's numbers into ints where whole.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalizeJSON(e)
		}
		return out
	}
	return v
}
