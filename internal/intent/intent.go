// Package intent is the one vocabulary of writes: a pure core (review,
// postmortem, onboarding) returns []Intent, and ghwrite.Writer.Execute carries
// them out idempotently. It imports no GitHub client, so a core can name
// every write it wants without depending on go-github; the writer converts
// at its edge (Annotation to go-github's check run annotation, NewIssue to
// an issue request).
package intent

import (
	"fmt"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Kind names one of the writes a core can ask for. The set is closed: the
// writer refuses any other kind.
type Kind string

// Intent kinds, each carried out by the ghwrite.Writer method named.
const (
	// UpsertComment makes tasuki's comment carrying Marker on Number say
	// Body (UpsertComment).
	UpsertComment Kind = "upsert-comment"
	// EnsureComment posts Body on Number unless tasuki's comment carrying
	// Marker is there (EnsureComment).
	EnsureComment Kind = "ensure-comment"
	// EnsureIssue opens Issue, carrying Marker, unless tasuki's issue
	// carrying Marker exists (EnsureIssue, looking as Lookup says).
	EnsureIssue Kind = "ensure-issue"
	// EditIssue brings Number to Edit (EditIssue).
	EditIssue Kind = "edit-issue"
	// AddLabels adds Labels to Number (AddLabels).
	AddLabels Kind = "add-labels"
	// RemoveLabels takes Labels off Number (RemoveLabel).
	RemoveLabels Kind = "remove-labels"
	// Close closes Number with Reason (CloseIssue).
	Close Kind = "close"
	// SetCheckRun sets CheckRun on its commit (UpsertCheckRun).
	SetCheckRun Kind = "check-run"
	// OpenPullRequest proposes PullRequest (OpenPullRequest).
	OpenPullRequest Kind = "open-pull-request"
	// RequestReviewers asks Reviewers and TeamReviewers for their review
	// of pull request Number, or, with Number 0, of the pull request an
	// OpenPullRequest earlier in the same batch proposed
	// (RequestReviewers).
	RequestReviewers Kind = "request-reviewers"
)

// Intent is one write a core wants, in terms of the repository it is
// about; the fields a kind does not use stay zero.
type Intent struct {
	Kind Kind
	// Number is the issue or PR written to (comments, edits, labels,
	// closing).
	Number int
	// Marker identifies the artefact across retries (comments, issues).
	Marker marker.Marker
	// Body is a comment's text.
	Body        string
	Issue       NewIssue
	Lookup      IssueLookup
	Edit        IssueEdit
	Labels      []string
	Reason      CloseReason
	CheckRun    CheckRun
	PullRequest PullRequest
	// Reviewers (logins) and TeamReviewers (team slugs of the repository's
	// organisation) are asked for a review (RequestReviewers).
	Reviewers     []string
	TeamReviewers []string
}

// NewIssue is an issue to open.
type NewIssue struct {
	Title     string
	Body      string
	Labels    []string
	Assignees []string
}

// IssueLookup says where the writer looks for an existing issue before it
// creates one.
type IssueLookup struct {
	// Label narrows the listing to issues carrying it (e.g. "postmortem").
	// Without it the listing step is skipped: listing every issue of a
	// repository is too costly.
	Label string
	// CreatedSince, when set, lists the issues each trusted login opened
	// that were updated since then (GitHub's creator and since filters),
	// newest first: for unlabelled artefacts whose earliest possible
	// creation time is known (follow-ups of a postmortem).
	CreatedSince time.Time
	// NoSearch skips the search API, which is eventually consistent and
	// rate limited separately (30 requests a minute).
	NoSearch bool
}

// CloseReason is why an issue is closed, as GitHub records it.
type CloseReason string

// Close reasons.
const (
	CloseCompleted  CloseReason = "completed"
	CloseNotPlanned CloseReason = "not_planned"
)

// Valid reports whether r is empty (the writer's default, completed) or
// one of GitHub's reasons.
func (r CloseReason) Valid() bool { return r == "" || r == CloseCompleted || r == CloseNotPlanned }

// IssueEdit is what an edit should make an issue say. Fields left nil or
// empty are not changed.
type IssueEdit struct {
	Title *string
	Body  *string
	// State is "open" or "closed"; Reason goes with "closed".
	State  string
	Reason CloseReason
	// Labels, when not nil, is the issue's whole set of labels afterwards
	// (compared without regard to case or order).
	Labels *[]string
	// Marker, when set, requires the issue to be tasuki's artefact carrying
	// it (written by a trusted login), else the edit fails; a new Body keeps
	// the marker.
	Marker marker.Marker
}

// CheckRun is the check run a feature wants on a commit.
type CheckRun struct {
	Name        string
	HeadSHA     string
	ExternalID  string // with Name and HeadSHA, identifies the run across retries
	Status      string // queued, in_progress, completed; implied completed by a Conclusion
	Conclusion  string // success, failure, neutral, action_required, ...
	Title       string
	Summary     string
	Text        string
	DetailsURL  string
	Annotations []Annotation
}

// Annotation is one finding shown on a line range of a file in a check
// run. Zero columns are not sent; GitHub takes columns only when the
// annotation is within one line.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
	Level       string // notice, warning or failure
	Title       string
	Message     string
	RawDetails  string
}

// PullRequest is a change tasuki proposes: files committed on a branch of
// the repository itself (never a fork), and a pull request from it.
type PullRequest struct {
	// Marker finds the PR again across retries; it is appended to Body.
	Marker marker.Marker
	// Head is the branch tasuki commits to, e.g. "tasuki/handoff-payments".
	Head string
	// Base is the branch to merge into; empty means the default branch.
	Base    string
	Title   string
	Body    string
	Message string // the commit message; empty means Title
	Files   []FileChange
	Draft   bool
}

// FileChange sets the content of one file, or deletes it.
type FileChange struct {
	Path    string
	Content []byte
	Delete  bool
}

// Validate reports what p lacks to be proposed.
func (p PullRequest) Validate() error {
	switch {
	case p.Marker == (marker.Marker{}):
		return fmt.Errorf("no marker")
	case p.Head == "":
		return fmt.Errorf("no head branch")
	case p.Title == "":
		return fmt.Errorf("no title")
	case len(p.Files) == 0:
		return fmt.Errorf("no file changes")
	}
	seen := map[string]bool{}
	for _, f := range p.Files {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.HasSuffix(f.Path, "/") || seen[f.Path] {
			return fmt.Errorf("file path %q is empty, absolute, a directory or given twice", f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

func (in Intent) String() string {
	switch in.Kind {
	case SetCheckRun:
		sha := in.CheckRun.HeadSHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		return fmt.Sprintf("%s %s@%s", in.Kind, in.CheckRun.Name, sha)
	case EnsureIssue, OpenPullRequest:
		m := in.Marker
		if in.Kind == OpenPullRequest {
			m = in.PullRequest.Marker
		}
		return fmt.Sprintf("%s %s key=%s", in.Kind, m.Kind, m.Key)
	}
	return fmt.Sprintf("%s #%d", in.Kind, in.Number)
}

// Validate reports what an intent of its kind lacks.
// CommentURL, as a check run's DetailsURL, links the run to the comment
// that an earlier intent of the same batch wrote: its page is known only
// once that comment exists.
const CommentURL = "tasuki:comment-url"

// Result is what one carried-out intent wrote or found: the artefact's ID
// (comment, issue number, check run, pull request number) and its page.
type Result struct {
	ID  int64
	URL string
}

func (in Intent) Validate() error {
	noMarker := in.Marker == (marker.Marker{})
	switch in.Kind {
	case UpsertComment, EnsureComment:
		if in.Number <= 0 || noMarker {
			return fmt.Errorf("%s needs a number and a marker", in.Kind)
		}
	case EnsureIssue:
		if noMarker || in.Issue.Title == "" {
			return fmt.Errorf("%s needs a marker and a title", in.Kind)
		}
	case EditIssue, Close:
		if in.Number <= 0 {
			return fmt.Errorf("%s needs a number", in.Kind)
		}
		if !in.Reason.Valid() || !in.Edit.Reason.Valid() {
			return fmt.Errorf("%s: close reason is not completed or not_planned", in.Kind)
		}
	case AddLabels, RemoveLabels:
		if in.Number <= 0 || len(in.Labels) == 0 {
			return fmt.Errorf("%s needs a number and labels", in.Kind)
		}
	case SetCheckRun:
		if in.CheckRun.Name == "" || in.CheckRun.HeadSHA == "" {
			return fmt.Errorf("%s needs a name and a head SHA", in.Kind)
		}
	case OpenPullRequest:
		return in.PullRequest.Validate()
	case RequestReviewers:
		if in.Number < 0 || len(in.Reviewers)+len(in.TeamReviewers) == 0 {
			return fmt.Errorf("%s needs reviewers and a pull request number (0: the batch's pull request)", in.Kind)
		}
	default:
		return fmt.Errorf("unknown intent kind %q", in.Kind)
	}
	return nil
}
