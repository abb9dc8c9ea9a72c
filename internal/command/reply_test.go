package command

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/golden"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

func testRegistry(t *testing.T) *Registry[testConfig] {
	reg := NewRegistry[testConfig]()
	registerTestVerbs(t, reg)
	reg.Note("A comment on an incident that starts with `/timeline` adds an entry to its postmortem's timeline: `/timeline 09:35 rolled back`.")
	return reg
}

func TestHelp(t *testing.T) {
	golden.Assert(t, filepath.Join("testdata", "help.golden.md"), testRegistry(t).Help())
}

func TestReply(t *testing.T) {
	reg := testRegistry(t)
	cfg := testConfig{CoreTeam: "acme/core-sre"}
	stranger := Facts{Author: "sam", Association: NoAssociation}
	member := Facts{Author: "ann", Association: Member, Permission: PermWrite}
	for _, tc := range []struct {
		name  string
		body  string
		facts Facts
	}{
		{"reply-help", "/tasuki help", stranger},
		{"reply-unknown", "/tasuki frobnicate the thing", member},
		{"reply-mixed", "/tasuki nope\n/tasuki NOPE\n/tasuki handoff api\n/tasuki done A http://e\n/tasuki na B \"open\n/tasuki followup", member},
		{"reply-refused", "/tasuki handoff api\n/tasuki followup", stranger},
		{"reply-dropped", strings.Repeat("/tasuki followup\n", MaxCommands+2), member},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := reg.Plan(Parse(tc.body), cfg).Decide(tc.facts)
			body, ok := reg.Reply(plan, 4242)
			if !ok {
				t.Fatal("Reply said nothing")
			}
			golden.Assert(t, filepath.Join("testdata", tc.name+".golden.md"), body)
			if ms := marker.Find(body); len(ms) != 1 || !ReplyMarker(4242).In(body) {
				t.Errorf("reply markers = %v; want only %v", ms, ReplyMarker(4242))
			}
		})
	}
}

func TestReplyNothingToSay(t *testing.T) {
	reg := testRegistry(t)
	for _, body := range []string{"", "no commands here", "/tasuki followup\n/tasuki done A https://e"} {
		plan := reg.Plan(Parse(body), testConfig{}).Decide(Facts{Association: Owner, Permission: PermAdmin})
		if got, ok := reg.Reply(plan, 1); ok {
			t.Errorf("Reply(%q) = %q; want nothing", body, got)
		}
	}
}

func TestReplyEscapesTheComment(t *testing.T) {
	reg := NewRegistry[testConfig]()
	reg.MustRegister(Verb[testConfig]{Name: "handoff", Summary: "s",
		Handler: HandlerFunc(func(context.Context, Invocation) error { return nil }),
		RuleFor: func(c testConfig) Rule { return Rule{Teams: []string{c.CoreTeam}} }})
	// A configuration may name a team with markdown in it.
	cfg := testConfig{CoreTeam: "acme/<b>sre</b>"}
	for _, verb := range []string{
		"@everyone", "<!--", "x``y", "<img", "[a](https://evil)", "\u202eevil", "a-->b", "`",
	} {
		body := "/tasuki " + verb + "\n/tasuki handoff x"
		plan := reg.Plan(Parse(body), cfg).Decide(Facts{})
		got, ok := reg.Reply(plan, 7)
		if !ok {
			t.Fatalf("no reply to %q", body)
		}
		// The verb is shown in a code span, where GitHub neither pings,
		// links nor renders HTML; mdtext.Code makes the span hold.
		wantLine := "- " + mdtext.Code("/tasuki "+strings.ToLower(verb)) + " is not a tasuki command.\n"
		if !strings.HasPrefix(got, wantLine) {
			t.Errorf("reply to %q starts\n%q\nwant\n%q", body, got[:strings.IndexByte(got, '\n')+1], wantLine)
		}
		for _, bad := range []string{"<!--", "\u202e", "@acme", "<b>"} {
			if strings.Contains(strings.TrimSuffix(got, ReplyMarker(7).String()), bad) {
				t.Errorf("reply to %q contains %q:\n%s", body, bad, got)
			}
		}
		if ms := marker.Find(got); len(ms) != 1 {
			t.Errorf("reply to %q has markers %v; want one", body, ms)
		}
	}
}
