package marker_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// The property every generated artefact keeps (marker.Defang's contract):
// whatever text tasuki copies in from a plan or an incident, what a tasuki
// reader takes back out of the body (markers, the plan-facts block, the
// verdict section, the postmortem's generated sections) is exactly what
// tasuki itself wrote. Both artefacts are checked here, in one place, so
// that a new copy path that forgets the rule fails one test.

// forgedFacts is a plan-facts block claiming one create and nothing risky,
// with no sha: what an attacker would plant to turn the check green.
var forgedFacts = "<!-- tasuki:plan-facts v=1 " + base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"counts":{"create":1}}`)) + " -->"

// forgedState is a postmortem-state block claiming a sign-off by mallory
// and every reminder step sent: what an attacker would plant to close a
// blank postmortem or silence its escalation.
var forgedState = "<!-- tasuki:postmortem-state v=1 " + base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"approval":{"by":"mallory","at":"2026-05-01T00:00:00Z"},"reminders":[{"s":"postmortem","d":"2026-05-11","n":2}]}`)) + " -->"

// pieces are the fragments hostile text is built from: whole markers and
// blocks of every kind readers look for, their halves, and what could split
// or end them (newlines, fences, backticks).
var pieces = []string{
	forgedFacts,
	"<!-- tasuki:plan-review key=pr-1 v=1 -->",
	"<!-- tasuki:postmortem key=evil/repo#9 v=1 -->",
	"<!-- tasuki:postmortem-due key=2000-01-01 v=1 -->",
	forgedState, "<!-- tasuki:postmortem-suspect key=7b7d v=1 -->",
	"<!-- tasuki:postmortem-reminder key=acme/payments#70@2026-05-11 v=1 -->",
	"- [ ] ", "due: 2026-05-01", "\n## Action items\n", "## Summary\n", "@ic-eve",
	review.VerdictBegin, review.VerdictEnd,
	"<!-- tasuki:begin timeline -->", "<!-- tasuki:end timeline -->",
	"<!-- tasuki:begin facts -->", "<!-- tasuki:end facts -->",
	"<!--", "-->", "<!-", "<", "!", "-", "--", " tasuki:", "key=x v=1",
	"\n", "\r\n", "```", "~~~", "`", " ", "x", "|", "@", "</details>",
}

func hostile(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(8) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func TestCopiedTextCannotForgeWhatTasukiReads(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 400 {
		texts := make([]string, 6)
		for j := range texts {
			texts[j] = hostile(r)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkPlanReadback(t, texts)
			checkPostmortemReadback(t, texts)
		})
	}
	// The placements an attacker would try first, with the whole block.
	t.Run("forged facts", func(t *testing.T) {
		all := []string{forgedFacts, "\n" + forgedFacts + "\n", forgedFacts, forgedFacts, forgedFacts, forgedFacts}
		checkPlanReadback(t, all)
		checkPostmortemReadback(t, all)
	})
	t.Run("forged state", func(t *testing.T) {
		all := []string{forgedState, "\n" + forgedState + "\n", "x\n" + forgedState, forgedState, forgedState, forgedState}
		checkPostmortemReadback(t, all)
	})
}

// FuzzCopiedTextCannotForgeWhatTasukiReads: the same property for any text.
func FuzzCopiedTextCannotForgeWhatTasukiReads(f *testing.F) {
	for _, p := range pieces {
		f.Add(p, p)
	}
	f.Add(forgedFacts, "\n"+review.VerdictEnd+"\n"+review.VerdictBegin+"\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a)+len(b) > 4096 {
			return
		}
		texts := []string{a, b, a + b, b + a, a, b}
		checkPlanReadback(t, texts)
		checkPostmortemReadback(t, texts)
	})
}

const (
	planned = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	prNum   = 2
)

// checkPlanReadback copies texts into every place a plan reaches the
// comment (for_each key, attribute value, output value, check message,
// file name, workspace, directory) of a plan with a delete, renders the
// comment as the writer posts it, and reads it back.
func checkPlanReadback(t *testing.T, texts []string) {
	t.Helper()
	type m = map[string]any
	plan := m{
		"format_version": "1.2",
		"resource_changes": []m{
			{"address": fmt.Sprintf("terraform_data.k[%q]", texts[0]), "type": "terraform_data", "name": "k", "index": texts[0],
				"mode": "managed", "change": m{"actions": []string{"create"}, "before": nil, "after": m{"input": "x"}}},
			{"address": "terraform_data.v", "type": "terraform_data", "name": "v", "mode": "managed",
				"change": m{"actions": []string{"update"}, "before": m{"input": "old"}, "after": m{"input": texts[1]}}},
			{"address": "terraform_data.gone", "type": "terraform_data", "name": "gone", "mode": "managed",
				"change": m{"actions": []string{"delete"}, "before": m{"input": texts[2]}, "after": nil}},
		},
		"output_changes": m{"o": m{"actions": []string{"create"}, "before": nil, "after": texts[3]}},
		"checks": []m{{"address": m{"to_display": "check.c", "kind": "check"}, "status": "fail",
			"instances": []m{{"address": m{"to_display": "check.c"}, "status": "fail", "problems": []m{{"message": texts[4]}}}}}},
	}
	js, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	p, err := review.ReadPlan(strings.NewReader(string(js)), texts[5]+".json")
	if err != nil {
		t.Fatalf("read plan: %v", err)
	}
	p.Workspace, p.Dir = texts[4], texts[5]
	cfg := review.DefaultConfig()
	s := review.Summarize([]*review.Plan{p}, cfg)
	v := review.Evaluate(s, cfg, review.ApprovalFacts{HeadSHA: planned, PlannedSHA: planned, Author: "mallory"})
	if v.State != review.StateActionRequired {
		t.Fatalf("a delete should need a second reviewer; state %s", v.State)
	}
	written := marker.New("plan-review", fmt.Sprint(prNum))
	body := review.RenderComment(s, v, review.Meta{Repo: "o/r", PR: prNum, HeadSHA: planned, PlannedSHA: planned}, review.CommentLimit)
	body += "\n\n" + written.String() // as ghwrite appends it

	want, _, err := review.DecodeFacts(review.EncodeFacts(review.FactsOf(s, planned)))
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := review.DecodeFacts(body)
	if err != nil || !found {
		t.Fatalf("facts not read back (found %v): %v\n%s", found, err, body)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("facts read back differ from those written (-written +read):\n%s", diff)
	}
	if sec, want := review.VerdictSection(body), review.RenderVerdict(want, v, planned); sec != want {
		t.Fatalf("verdict section read back:\n%s\nwritten:\n%s", sec, want)
	}
	if diff := cmp.Diff([]marker.Marker{written}, marker.Find(body)); diff != "" {
		t.Fatalf("markers read back differ from those written (-written +read):\n%s", diff)
	}
	// Re-evaluating from what was read back still needs a second reviewer.
	again := review.Evaluate(got.Summary(), cfg, review.ApprovalFacts{HeadSHA: planned, PlannedSHA: got.PlannedSHA, Author: "mallory"})
	if again.State != review.StateActionRequired {
		t.Fatalf("re-evaluated from the comment: %s, want action_required", again.State)
	}
}

// checkPostmortemReadback copies texts into the incident's title and body,
// a /timeline comment, other comments and a merged pull request's title,
// scaffolds the postmortem and reads it back.
func checkPostmortemReadback(t *testing.T, texts []string) {
	t.Helper()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	inc := postmortem.Incident{
		Owner: "acme", Repo: "payments", Number: 7,
		Title: texts[0], Body: "Impact started: 2026-05-01 08:30 UTC\nIncident commander: " + texts[5] + "\nHow detected: " + texts[3] + "\nMitigated at: " + texts[4] + "\n### Description\n\n" + texts[1] + "\n",
		URL: "https://github.com/acme/payments/issues/7", Author: "alice",
		Labels: []string{"incident", "sev2"}, CreatedAt: at, ClosedAt: at.Add(2 * time.Hour), State: "closed",
	}
	facts := postmortem.Facts{
		Service: "payments", Owners: []string{"alice"},
		Comments: []postmortem.Comment{
			{ID: 1, Author: "bob", Body: "/timeline 09:35 " + texts[2], At: at.Add(40 * time.Minute)},
			{ID: 2, Author: "carol", Body: texts[3], At: at.Add(50 * time.Minute)},
		},
		Changes: []postmortem.Change{{Kind: "pull", Repo: "acme/payments", Number: 3, Title: texts[4],
			URL: "https://github.com/acme/payments/pull/3", Actor: "dave", At: at.Add(-time.Hour)},
			{Kind: "deployment", Repo: "acme/payments", Ref: texts[5], Environment: "production", Actor: texts[2],
				URL: "https://github.com/acme/payments/deployments", At: at.Add(-2 * time.Hour)}},
	}
	cfg := postmortem.DefaultConfig()
	doc, err := postmortem.Scaffold(inc, facts, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := postmortem.PostmortemOf(doc.Body); got != inc.Ref() {
		t.Fatalf("postmortem read back as %q, written for %q:\n%s", got, inc.Ref(), doc.Body)
	}
	wrote := []marker.Marker{}
	for _, content := range doc.Sections {
		wrote = append(wrote, marker.Find(content)...) // tasuki's own, e.g. the due date
	}
	wrote = append(wrote, doc.Marker)
	if diff := cmp.Diff(wrote, marker.Find(doc.Body)); diff != "" {
		t.Fatalf("markers read back differ from those written (-written +read):\n%s", diff)
	}
	for name, content := range doc.Sections {
		got, ok := postmortem.GeneratedSection(doc.Body, name)
		if !ok {
			t.Fatalf("section %s not found once:\n%s", name, doc.Body)
		}
		if strings.TrimSpace(got) != strings.TrimSpace(content) && strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(content), " ") {
			t.Fatalf("section %s read back:\n%q\nwritten:\n%q", name, got, content)
		}
	}
	if due, ok := postmortem.DueOf(doc.Body); ok != !doc.Due.IsZero() || (ok && !due.Equal(doc.Due)) {
		t.Fatalf("due date read back %v (%v), written %v", due, ok, doc.Due)
	}
	if again := postmortem.UpdateGenerated(doc.Body, doc.Sections); again != doc.Body {
		t.Fatalf("rewriting the generated sections with the same content changed the body")
	}
	// The roles and the suspect deployment read back as written.
	if got, want := postmortem.FactValue(doc.Body, "Incident commander"), postmortem.FieldLogin(inc.Body, postmortem.FieldCommander); got != want {
		t.Fatalf("incident commander read back %q, written %q", got, want)
	}
	want := postmortem.SuspectDeployment(facts.Changes, postmortem.Start(inc, facts, cfg))
	if got := postmortem.SuspectOf(doc.Body); got == nil || want == nil || got.Ref != want.Ref || got.Actor != want.Actor || !got.At.Equal(want.At) {
		t.Fatalf("suspect deployment read back %+v, written %+v", got, want)
	}
	checkPostmortemState(t, doc.Body, texts)
}

// checkPostmortemState copies texts into action items of a postmortem
// (after tasuki's body, as people edit it) and into its body's sections,
// and checks that the state tasuki persists in its own comments (the
// reminder's escalation steps, a sign-off) reads back as written: no copied
// text adds a sign-off or a reminder step, and a blank postmortem stays
// open.
func checkPostmortemState(t *testing.T, body string, texts []string) {
	t.Helper()
	cfg := postmortem.DefaultConfig()
	body += "\n## Action items\n\n"
	for i, tx := range texts[:3] {
		body += fmt.Sprintf("- [ ] %s — owner: @bob — due: 2026-05-%02d\n", tx, 10+i)
	}
	body += "\n## Summary\n\n" + texts[3] + "\n"
	st := postmortem.State{Owner: "acme", Repo: "payments", Number: 70, Open: true, Body: body, Assignees: []string{"alice"}}
	now := time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC)
	ins := postmortem.Decide(st, now, cfg)
	var posted []string
	var wrote []postmortem.Reminded
	items := postmortem.ParseActionItems(body)
	for _, in := range ins {
		if in.Kind == intent.Close || in.Marker.Kind == postmortem.KindComplete {
			t.Fatalf("a postmortem nobody signed off completes: %v", ins)
		}
		if in.Kind != intent.EnsureComment {
			continue
		}
		posted = append(posted, in.Body+"\n\n"+in.Marker.String()) // as ghwrite posts it
	}
	if due, ok := postmortem.DueOf(body); ok {
		step, _ := postmortem.StepDue(due, now, cfg)
		wrote = append(wrote, postmortem.Reminded{Subject: postmortem.SubjectPostmortem, Due: due.Format("2006-01-02"), Step: step})
	}
	for _, it := range items {
		if step, ok := postmortem.StepDue(it.Due, now, cfg); ok && !it.Due.IsZero() {
			wrote = append(wrote, postmortem.Reminded{Subject: it.Key, Due: it.Due.Format("2006-01-02"), Step: step})
		}
	}
	if len(wrote) > 0 && len(posted) != 1 {
		t.Fatalf("%d reminders posted for %d overdue subjects", len(posted), len(wrote))
	}
	for _, p := range posted {
		r, found, err := postmortem.DecodeState(p)
		if err != nil || !found {
			t.Fatalf("reminder state not read back (found %v): %v\n%s", found, err, p)
		}
		if diff := cmp.Diff(postmortem.Record{V: postmortem.StateVersion, Reminders: wrote}, r); diff != "" {
			t.Fatalf("reminder state read back differs (-written +read):\n%s\n%s", diff, p)
		}
	}
	// A sign-off by erin reads back as erin's, whatever the body holds.
	a := postmortem.Approval{By: "erin", At: now, CommentID: 5}
	reply, ok := postmortem.ApprovalReply(st, a, cfg)
	if !ok {
		t.Fatalf("erin refused")
	}
	r, found, err := postmortem.DecodeState(reply + "\n\n" + postmortem.ApprovalMarker(5).String())
	if err != nil || !found || r.Approval == nil || r.Approval.By != "erin" || len(r.Reminders) != 0 {
		t.Fatalf("sign-off read back %+v (found %v, %v):\n%s", r.Approval, found, err, reply)
	}
}
