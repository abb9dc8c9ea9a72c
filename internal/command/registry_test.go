package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testConfig stands for the shell's configuration type.
type testConfig struct{ CoreTeam string }

// ran records the handlers called, as "verb arg arg".
type ran []string

func (r *ran) handler() Handler {
	return HandlerFunc(func(_ context.Context, inv Invocation) error {
		*r = append(*r, strings.TrimSpace(inv.Call.Name+" "+strings.Join(inv.Call.Args, " ")))
		return nil
	})
}

func registerTestVerbs(t *testing.T, reg *Registry[testConfig]) *ran {
	t.Helper()
	r := &ran{}
	for _, v := range []Verb[testConfig]{
		{Name: "followup", Aliases: []string{"follow-up"}, Summary: "open an issue for each unchecked action item of this postmortem",
			Rule: Rule{Associations: Insiders}, Handler: r.handler()},
		{Name: "done", Args: "ITEM-ID URL", Summary: "tick a manual onboarding item with evidence",
			Rule: Rule{Permission: PermWrite, IssueAuthor: true}, Handler: r.handler(),
			Check: func(args []string) error {
				if len(args) != 2 {
					return fmt.Errorf("give the item and the evidence URL")
				}
				if !strings.HasPrefix(args[1], "https://") {
					return fmt.Errorf("the evidence must be an https URL, not %s", args[1])
				}
				return nil
			}},
		{Name: "na", Args: `ITEM-ID "REASON"`, Summary: "mark an onboarding item as not applicable, with the reason",
			Rule: Rule{Permission: PermWrite}, Handler: r.handler()},
		{Name: "handoff", Args: "SERVICE", Summary: "start the handoff of a service to its team",
			RuleFor: func(c testConfig) Rule { return Rule{Teams: []string{c.CoreTeam}} }, Handler: r.handler()},
		{Name: "deploy", Summary: "record a deployment", Rule: Rule{Teams: []string{"acme/platform"}}, Handler: r.handler()},
	} {
		if err := reg.Register(v); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestRegister(t *testing.T) {
	h := HandlerFunc(func(context.Context, Invocation) error { return nil })
	ok := Rule{Anyone: true}
	for _, tc := range []struct {
		name string
		verb Verb[testConfig]
		err  string
	}{
		{"fine", Verb[testConfig]{Name: "x-1", Summary: "s", Rule: ok, Handler: h}, ""},
		{"upper case", Verb[testConfig]{Name: "Done", Summary: "s", Rule: ok, Handler: h}, "name must match"},
		{"space", Verb[testConfig]{Name: "a b", Summary: "s", Rule: ok, Handler: h}, "name must match"},
		{"help is taken", Verb[testConfig]{Name: "help", Summary: "s", Rule: ok, Handler: h}, "name taken"},
		{"alias taken", Verb[testConfig]{Name: "y", Aliases: []string{"help"}, Summary: "s", Rule: ok, Handler: h}, "name taken"},
		{"alias twice", Verb[testConfig]{Name: "y", Aliases: []string{"y"}, Summary: "s", Rule: ok, Handler: h}, "given twice"},
		{"no summary", Verb[testConfig]{Name: "y", Rule: ok, Handler: h}, "summary must be one line"},
		{"two-line summary", Verb[testConfig]{Name: "y", Summary: "a\nb", Rule: ok, Handler: h}, "summary must be one line"},
		{"backtick in args", Verb[testConfig]{Name: "y", Args: "`X`", Summary: "s", Rule: ok, Handler: h}, "args must be"},
		{"no handler", Verb[testConfig]{Name: "y", Summary: "s", Rule: ok}, "no handler"},
		{"no rule", Verb[testConfig]{Name: "y", Summary: "s", Handler: h}, "no one could run it"},
		{"rule from config", Verb[testConfig]{Name: "y", Summary: "s", Handler: h, RuleFor: func(testConfig) Rule { return Rule{} }}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewRegistry[testConfig]().Register(tc.verb)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Register = %v; want error containing %q", err, tc.err)
			}
		})
	}
}

// decided is a call as the tests write it.
type decided struct {
	Name   string
	Verb   string
	Status Status
	Reason string
}

func TestPlanDecide(t *testing.T) {
	reg := NewRegistry[testConfig]()
	registerTestVerbs(t, reg)
	cfg := testConfig{CoreTeam: "acme/core-sre"}
	member := Facts{Author: "ann", Association: Member, IssueAuthor: "ann", Permission: PermWrite, Teams: map[string]bool{"acme/core-sre": true}}
	stranger := Facts{Author: "sam", Association: NoAssociation, IssueAuthor: "ann", Teams: map[string]bool{}}
	for _, tc := range []struct {
		name  string
		body  string
		facts Facts
		want  []decided
	}{
		{"help", "/tasuki help", stranger, []decided{{"help", "help", Accepted, "anyone may run it"}}},
		{"bare is help", "/tasuki", stranger, []decided{{"help", "", Accepted, "anyone may run it"}}},
		{"help ignores its arguments", `/tasuki help "me`, stranger, []decided{{"help", "help", Accepted, "anyone may run it"}}},
		{"unknown", "/tasuki Frobnicate now", member, []decided{{"", "frobnicate", Unknown, "unknown command"}}},
		{"alias", "/tasuki Follow-Up", member, []decided{{"followup", "follow-up", Accepted, "author association MEMBER"}}},
		{"refused by association", "/tasuki followup", stranger, []decided{{"followup", "followup", Refused,
			"only the repository owner, organisation members, collaborators or earlier contributors may run this command"}}},
		{"team from config", "/tasuki handoff api", member, []decided{{"handoff", "handoff", Accepted, "member of @acme/core-sre"}}},
		{"refused by team", "/tasuki handoff api", stranger, []decided{{"handoff", "handoff", Refused, "only members of @acme/core-sre may run this command"}}},
		{"check fails", "/tasuki done A http://e", member, []decided{{"done", "done", Invalid, "the evidence must be an https URL, not http://e"}}},
		{"parse error", `/tasuki na A "open`, member, []decided{{"na", "na", Invalid, `a " quote is not closed`}}},
		{"refusal before argument errors", "/tasuki done A", stranger, []decided{{"done", "done", Refused,
			"only people with write permission or more or the issue's author may run this command"}}},
		{"issue author", "/tasuki done A https://e", Facts{Author: "sam", Association: NoAssociation, IssueAuthor: "Sam"},
			[]decided{{"done", "done", Accepted, "author of the issue"}}},
		{"several in order", "/tasuki done A https://e\n/tasuki deploy\n/tasuki na B \"no db\"", member, []decided{
			{"done", "done", Accepted, "author of the issue"},
			{"deploy", "deploy", Refused, "only members of @acme/platform may run this command"},
			{"na", "na", Accepted, "write permission on the repository"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := reg.Plan(Parse(tc.body), cfg)
			got := plan.Decide(tc.facts)
			var calls []decided
			for _, c := range got.Calls {
				calls = append(calls, decided{c.Name, c.Verb, c.Status, c.Reason})
			}
			if diff := cmp.Diff(tc.want, calls); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			for _, c := range plan.Calls {
				if c.Status != Undecided && c.Status != Unknown {
					t.Errorf("Decide changed the plan it was called on: %v", c.Status)
				}
			}
		})
	}
}

func TestRunnable(t *testing.T) {
	reg := NewRegistry[testConfig]()
	r := registerTestVerbs(t, reg)
	body := "/tasuki help\n/tasuki done A https://e\n/tasuki nope\n/tasuki deploy\n/tasuki na B \"no database here\"\n/tasuki followup"
	plan := reg.Plan(Parse(body), testConfig{}).Decide(Facts{Author: "ann", Association: Collaborator, Permission: PermWrite})
	where := Where{Owner: "acme", Repo: "api", Issue: 7, CommentID: 99, Author: "ann"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range plan.Runnable() {
		if err := c.Handler.Run(context.Background(), Invocation{Call: c, Where: where, Log: log}); err != nil {
			t.Fatal(err)
		}
	}
	want := ran{"done A https://e", "na B no database here", "followup"}
	if diff := cmp.Diff(want, *r); diff != "" {
		t.Errorf("handlers run (-want +got):\n%s", diff)
	}
}

func TestHandlerError(t *testing.T) {
	boom := errors.New("boom")
	reg := NewRegistry[testConfig]()
	reg.MustRegister(Verb[testConfig]{Name: "fail", Summary: "fails", Rule: Rule{Anyone: true},
		Handler: HandlerFunc(func(context.Context, Invocation) error { return boom })})
	calls := reg.Plan(Parse("/tasuki fail"), testConfig{}).Decide(Facts{}).Runnable()
	if len(calls) != 1 {
		t.Fatalf("Runnable = %d calls; want 1", len(calls))
	}
	if err := calls[0].Handler.Run(context.Background(), Invocation{Call: calls[0]}); !errors.Is(err, boom) {
		t.Errorf("Run = %v; want %v", err, boom)
	}
}

func TestShouldRun(t *testing.T) {
	for action, want := range map[string]bool{"created": true, "edited": false, "deleted": false, "": false, "Created": false} {
		if got := ShouldRun(action); got != want {
			t.Errorf("ShouldRun(%q) = %v; want %v", action, got, want)
		}
	}
}
