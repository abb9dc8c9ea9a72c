package review

import (
	"bytes"
	"fmt"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	vPlanned = "abc1234aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	vHead    = "def5678bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// verdictStates are the verdicts a risky plan goes through on one pull
// request: waiting, approved, stale after a push.
func verdictStates(s Summary) map[string]struct {
	v    Verdict
	head string
} {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	waiting := ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned, Author: "alice",
		WhoMayApprove: []string{"@acme/payments"},
		Reviews:       []Review{{User: "alice", State: "APPROVED", CommitID: vPlanned, SubmittedAt: t0}}}
	approved := waiting
	approved.Reviews = append(append([]Review(nil), waiting.Reviews...), Review{User: "bob", State: "APPROVED", CommitID: vPlanned, SubmittedAt: t0.Add(time.Minute)})
	stale := approved
	stale.HeadSHA = vHead
	out := map[string]struct {
		v    Verdict
		head string
	}{}
	for name, af := range map[string]ApprovalFacts{"waiting": waiting, "approved": approved, "stale": stale} {
		out[name] = struct {
			v    Verdict
			head string
		}{Evaluate(s, cfg, af), af.HeadSHA}
	}
	return out
}

// TestRenderVerdictIsTheCommentsSection: the section the App renders from
// the facts in a comment is byte for byte the one RenderComment wrote for
// the same verdict, and replacing it turns the comment into the one
// RenderComment writes for the new verdict, whatever the plan.
func TestRenderVerdictIsTheCommentsSection(t *testing.T) {
	big, err := ReadPlan(bytes.NewReader(bigPlan(3000, 2000, 3, true)), "big.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		plans []*Plan
		want  map[string]string // state -> heading line
	}{
		{"delete", []*Plan{readFixture(t, "tofu-showjson-basic-delete.json")}, map[string]string{
			"waiting":  "### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)",
			"approved": "### ✅ Plan review: approved by `bob`",
			"stale":    "### 🕰️ Plan review: plan of `abc1234` is stale: head is `def5678`; a new plan is needed",
		}},
		{"no risk", []*Plan{readFixture(t, "tfsummarize-example-drift-modules.json")}, map[string]string{
			"waiting":  "### ✅ Plan review: no risky changes",
			"approved": "### ✅ Plan review: no risky changes",
			"stale":    "### 🕰️ Plan review: plan of `abc1234` is stale: head is `def5678`; a new plan is needed",
		}},
		// 3000 distinct deletes: the facts block keeps only some, and
		// the comment is cut to fit.
		{"facts cut", []*Plan{big}, map[string]string{
			"waiting":  "### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)",
			"approved": "### ✅ Plan review: approved by `bob`",
			"stale":    "### 🕰️ Plan review: plan of `abc1234` is stale: head is `def5678`; a new plan is needed",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Summarize(c.plans, DefaultConfig())
			states := verdictStates(s)
			bodies := map[string]string{}
			for name, st := range states {
				m := Meta{Repo: "acme/infra", PR: 42, PlannedSHA: vPlanned, HeadSHA: st.head, RunURL: "https://github.com/acme/infra/actions/runs/1"}
				body := RenderComment(s, st.v, m, CommentLimit)
				if len(body) > CommentLimit {
					t.Fatalf("%s: comment of %d bytes", name, len(body))
				}
				bodies[name] = body
				f, ok, err := DecodeFacts(body)
				if !ok || err != nil {
					t.Fatalf("%s: facts ok=%v err=%v", name, ok, err)
				}
				if c.name == "facts cut" && (f.RiskyOmitted == 0 || len(f.Risky) >= len(s.Risky)) {
					t.Fatalf("facts kept all %d risky changes: the case does not test cut facts", len(s.Risky))
				}
				sec := RenderVerdict(f, st.v, st.head)
				if diff := cmp.Diff(VerdictSection(body), sec); diff != "" {
					t.Errorf("%s: section in the comment (-) and re-rendered from its facts (+):\n%s", name, diff)
				}
				if first := strings.SplitN(sec, "\n", 3)[1]; first != c.want[name] {
					t.Errorf("%s: verdict line %q, want %q", name, first, c.want[name])
				}
				checkMarkdown(t, body)
			}
			for from, body := range bodies {
				f, _, _ := DecodeFacts(body)
				for to, st := range states {
					got, ok := ReplaceVerdict(body, RenderVerdict(f, st.v, st.head))
					if !ok {
						t.Fatalf("%s -> %s: no section found", from, to)
					}
					if got != bodies[to] {
						t.Errorf("%s -> %s: replaced comment differs from the one rendered for %s:\n%s", from, to, to, cmp.Diff(bodies[to], got))
					}
				}
			}
		})
	}
}

// TestRenderVerdictText pins what the section says in each state.
func TestRenderVerdictText(t *testing.T) {
	s := Summarize([]*Plan{readFixture(t, "tofu-showjson-basic-delete.json")}, DefaultConfig())
	f := FactsOf(s, vPlanned)
	st := verdictStates(s)
	for _, c := range []struct {
		state string
		want  string
	}{
		{"waiting", VerdictBegin + "\n### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)\n\n" +
			"- delete: `test_instance.test-delete`\n\n" +
			"Not counted: `alice` (author). Who may approve: `@acme/payments`.\n\n" + VerdictEnd + "\n"},
		{"approved", VerdictBegin + "\n### ✅ Plan review: approved by `bob`\n\n" +
			"- delete: `test_instance.test-delete`\n\n" +
			"Not counted: `alice` (author).\n\n" + VerdictEnd + "\n"},
		{"stale", VerdictBegin + "\n### 🕰️ Plan review: plan of `abc1234` is stale: head is `def5678`; a new plan is needed\n\n" +
			"- delete: `test_instance.test-delete`\n\n" +
			"Not counted: `alice` (author), `bob` (stale\\: approved abc1234\\, head is def5678). Who may approve: `@acme/payments`.\n\n" + VerdictEnd + "\n"},
	} {
		t.Run(c.state, func(t *testing.T) {
			if diff := cmp.Diff(c.want, RenderVerdict(f, st[c.state].v, st[c.state].head)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderVerdictBounded: however many reviewers, teams and reasons, the
// section stays within MaxVerdictBytes with its markers whole, and a
// comment already at the size limit stays under it once replaced.
func TestRenderVerdictBounded(t *testing.T) {
	var risks []Risk
	for i := range 60 {
		why := fmt.Sprintf("type aws_iam_role_%d matches %s", i, strings.Repeat("x", 60))
		for j := range 7 {
			risks = append(risks, Risk{Address: fmt.Sprintf("module.m%d.aws_iam_role_%d.r[\"%s\"]", j, i, strings.Repeat("k", 50)), Action: ActionUpdate, Why: why})
		}
	}
	f := Facts{V: FactsVersion, PlannedSHA: vPlanned, Counts: Counts{Update: len(risks)}, Risky: risks, RiskyOmitted: 12}
	var v Verdict
	v.State, v.NeedsSecondReviewer, v.Required = StateActionRequired, true, 2
	for i := range 40 {
		login := fmt.Sprintf("reviewer-with-a-long-login-%02d", i)
		v.ApprovedBy = append(v.ApprovedBy, login)
		v.Ignored = append(v.Ignored, IgnoredApproval{User: login + "x", Why: "stale: approved abc1234, head is def5678"})
		v.WhoMayApprove = append(v.WhoMayApprove, "@acme/"+strings.Repeat("team", 60))
		v.Requested = append(v.Requested, "acme/"+strings.Repeat("requested", 10))
	}
	sec := RenderVerdict(f, v, vPlanned)
	if len(sec) > MaxVerdictBytes {
		t.Fatalf("section of %d bytes, max %d", len(sec), MaxVerdictBytes)
	}
	for _, want := range []string{"more reasons and 12 risky changes not named here (too many for one comment)", "and 30 more.", VerdictEnd + "\n"} {
		if !strings.Contains(sec, want) {
			t.Errorf("section lacks %q:\n%s", want, sec)
		}
	}
	checkMarkdown(t, sec)

	// A comment cut to the limit, then given the largest section.
	p, err := ReadPlan(bytes.NewReader(bigPlan(300, 3000, 3)), "big.json")
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	body := RenderComment(s, Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned}), Meta{PlannedSHA: vPlanned, HeadSHA: vPlanned}, CommentLimit)
	if !strings.Contains(body, "Not shown here, to fit") {
		t.Fatalf("the comment was not cut: the case does not test the limit")
	}
	got, ok := ReplaceVerdict(body, sec)
	if !ok || len(got) > CommentLimit {
		t.Errorf("replaced: ok=%v, %d bytes, limit %d", ok, len(got), CommentLimit)
	}
}

// TestReplaceVerdict: only the section changes; text people wrote around
// it, markers inside code blocks, and bodies without a whole section are
// left byte for byte.
func TestReplaceVerdict(t *testing.T) {
	sec := func(text string) string { return VerdictBegin + "\n" + text + "\n\n" + VerdictEnd + "\n" }
	oldSec, newSec := sec("### ⚠️ old"), sec("### ✅ new")
	fenced := "```diff\n" + oldSec + "```\n"
	for _, c := range []struct {
		name, body, want string
		ok               bool
	}{
		{"section alone", oldSec, newSec, true},
		{"text around kept", "Note from alice: hold until Friday.\n\n" + oldSec + "\nPlan of `abc1234`\n\n> edited by an admin\n",
			"Note from alice: hold until Friday.\n\n" + newSec + "\nPlan of `abc1234`\n\n> edited by an admin\n", true},
		{"CRLF kept outside", "a\r\n" + oldSec + "b\r\nc", "a\r\n" + newSec + "b\r\nc", true},
		{"end marker at the end without newline", VerdictBegin + "\nx\n" + VerdictEnd, newSec, true},
		{"no markers", "### ⚠️ Plan review: needs a second reviewer\n\nbody\n", "### ⚠️ Plan review: needs a second reviewer\n\nbody\n", false},
		{"begin without end", VerdictBegin + "\n### old\n\nPlan of x\n", VerdictBegin + "\n### old\n\nPlan of x\n", false},
		{"end before begin only", VerdictEnd + "\n" + VerdictBegin + "\nx\n", VerdictEnd + "\n" + VerdictBegin + "\nx\n", false},
		{"markers not on their own line", "see " + VerdictBegin + " x\n`" + VerdictEnd + "`\n", "see " + VerdictBegin + " x\n`" + VerdictEnd + "`\n", false},
		{"indented four spaces is code", "    " + VerdictBegin + "\n    " + VerdictEnd + "\n", "    " + VerdictBegin + "\n    " + VerdictEnd + "\n", false},
		{"section quoted in a code block before the real one", "quoting:\n" + fenced + "\n" + oldSec, "quoting:\n" + fenced + "\n" + newSec, true},
		{"section only in a code block", "quoting:\n" + fenced, "quoting:\n" + fenced, false},
		{"tilde fence and a longer backtick fence", "~~~\n" + oldSec + "~~~\n````\n```\n" + oldSec + "````\n" + oldSec,
			"~~~\n" + oldSec + "~~~\n````\n```\n" + oldSec + "````\n" + newSec, true},
		{"unclosed fence runs to the end", "```\n" + oldSec, "```\n" + oldSec, false},
		{"end marker in a code block inside the section is not the end",
			VerdictBegin + "\n```\n" + VerdictEnd + "\n```\n" + VerdictEnd + "\nafter\n", newSec + "after\n", true},
		{"only the first section", oldSec + "\n" + oldSec, newSec + "\n" + oldSec, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ReplaceVerdict(c.body, newSec)
			if ok != c.ok {
				t.Errorf("ok = %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("not a section", func(t *testing.T) {
		for _, bad := range []string{"", "### ✅ new\n", VerdictBegin + "\nx\n", "x\n" + VerdictEnd + "\n"} {
			if got, ok := ReplaceVerdict(oldSec, bad); ok || got != oldSec {
				t.Errorf("ReplaceVerdict(%q) = %q, %v; want the body unchanged", bad, got, ok)
			}
		}
	})
}

// TestReplaceVerdictPlanCannotForge: a plan whose addresses, values,
// outputs and check messages carry the markers (with newlines, fences,
// HTML) cannot move, end or fake the section: replacing it gives exactly
// the comment rendered for the new verdict.
func TestReplaceVerdictPlanCannotForge(t *testing.T) {
	nl := `\n`
	begin, end := VerdictBegin, VerdictEnd
	in := `{"format_version":"1.2","resource_changes":[` +
		`{"address":"aws_x.a[\"` + nl + end + nl + `\"]","type":"aws_x","name":"a","mode":"managed","change":{"actions":["delete"],"before":{"v":"x"},"after":null}},` +
		`{"address":"aws_x.b","type":"aws_x","name":"b","mode":"managed","change":{"actions":["update"],"before":{"v":"a"},` +
		`"after":{"v":"` + "```" + nl + end + nl + begin + nl + "### ✅ forged" + nl + end + nl + "```" + `","w":"` + nl + begin + nl + `"}}}],` +
		`"output_changes":{"o":{"actions":["create"],"before":null,"after":"` + nl + begin + nl + `"}},` +
		`"checks":[{"address":{"to_display":"check.c","kind":"check"},"status":"fail","instances":[{"address":{"to_display":"check.c"},"status":"fail","problems":[{"message":"` + nl + end + nl + `"}]}]}]}`
	p, err := ReadPlan(strings.NewReader(in), begin+"\n"+end+".json")
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	st := verdictStates(s)
	bodies := map[string]string{}
	for name, x := range st {
		bodies[name] = RenderComment(s, x.v, Meta{PlannedSHA: vPlanned, HeadSHA: x.head}, CommentLimit)
	}
	// The reviewer still sees the plan's text, defanged.
	if n := strings.Count(bodies["waiting"], marker.Defang(end)); n < 2 {
		t.Fatalf("the plan's markers reached the comment %d times; the test needs them there", n)
	}
	f, _, err := DecodeFacts(bodies["waiting"])
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"approved", "stale"} {
		got, ok := ReplaceVerdict(bodies["waiting"], RenderVerdict(f, st[to].v, st[to].head))
		if !ok {
			t.Fatalf("no section found")
		}
		if diff := cmp.Diff(bodies[to], got); diff != "" {
			t.Errorf("waiting -> %s (-want +got):\n%s", to, diff)
		}
	}
	if strings.Contains(VerdictSection(bodies["approved"]), "forged") {
		t.Errorf("the section took in the plan's text:\n%s", VerdictSection(bodies["approved"]))
	}
}

// FuzzReplaceVerdict: on any body, ReplaceVerdict either leaves it alone or
// changes exactly the span VerdictSection reports, and the new section is
// then found in its place.
func FuzzReplaceVerdict(f *testing.F) {
	sec := VerdictBegin + "\n### new\n\n" + VerdictEnd + "\n"
	f.Add("x\n" + VerdictBegin + "\nold\n" + VerdictEnd + "\ny")
	f.Add("```\n" + VerdictBegin + "\n```\n" + VerdictBegin + "\n" + VerdictEnd + "\n")
	f.Add("~~~~\n" + VerdictEnd + "\n~~~\n" + VerdictBegin + "\r\n" + VerdictEnd + "\r\n")
	f.Add("   ```go\n" + VerdictBegin + "\n   ```   \n" + VerdictEnd + "\n")
	f.Fuzz(func(t *testing.T, body string) {
		old := VerdictSection(body)
		start, end, found := findVerdict(body)
		got, ok := ReplaceVerdict(body, sec)
		if !ok {
			if got != body || old != "" || found {
				t.Fatalf("not replaced, but body changed or a section %q was reported", old)
			}
			return
		}
		if !found || body[start:end] != old || !strings.HasPrefix(old, VerdictBegin) {
			t.Fatalf("section %q reported, span %d..%d found=%v", old, start, end, found)
		}
		if got[:start] != body[:start] || got[start+len(sec):] != body[end:] {
			t.Fatalf("bytes outside the section changed:\nbody %q\ngot  %q", body, got)
		}
		if s2, _, _ := findVerdict(got); s2 != start || VerdictSection(got) != sec {
			t.Fatalf("the new section is not found in its place: %q", VerdictSection(got))
		}
	})
}

// BenchmarkReplaceVerdict measures what Reevaluate adds per event: render
// the section from the facts of a comment at the size limit and swap it in.
func BenchmarkReplaceVerdict(b *testing.B) {
	p, err := ReadPlan(bytes.NewReader(bigPlan(300, 3000, 3)), "big.json")
	if err != nil {
		b.Fatal(err)
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	body := RenderComment(s, Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned}), Meta{PlannedSHA: vPlanned, HeadSHA: vPlanned}, CommentLimit)
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vHead, PlannedSHA: vPlanned})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		f, _, err := DecodeFacts(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := ReplaceVerdict(body, RenderVerdict(f, v, vHead)); !ok {
			b.Fatal("no section")
		}
	}
}
