package ghwrite_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

const tmplIssueLabel = "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"

func labelNames(is *github.Issue) []string {
	var out []string
	for _, l := range is.Labels {
		out = append(out, l.GetName())
	}
	return out
}

func TestEditIssue(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem", "acme/api#7")
	tests := []struct {
		name      string
		edit      ghwrite.IssueEdit
		wantWrite bool
		wantSent  string // the PATCH body
		wantErr   error
	}{
		{"nothing changes", ghwrite.IssueEdit{Title: github.String("Postmortem"), Body: github.String("## Summary"),
			State: "open", Labels: &[]string{"Postmortem", "sev2"}, Marker: m}, false, "", nil},
		{"only the title is sent", ghwrite.IssueEdit{Title: github.String("Postmortem: API outage"), Body: github.String("## Summary"), Marker: m},
			true, `{"title":"Postmortem: API outage"}`, nil},
		{"body keeps the marker", ghwrite.IssueEdit{Body: github.String("## Summary\n\nMore."), Marker: m},
			true, `{"body":"## Summary\n\nMore.\n\n` + m.String() + `"}`, nil},
		{"labels as a set", ghwrite.IssueEdit{Labels: &[]string{"postmortem"}}, true, `{"labels":["postmortem"]}`, nil},
		{"closed as not planned", ghwrite.IssueEdit{State: "closed", Reason: ghwrite.CloseNotPlanned}, true,
			`{"state":"closed","state_reason":"not_planned"}`, nil},
		{"another marker", ghwrite.IssueEdit{Body: github.String("x"), Marker: marker.New("postmortem", "acme/api#8")}, false, "", ghwrite.ErrNotOurs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, w := setup(t)
			is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Postmortem"), Body: github.String("## Summary\n\n" + m.String()),
				User: &github.User{Login: github.String("tasuki[bot]")}, Labels: []*github.Label{{Name: github.String("postmortem")}, {Name: github.String("sev2")}}})
			srv.ResetCalls()
			_, wrote, err := w.EditIssue(ctx, "acme", "api", is.GetNumber(), tt.edit)
			if !errors.Is(err, tt.wantErr) || wrote != tt.wantWrite {
				t.Fatalf("wrote=%v err=%v; want %v, %v", wrote, err, tt.wantWrite, tt.wantErr)
			}
			var sent []string
			for _, c := range srv.Calls() {
				if c.Method == "PATCH" {
					sent = append(sent, string(c.Body))
				}
			}
			var want []string
			if tt.wantSent != "" {
				want = []string{tt.wantSent + "\n"}
			}
			if diff := cmp.Diff(want, sent); diff != "" {
				t.Errorf("PATCH bodies (-want +got):\n%s", diff)
			}
		})
	}
}

// Someone else's issue carrying the marker is not tasuki's to edit.
func TestEditIssueNotOurs(t *testing.T) {
	m := marker.New("postmortem", "acme/api#7")
	srv, w := setup(t)
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("copy"), Body: github.String(m.String()), User: &github.User{Login: github.String("mallory")}})
	_, _, err := w.EditIssue(context.Background(), "acme", "api", is.GetNumber(), ghwrite.IssueEdit{Body: github.String("x"), Marker: m})
	if !errors.Is(err, ghwrite.ErrNotOurs) || srv.WriteCount() != 0 {
		t.Errorf("err = %v, %d writes; want ErrNotOurs and none", err, srv.WriteCount())
	}
}

func TestCloseIssue(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Postmortem")})
	closed, err := w.CloseIssue(ctx, "acme", "api", is.GetNumber(), ghwrite.CloseNotPlanned)
	if err != nil || !closed {
		t.Fatalf("closed=%v err=%v", closed, err)
	}
	got := srv.Issue("acme/api", is.GetNumber())
	if got.GetState() != "closed" || got.GetStateReason() != "not_planned" {
		t.Errorf("state %s (%s), want closed (not_planned)", got.GetState(), got.GetStateReason())
	}
	// A retry, even with another reason, leaves the closed issue alone.
	if closed, err := w.CloseIssue(ctx, "acme", "api", is.GetNumber(), ghwrite.CloseCompleted); err != nil || closed {
		t.Errorf("retry: closed=%v err=%v, want no write", closed, err)
	}
	if n := srv.CallCount("PATCH", tmplIssue); n != 1 {
		t.Errorf("%d edits, want 1", n)
	}
	if _, err := w.CloseIssue(ctx, "acme", "api", is.GetNumber(), "wontfix"); err == nil {
		t.Error("an unknown reason was accepted")
	}
}

func TestRemoveLabel(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Outage"),
		Labels: []*github.Label{{Name: github.String("incident")}, {Name: github.String("needs review")}, {Name: github.String("sev2")}}})
	for i, want := range []bool{true, false} { // the second time the label is gone: no write
		removed, err := w.RemoveLabel(ctx, "acme", "api", is.GetNumber(), "Needs Review")
		if err != nil || removed != want {
			t.Fatalf("attempt %d: removed=%v err=%v, want %v", i, removed, err, want)
		}
	}
	if n := srv.CallCount("DELETE", tmplIssueLabel); n != 1 {
		t.Errorf("%d DELETEs, want 1", n)
	}
	// Removed by someone between the read and the write: GitHub's 404 means
	// it is gone.
	srv.Inject("DELETE", tmplIssueLabel, 404, nil)
	if removed, err := w.RemoveLabel(ctx, "acme", "api", is.GetNumber(), "sev2"); err != nil || removed {
		t.Errorf("after a 404: removed=%v err=%v, want false and no error", removed, err)
	}
	srv.Inject("DELETE", tmplIssueLabel, 500, nil)
	if _, err := w.RemoveLabel(ctx, "acme", "api", is.GetNumber(), "incident"); err == nil {
		t.Error("a 500 was taken for success")
	}
	if diff := cmp.Diff([]string{"incident", "sev2"}, labelNames(srv.Issue("acme/api", is.GetNumber()))); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}
