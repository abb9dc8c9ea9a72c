package ghwrite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// ErrNotOurs means an edit that requires tasuki's own artefact found an
// issue another author wrote, or one without the marker.
var ErrNotOurs = errors.New("not tasuki's artefact")

// CloseReason is intent.CloseReason: why an issue is closed, as GitHub
// records it.
type CloseReason = intent.CloseReason

// Close reasons.
const (
	CloseCompleted  = intent.CloseCompleted
	CloseNotPlanned = intent.CloseNotPlanned
)

// IssueEdit is intent.IssueEdit: what EditIssue should make an issue say.
// Fields left nil or empty are not changed; a set Marker requires the
// issue to be tasuki's artefact carrying it, else EditIssue fails with
// ErrNotOurs.
type IssueEdit = intent.IssueEdit

// EditIssue brings issue (or PR) number to what e says: it reads the issue
// and sends only the fields that differ, and nothing when none does. It
// returns the issue as it is afterwards and whether it wrote.
func (w *Writer) EditIssue(ctx context.Context, owner, repo string, number int, e IssueEdit) (*github.Issue, bool, error) {
	is, changed, err := w.editIssue(ctx, owner, repo, number, e)
	if err != nil {
		return nil, false, fmt.Errorf("edit %s/%s#%d: %w", owner, repo, number, err)
	}
	return is, changed, nil
}

func (w *Writer) editIssue(ctx context.Context, owner, repo string, number int, e IssueEdit) (*github.Issue, bool, error) {
	if !e.Reason.Valid() {
		return nil, false, fmt.Errorf("close reason %q is not completed or not_planned", e.Reason)
	}
	if e.State != "" && e.State != "open" && e.State != "closed" {
		return nil, false, fmt.Errorf("state %q is not open or closed", e.State)
	}
	is, _, err := w.c.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return nil, false, err
	}
	hasMarker := e.Marker != (marker.Marker{})
	if hasMarker && !(w.id.Trusts(is.GetUser()) && e.Marker.In(is.GetBody())) {
		return nil, false, fmt.Errorf("%w: by %s, marker %s %s", ErrNotOurs, is.GetUser().GetLogin(), e.Marker.Kind, present(e.Marker.In(is.GetBody())))
	}
	var req github.IssueRequest
	changed := false
	if e.Title != nil && *e.Title != is.GetTitle() {
		req.Title, changed = e.Title, true
	}
	if e.Body != nil {
		body := *e.Body
		if hasMarker {
			body = withMarker(body, e.Marker)
		}
		if body != is.GetBody() {
			req.Body, changed = &body, true
		}
	}
	if e.State != "" {
		reason := string(e.Reason)
		if e.State == "closed" && reason == "" {
			reason = string(CloseCompleted)
		}
		if e.State != is.GetState() || (e.State == "closed" && reason != is.GetStateReason()) {
			req.State, changed = github.String(e.State), true
			if e.State == "closed" {
				req.StateReason = &reason
			}
		}
	}
	if e.Labels != nil && !sameLabels(*e.Labels, is.Labels) {
		req.Labels, changed = e.Labels, true
	}
	if !changed {
		return is, false, nil
	}
	is, _, err = w.c.Issues.Edit(ctx, owner, repo, number, &req)
	if err != nil {
		return nil, false, err
	}
	w.log.InfoContext(ctx, "issue edited", "repo", owner+"/"+repo, "issue", number)
	return is, true, nil
}

func present(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

func sameLabels(want []string, have []*github.Label) bool {
	norm := func(ss []string) []string {
		out := make([]string, 0, len(ss))
		for _, s := range ss {
			out = append(out, strings.ToLower(s))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var names []string
	for _, l := range have {
		names = append(names, l.GetName())
	}
	return slices.Equal(norm(want), norm(names))
}

// CloseIssue closes issue (or PR) number with reason (CloseCompleted when
// empty). An issue already closed is left as it is, whatever reason it was
// closed with: a person's decision is not overridden. It reports whether
// it closed the issue.
func (w *Writer) CloseIssue(ctx context.Context, owner, repo string, number int, reason CloseReason) (bool, error) {
	if !reason.Valid() {
		return false, fmt.Errorf("close %s/%s#%d: reason %q is not completed or not_planned", owner, repo, number, reason)
	}
	if reason == "" {
		reason = CloseCompleted
	}
	is, _, err := w.c.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return false, fmt.Errorf("close %s/%s#%d: %w", owner, repo, number, err)
	}
	if is.GetState() == "closed" {
		return false, nil
	}
	r := string(reason)
	if _, _, err := w.c.Issues.Edit(ctx, owner, repo, number, &github.IssueRequest{State: github.String("closed"), StateReason: &r}); err != nil {
		return false, fmt.Errorf("close %s/%s#%d: %w", owner, repo, number, err)
	}
	w.log.InfoContext(ctx, "issue closed", "repo", owner+"/"+repo, "issue", number, "reason", r)
	return true, nil
}

// RemoveLabel takes label off issue (or PR) number, and reports whether it
// did. It reads the issue's labels first, so that a label already gone
// costs no write; one removed meanwhile (GitHub answers 404) is gone too.
func (w *Writer) RemoveLabel(ctx context.Context, owner, repo string, number int, label string) (bool, error) {
	has, err := w.hasLabel(ctx, owner, repo, number, label)
	if err != nil || !has {
		return false, err
	}
	// go-github puts the name into the path as it is; a label may hold
	// spaces, "?" or "#".
	_, err = w.c.Issues.RemoveLabelForIssue(ctx, owner, repo, number, url.PathEscape(label))
	switch {
	case isStatus(err, http.StatusNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("remove label %s from %s/%s#%d: %w", label, owner, repo, number, err)
	}
	w.log.InfoContext(ctx, "label removed", "repo", owner+"/"+repo, "issue", number, "label", label)
	return true, nil
}

func (w *Writer) hasLabel(ctx context.Context, owner, repo string, number int, label string) (bool, error) {
	for l, err := range w.issueLabels(ctx, owner, repo, number) {
		if err != nil {
			return false, fmt.Errorf("remove label %s from %s/%s#%d: list labels: %w", label, owner, repo, number, err)
		}
		if strings.EqualFold(l.GetName(), label) {
			return true, nil
		}
	}
	return false, nil
}
