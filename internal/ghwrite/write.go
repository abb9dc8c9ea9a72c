package ghwrite

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Memo remembers artefact IDs between jobs to spare API calls (the same
// shape as handler.Memo). GitHub stays the truth: a remembered ID that no
// longer resolves to tasuki's artefact is looked up again by marker.
type Memo interface {
	Get(ctx context.Context, key string) (string, bool, error)
	Put(ctx context.Context, key, value string) error
}

// Writer carries out writes idempotently with one go-github client. Each
// "find by marker, else create" runs under a lock named by the repository
// and the marker (check runs: the commit, name and external ID), so that
// workers racing on one artefact make one; see WithLocker.
type Writer struct {
	c      *github.Client
	id     Identity
	log    *slog.Logger
	memo   Memo
	locker Locker
}

// Option configures a Writer.
type Option func(*Writer)

// WithMemo makes the Writer remember comment IDs, issue numbers and check
// run IDs in m.
func WithMemo(m Memo) Option { return func(w *Writer) { w.memo = m } }

// New returns a Writer acting through c, trusting artefacts authored by id.
func New(c *github.Client, id Identity, log *slog.Logger, opts ...Option) *Writer {
	if log == nil {
		log = slog.Default()
	}
	w := &Writer{c: c, id: id, log: log}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Limits GitHub puts on check run output.
const (
	// MaxOutputChars is the longest summary or text GitHub accepts.
	MaxOutputChars = 65535
	// MaxAnnotationsPerRequest is how many annotations one request may carry.
	MaxAnnotationsPerRequest = 50
)

// TruncatedNote ends a summary or text cut to fit GitHub's limit.
const TruncatedNote = "\n\n… (truncated: the full output exceeds GitHub's 65,535-character limit)"

// isNotFound reports whether err says the artefact is not there: 404, or
// 410 for an issue that was deleted.
func isNotFound(err error) bool {
	return isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusGone)
}

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// MaxBodyChars is the longest issue or comment body GitHub accepts.
const MaxBodyChars = 65536

// withMarker returns body carrying m, appended at the end where readers do
// not see it, unless it is there already. A body too long for GitHub is cut
// with a visible note, keeping the marker so the artefact is still found.
func withMarker(body string, m marker.Marker) string {
	if !m.In(body) {
		if body == "" {
			body = m.String()
		} else {
			body = strings.TrimRight(body, "\n") + "\n\n" + m.String()
		}
	}
	if len(body) <= MaxBodyChars {
		return body
	}
	tail := "\n\n" + m.String()
	return Truncate(strings.Replace(body, m.String(), "", 1), MaxBodyChars-len(tail)) + tail
}

func (w *Writer) memoGet(ctx context.Context, key string) string {
	if w.memo == nil {
		return ""
	}
	v, ok, err := w.memo.Get(ctx, key)
	if err != nil {
		// The memo only saves calls; fall back to finding by marker.
		w.log.WarnContext(ctx, "memo read failed", "key", key, "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	return v
}

func (w *Writer) memoPut(ctx context.Context, key, value string) {
	if w.memo == nil {
		return
	}
	if err := w.memo.Put(ctx, key, value); err != nil {
		w.log.WarnContext(ctx, "memo write failed", "key", key, "err", err)
	}
}

func commentMemoKey(owner, repo string, number int, m marker.Marker) string {
	return fmt.Sprintf("comment:%s/%s#%d:%s:%s", owner, repo, number, m.Kind, m.Key)
}

func issueMemoKey(owner, repo string, m marker.Marker) string {
	return fmt.Sprintf("issue:%s/%s:%s:%s", owner, repo, m.Kind, m.Key)
}

// FindComment returns the newest comment on issue or PR number that carries
// m and was written by a trusted login, or nil. Copies of the marker in
// anyone else's comments are ignored: a user quoting tasuki's comment must
// not become the comment tasuki edits.
func (w *Writer) FindComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error) {
	c, err := w.findComment(ctx, owner, repo, number, m)
	if err != nil {
		return nil, fmt.Errorf("find comment %s on %s/%s#%d: %w", m.Kind, owner, repo, number, err)
	}
	return c, nil
}

func (w *Writer) findComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error) {
	cs, err := w.trustedComments(ctx, owner, repo, number)
	if err != nil {
		return nil, err
	}
	for i := len(cs) - 1; i >= 0; i-- { // oldest first: the last match is the newest
		if m.In(cs[i].GetBody()) {
			return cs[i], nil
		}
	}
	return nil, nil
}

// TrustedComments returns the comments on issue or PR number written by a
// trusted login, oldest first: the artefacts tasuki posted there, whatever
// their markers.
func (w *Writer) TrustedComments(ctx context.Context, owner, repo string, number int) ([]*github.IssueComment, error) {
	cs, err := w.trustedComments(ctx, owner, repo, number)
	if err != nil {
		return nil, fmt.Errorf("list comments of %s/%s#%d: %w", owner, repo, number, err)
	}
	return cs, nil
}

// maxComments bounds the comments read on one issue or PR.
const maxComments = 3000

// trustedComments fails on a thread longer than maxComments rather than
// act on part of it: the listing is oldest first, so the part misses the
// newest comments, and a marker not found there would be posted again on
// every event (or every sweep).
func (w *Writer) trustedComments(ctx context.Context, owner, repo string, number int) ([]*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{}
	list := func(lo *github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		opts.ListOptions = *lo
		return w.c.Issues.ListComments(ctx, owner, repo, number, opts)
	}
	var out []*github.IssueComment
	for c, err := range ghread.Items(ctx, list, maxComments) {
		if err != nil {
			return nil, err
		}
		if w.id.Trusts(c.GetUser()) {
			out = append(out, c)
		}
	}
	return out, nil
}

// existingComment finds tasuki's comment carrying m on number: by the
// remembered ID (one request), else by listing the thread. It remembers
// what it found.
func (w *Writer) existingComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error) {
	return remembered(ctx, w, commentMemoKey(owner, repo, number, m), (*github.IssueComment).GetID,
		func(id int64) (*github.IssueComment, error) {
			c, _, err := w.c.Issues.GetComment(ctx, owner, repo, id)
			return c, err
		},
		func(c *github.IssueComment) bool { return w.id.Trusts(c.GetUser()) && m.In(c.GetBody()) },
		func() (*github.IssueComment, error) { return w.findComment(ctx, owner, repo, number, m) })
}

// remembered returns the artefact whose ID (a comment ID, an issue
// number) the memo holds under key, when get still resolves it to one that
// ours accepts; otherwise the one find looks up (nil, ID 0, when there is
// none), which is remembered. A remembered artefact that is gone or no
// longer tasuki's is looked up again: GitHub stays the truth.
func remembered[T any](ctx context.Context, w *Writer, key string, idOf func(T) int64,
	get func(id int64) (T, error), ours func(T) bool, find func() (T, error)) (T, error) {
	if v := w.memoGet(ctx, key); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			x, err := get(id)
			switch {
			case err == nil && ours(x):
				return x, nil
			case err != nil && !isNotFound(err):
				var none T
				return none, err
			}
		}
	}
	x, err := find()
	if err == nil && idOf(x) != 0 {
		w.memoPut(ctx, key, strconv.FormatInt(idOf(x), 10))
	}
	return x, err
}

// createComment posts body (already carrying m) on number and remembers it.
func (w *Writer) createComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, error) {
	c, _, err := w.c.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return nil, err
	}
	w.memoPut(ctx, commentMemoKey(owner, repo, number, m), strconv.FormatInt(c.GetID(), 10))
	w.log.InfoContext(ctx, "comment created", "repo", owner+"/"+repo, "issue", number, "comment", c.GetID(), "marker", m.Kind)
	return c, nil
}

// EnsureComment posts body (m is appended if absent) on issue or PR number
// unless tasuki already posted a comment carrying m; it never edits. It
// suits comments that say something once (a reply to a command, a
// reminder), where a person's reaction to the first version must not be
// overtaken by an edit.
func (w *Writer) EnsureComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, bool, error) {
	c, created, err := locked(ctx, w, commentLockKey(owner, repo, number, m), func(ctx context.Context) (*github.IssueComment, bool, error) {
		return w.ensureComment(ctx, owner, repo, number, m, body)
	})
	if err != nil {
		return nil, false, fmt.Errorf("ensure comment %s on %s/%s#%d: %w", m.Kind, owner, repo, number, err)
	}
	return c, created, nil
}

func (w *Writer) ensureComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, bool, error) {
	c, err := w.existingComment(ctx, owner, repo, number, m)
	if err != nil || c != nil {
		return c, false, err
	}
	c, err = w.createComment(ctx, owner, repo, number, m, withMarker(body, m))
	return c, err == nil, err
}

// UpsertComment makes tasuki's comment carrying m on issue or PR number say
// body (m is appended if absent). It edits the existing comment in place,
// skipping the edit when nothing changed, and creates one only if none
// exists, so a retried job never posts twice.
func (w *Writer) UpsertComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, bool, error) {
	c, created, err := locked(ctx, w, commentLockKey(owner, repo, number, m), func(ctx context.Context) (*github.IssueComment, bool, error) {
		return w.upsertComment(ctx, owner, repo, number, m, body)
	})
	if err != nil {
		return nil, false, fmt.Errorf("upsert comment %s on %s/%s#%d: %w", m.Kind, owner, repo, number, err)
	}
	return c, created, nil
}

func (w *Writer) upsertComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, bool, error) {
	body = withMarker(body, m)
	existing, err := w.existingComment(ctx, owner, repo, number, m)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		if existing.GetBody() == body {
			return existing, false, nil
		}
		c, _, err := w.c.Issues.EditComment(ctx, owner, repo, existing.GetID(), &github.IssueComment{Body: github.String(body)})
		if err != nil {
			return nil, false, err
		}
		w.log.InfoContext(ctx, "comment updated", "repo", owner+"/"+repo, "issue", number, "comment", c.GetID(), "marker", m.Kind)
		return c, false, nil
	}
	c, err := w.createComment(ctx, owner, repo, number, m, body)
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// IssueLookup is intent.IssueLookup: where EnsureIssue looks for an
// existing issue before it creates one.
type IssueLookup = intent.IssueLookup

// FindIssue returns the issue carrying m written by a trusted login, or
// nil. It looks by the remembered number, then through issues labelled
// lookup.Label (any state, newest first), then through issues opened by
// tasuki since lookup.CreatedSince, then with the search API. What it finds
// is remembered.
func (w *Writer) FindIssue(ctx context.Context, owner, repo string, m marker.Marker, lookup IssueLookup) (*github.Issue, error) {
	is, err := w.existingIssue(ctx, owner, repo, m, lookup)
	if err != nil {
		return nil, fmt.Errorf("find issue %s key=%s in %s/%s: %w", m.Kind, m.Key, owner, repo, err)
	}
	return is, nil
}

// EnsureIssue returns the issue carrying m written by a trusted login,
// creating it from req (its body gets m) if none exists; it looks as
// FindIssue does. If GitHub refuses req's assignees (422: a login without
// access to the repository), the issue is created unassigned: an owner who
// cannot be assigned must not cost the artefact.
func (w *Writer) EnsureIssue(ctx context.Context, owner, repo string, m marker.Marker, req *github.IssueRequest, lookup IssueLookup) (*github.Issue, bool, error) {
	is, created, err := locked(ctx, w, issueLockKey(owner, repo, m), func(ctx context.Context) (*github.Issue, bool, error) {
		return w.ensureIssue(ctx, owner, repo, m, req, lookup)
	})
	if err != nil {
		return nil, false, fmt.Errorf("ensure issue %s key=%s in %s/%s: %w", m.Kind, m.Key, owner, repo, err)
	}
	return is, created, nil
}

func (w *Writer) ours(is *github.Issue, m marker.Marker) bool {
	return is != nil && !is.IsPullRequest() && w.id.Trusts(is.GetUser()) && m.In(is.GetBody())
}

// existingIssue looks for tasuki's issue carrying m as FindIssue documents.
func (w *Writer) existingIssue(ctx context.Context, owner, repo string, m marker.Marker, lookup IssueLookup) (*github.Issue, error) {
	return remembered(ctx, w, issueMemoKey(owner, repo, m), func(is *github.Issue) int64 { return int64(is.GetNumber()) },
		func(n int64) (*github.Issue, error) {
			is, _, err := w.c.Issues.Get(ctx, owner, repo, int(n))
			return is, err
		},
		func(is *github.Issue) bool { return w.ours(is, m) },
		func() (*github.Issue, error) { return w.findIssue(ctx, owner, repo, m, lookup) })
}

func (w *Writer) ensureIssue(ctx context.Context, owner, repo string, m marker.Marker, req *github.IssueRequest, lookup IssueLookup) (*github.Issue, bool, error) {
	found, err := w.existingIssue(ctx, owner, repo, m, lookup)
	if err != nil {
		return nil, false, err
	}
	if found != nil {
		return found, false, nil
	}
	r := *req
	r.Body = github.String(withMarker(req.GetBody(), m))
	is, _, err := w.c.Issues.Create(ctx, owner, repo, &r)
	if err != nil && isStatus(err, http.StatusUnprocessableEntity) && r.Assignees != nil {
		w.log.WarnContext(ctx, "assignees refused, creating the issue unassigned", "repo", owner+"/"+repo, "marker", m.Kind, "err", err)
		r.Assignees = nil
		is, _, err = w.c.Issues.Create(ctx, owner, repo, &r)
	}
	if err != nil {
		return nil, false, err
	}
	w.memoPut(ctx, issueMemoKey(owner, repo, m), strconv.Itoa(is.GetNumber()))
	w.log.InfoContext(ctx, "issue created", "repo", owner+"/"+repo, "issue", is.GetNumber(), "marker", m.Kind)
	return is, true, nil
}

func (w *Writer) findIssue(ctx context.Context, owner, repo string, m marker.Marker, lookup IssueLookup) (*github.Issue, error) {
	var listings []github.IssueListByRepoOptions
	if lookup.Label != "" {
		listings = append(listings, github.IssueListByRepoOptions{Labels: []string{lookup.Label}})
	}
	if !lookup.CreatedSince.IsZero() {
		for _, login := range w.id.Logins {
			listings = append(listings, github.IssueListByRepoOptions{Creator: login, Since: lookup.CreatedSince})
		}
	}
	for _, opts := range listings {
		opts.State, opts.Sort, opts.Direction, opts.PerPage = "all", "created", "desc", 100
		is, err := w.listIssue(ctx, owner, repo, m, &opts)
		if errors.Is(err, ghread.ErrTruncated) && !lookup.NoSearch {
			// The listing is newest first; an older issue is left to the
			// next listing or the search.
			w.log.WarnContext(ctx, "issue listing truncated, searching on", "repo", owner+"/"+repo, "marker", m.Kind, "err", err)
			continue
		}
		if err != nil || is != nil {
			return is, err
		}
	}
	if lookup.NoSearch {
		return nil, nil
	}
	q := fmt.Sprintf(`repo:%s/%s is:issue in:body "%s"`, owner, repo, searchPhrase(m))
	res, _, err := w.c.Search.Issues(ctx, q, &github.SearchOptions{Sort: "created", Order: "desc", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return nil, err
	}
	for _, is := range res.Issues {
		if w.ours(is, m) {
			return is, nil
		}
	}
	return nil, nil
}

// maxListedIssues bounds the issues one listing of findIssue reads.
const maxListedIssues = 3000

// listIssue pages through the issues opts selects for tasuki's issue
// carrying m. Past maxListedIssues it returns an error wrapping
// ghread.ErrTruncated.
func (w *Writer) listIssue(ctx context.Context, owner, repo string, m marker.Marker, opts *github.IssueListByRepoOptions) (*github.Issue, error) {
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opts.ListOptions = *lo
		return w.c.Issues.ListByRepo(ctx, owner, repo, opts)
	}
	for is, err := range ghread.Items(ctx, list, maxListedIssues) {
		if err != nil {
			return nil, err
		}
		if w.ours(is, m) {
			return is, nil
		}
	}
	return nil, nil
}

// searchPhrase is the marker's text without the comment delimiters and the
// version, which search tokenises like any other words.
func searchPhrase(m marker.Marker) string {
	s := strings.TrimPrefix(m.String(), "<!-- ")
	if i := strings.LastIndex(s, " v="); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, `"`, "")
}

// CheckRun is intent.CheckRun: the check run a feature wants on a commit.
type CheckRun = intent.CheckRun

// Annotation is intent.Annotation: one finding on a line range of a file.
type Annotation = intent.Annotation

// UpsertCheckRun sets run on its commit: it updates tasuki's run with the
// same head SHA, name and external ID, or creates one. Summary and text are
// cut to GitHub's 65,535-character limit with a visible note; annotations
// go 50 per request. An unchanged run is not written again.
func (w *Writer) UpsertCheckRun(ctx context.Context, owner, repo string, run CheckRun) (*github.CheckRun, error) {
	c, _, err := locked(ctx, w, checkRunLockKey(owner, repo, run), func(ctx context.Context) (*github.CheckRun, bool, error) {
		c, err := w.upsertCheckRun(ctx, owner, repo, run)
		return c, false, err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert check run %s on %s/%s@%s: %w", run.Name, owner, repo, shortSHA(run.HeadSHA), err)
	}
	return c, nil
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// Truncate cuts s to at most max bytes (so also at most max characters) at
// a rune boundary, ending it with TruncatedNote when it had to cut.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(TruncatedNote)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncatedNote
}

func (w *Writer) trusted(c *github.CheckRun) bool {
	if c.App == nil || c.App.GetSlug() == "" {
		return true
	}
	return w.id.Trusts(&github.User{Login: github.String(c.App.GetSlug() + "[bot]")})
}

func (w *Writer) upsertCheckRun(ctx context.Context, owner, repo string, run CheckRun) (*github.CheckRun, error) {
	status := run.Status
	if run.Conclusion != "" {
		status = "completed"
	}
	if status == "" {
		status = "queued"
	}
	out := &github.CheckRunOutput{Title: github.String(run.Title), Summary: github.String(Truncate(run.Summary, MaxOutputChars))}
	if run.Text != "" {
		out.Text = github.String(Truncate(run.Text, MaxOutputChars))
	}
	if run.Title == "" {
		out.Title = github.String(run.Name)
	}

	anns := annotations(run.Annotations)
	key, fp := checkRunMemoKey(owner, repo, run), checkRunFingerprint(run.Name, run.ExternalID, status, run.Conclusion, out, run.DetailsURL)
	if c, ok, err := w.updateRememberedCheckRun(ctx, owner, repo, run, key, fp, status, out, len(anns)); ok || err != nil {
		return c, err
	}
	existing, err := w.findCheckRun(ctx, owner, repo, run)
	if err != nil {
		return nil, err
	}
	first := anns
	if len(first) > MaxAnnotationsPerRequest {
		first = first[:MaxAnnotationsPerRequest]
	}
	var c *github.CheckRun
	if existing != nil {
		// GitHub appends annotations sent on an update. The same head SHA,
		// name and external ID mean the same findings, so annotations that
		// an earlier attempt sent are not sent again.
		sent := existing.GetOutput().GetAnnotationsCount()
		if sent >= len(anns) {
			anns, first = nil, nil
		} else {
			anns = anns[sent:]
			first = anns[:min(len(anns), MaxAnnotationsPerRequest)]
		}
		if len(anns) == 0 && sameCheckRun(existing, status, run.Conclusion, out, run.DetailsURL) {
			w.rememberCheckRun(ctx, key, existing, fp)
			return existing, nil
		}
		opts := github.UpdateCheckRunOptions{Name: run.Name, Status: github.String(status), Output: withAnnotations(out, first),
			ExternalID: optional(run.ExternalID), Conclusion: optional(run.Conclusion), DetailsURL: optional(run.DetailsURL)}
		c, _, err = w.c.Checks.UpdateCheckRun(ctx, owner, repo, existing.GetID(), opts)
		if err != nil {
			return nil, err
		}
	} else {
		opts := github.CreateCheckRunOptions{Name: run.Name, HeadSHA: run.HeadSHA, Status: github.String(status), Output: withAnnotations(out, first),
			ExternalID: optional(run.ExternalID), Conclusion: optional(run.Conclusion), DetailsURL: optional(run.DetailsURL)}
		c, _, err = w.c.Checks.CreateCheckRun(ctx, owner, repo, opts)
		if err != nil {
			return nil, err
		}
	}
	for rest := anns[len(first):]; len(rest) > 0; {
		batch := rest[:min(len(rest), MaxAnnotationsPerRequest)]
		rest = rest[len(batch):]
		c, _, err = w.c.Checks.UpdateCheckRun(ctx, owner, repo, c.GetID(), github.UpdateCheckRunOptions{Name: run.Name, Output: withAnnotations(out, batch)})
		if err != nil {
			return nil, err
		}
	}
	w.rememberCheckRun(ctx, key, c, fp)
	w.log.InfoContext(ctx, "check run set", "repo", owner+"/"+repo, "check_run", c.GetID(), "name", run.Name, "conclusion", run.Conclusion)
	return c, nil
}

// optional is s for a request field, or nil (not sent) when it is empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// annotations converts a core's annotations to go-github's, leaving out
// the optional fields that are zero.
func annotations(in []Annotation) []*github.CheckRunAnnotation {
	if len(in) == 0 {
		return nil
	}
	num := func(n int) *int {
		if n == 0 {
			return nil
		}
		return &n
	}
	out := make([]*github.CheckRunAnnotation, len(in))
	for i, a := range in {
		out[i] = &github.CheckRunAnnotation{Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
			StartColumn: num(a.StartColumn), EndColumn: num(a.EndColumn), AnnotationLevel: github.String(a.Level),
			Title: optional(a.Title), Message: github.String(a.Message), RawDetails: optional(a.RawDetails)}
	}
	return out
}

func withAnnotations(o *github.CheckRunOutput, anns []*github.CheckRunAnnotation) *github.CheckRunOutput {
	v := *o
	v.Annotations = anns
	return &v
}

func sameCheckRun(c *github.CheckRun, status, conclusion string, o *github.CheckRunOutput, details string) bool {
	eo := c.GetOutput()
	return c.GetStatus() == status && c.GetConclusion() == conclusion &&
		eo.GetTitle() == o.GetTitle() && eo.GetSummary() == o.GetSummary() && eo.GetText() == o.GetText() &&
		(details == "" || c.GetDetailsURL() == details)
}

// maxCheckRuns bounds the check runs of one name read on one commit.
const maxCheckRuns = 1000

// findCheckRun returns nil, and logs, when the commit has more than
// maxCheckRuns runs of the name and none of the newest is tasuki's: the run
// then created is the newest, found first next time.
func (w *Writer) findCheckRun(ctx context.Context, owner, repo string, run CheckRun) (*github.CheckRun, error) {
	opts := &github.ListCheckRunsOptions{CheckName: github.String(run.Name), Filter: github.String("all")}
	list := func(lo *github.ListOptions) ([]*github.CheckRun, *github.Response, error) {
		opts.ListOptions = *lo
		res, resp, err := w.c.Checks.ListCheckRunsForRef(ctx, owner, repo, run.HeadSHA, opts)
		if res == nil {
			return nil, resp, err
		}
		return res.CheckRuns, resp, err
	}
	for c, err := range ghread.Items(ctx, list, maxCheckRuns) { // newest first
		if errors.Is(err, ghread.ErrTruncated) {
			w.log.WarnContext(ctx, "check run listing truncated", "repo", owner+"/"+repo, "check", run.Name, "err", err)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if c.GetName() == run.Name && c.GetExternalID() == run.ExternalID && w.trusted(c) {
			return c, nil
		}
	}
	return nil, nil
}

// maxLabels bounds the labels read on one issue or PR; GitHub allows 100.
const maxLabels = 1000

// issueLabels lists the labels on issue or PR number, failing past
// maxLabels: a partial list could hide the label asked about.
func (w *Writer) issueLabels(ctx context.Context, owner, repo string, number int) iter.Seq2[*github.Label, error] {
	list := func(lo *github.ListOptions) ([]*github.Label, *github.Response, error) {
		return w.c.Issues.ListLabelsByIssue(ctx, owner, repo, number, lo)
	}
	return ghread.Items(ctx, list, maxLabels)
}

// AddLabels adds to issue or PR number those of labels it lacks; it writes
// nothing when all are present.
func (w *Writer) AddLabels(ctx context.Context, owner, repo string, number int, labels ...string) error {
	have := map[string]bool{}
	for l, err := range w.issueLabels(ctx, owner, repo, number) {
		if err != nil {
			return fmt.Errorf("add labels to %s/%s#%d: list labels: %w", owner, repo, number, err)
		}
		have[strings.ToLower(l.GetName())] = true
	}
	var missing []string
	for _, l := range labels {
		if !have[strings.ToLower(l)] {
			missing = append(missing, l)
			have[strings.ToLower(l)] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, _, err := w.c.Issues.AddLabelsToIssue(ctx, owner, repo, number, missing); err != nil {
		return fmt.Errorf("add labels %s to %s/%s#%d: %w", strings.Join(missing, ","), owner, repo, number, err)
	}
	return nil
}
