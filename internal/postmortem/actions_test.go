package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

const itemsBody = "## Summary\n\n- [ ] not an item, wrong section\n\n" +
	"## Action items\n\n" +
	"<!--\n- [ ] example in a comment — owner: @x\n-->\n" +
	"- [ ] Alert on queue depth — owner: @alice — type: prevent — #12\n" +
	"- [x] Roll back faster [mitigate] @bob\n" +
	"* [X] Runbook update — type: process — https://github.com/acme/docs/issues/7\n" +
	"- [ ] Load test checkout — acme/perf#3\n" +
	"- [ ] Write the retry budget doc\r\n" +
	"- [ ] \n" +
	"```\n- [ ] in code\n```\n" +
	"  - [ ] nested item owner:carol type: Mitigate\n" +
	"### Later\n\n- [ ] subsection item\n\n" +
	"## Lessons\n\n- [ ] not an item either\n"

func TestParseActionItems(t *testing.T) {
	got := ParseActionItems(itemsBody)
	want := []ActionItem{
		{Line: 9, Text: "Alert on queue depth — owner: @alice — type: prevent — #12", Owner: "alice", Type: "prevent", Issue: IssueRef{Number: 12}},
		{Line: 10, Checked: true, Text: "Roll back faster [mitigate] @bob", Owner: "bob", Type: "mitigate"},
		{Line: 11, Checked: true, Text: "Runbook update — type: process — https://github.com/acme/docs/issues/7", Type: "process", Issue: IssueRef{Owner: "acme", Repo: "docs", Number: 7}},
		{Line: 12, Text: "Load test checkout — acme/perf#3", Issue: IssueRef{Owner: "acme", Repo: "perf", Number: 3}},
		{Line: 13, Text: "Write the retry budget doc"},
		{Line: 18, Text: "nested item owner:carol type: Mitigate", Owner: "carol", Type: "mitigate"},
		{Line: 21, Text: "subsection item"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ActionItem{}, "Key")); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	keys := map[string]bool{}
	for _, it := range got {
		if len(it.Key) != 12 || keys[it.Key] {
			t.Errorf("key %q of %q not unique 12 hex", it.Key, it.Text)
		}
		keys[it.Key] = true
	}
}

func TestParseActionItemsNoSection(t *testing.T) {
	if got := ParseActionItems("- [ ] a\n- [x] b\n"); len(got) != 0 {
		t.Errorf("items outside an Action items section: %+v", got)
	}
}

func TestItemKeySurvivesLink(t *testing.T) {
	body := "## Action items\n\n- [ ] Write the retry budget doc — owner: @alice\n- [ ] Other\n"
	before := ParseActionItems(body)
	linked, ok := LinkItem(body, before[0].Key, IssueRef{Number: 99})
	if !ok {
		t.Fatal("not linked")
	}
	want := "## Action items\n\n- [ ] Write the retry budget doc — owner: @alice — #99\n- [ ] Other\n"
	if diff := cmp.Diff(want, linked); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	after := ParseActionItems(linked)
	if after[0].Key != before[0].Key || after[0].Issue.Number != 99 {
		t.Errorf("after link: %+v, key before %s", after[0], before[0].Key)
	}
	if _, ok := LinkItem(linked, before[0].Key, IssueRef{Number: 100}); ok {
		t.Error("linked an item that already has an issue")
	}
}

func TestUpdateGenerated(t *testing.T) {
	body := "Intro by a person.\n" +
		"<!-- tasuki:begin facts -->\nold facts\n<!-- tasuki:end facts -->\n" +
		"My notes between sections.\n" +
		"- **Duration:** <!-- tasuki:begin duration -->1h<!-- tasuki:end duration --> (roughly)\n" +
		"<!-- tasuki:begin timeline -->\r\nold\r\n<!-- tasuki:end timeline -->\r\n" +
		"Trailing text\n"
	tests := []struct {
		name     string
		body     string
		sections map[string]string
		want     string
	}{
		{
			name:     "replaces only between markers",
			body:     body,
			sections: map[string]string{"facts": "new\nfacts", "duration": "2h\n5m", "timeline": "t1"},
			want: "Intro by a person.\n" +
				"<!-- tasuki:begin facts -->\nnew\nfacts\n<!-- tasuki:end facts -->\n" +
				"My notes between sections.\n" +
				"- **Duration:** <!-- tasuki:begin duration -->2h 5m<!-- tasuki:end duration --> (roughly)\n" +
				"<!-- tasuki:begin timeline -->\nt1\n<!-- tasuki:end timeline -->\r\n" +
				"Trailing text\n",
		},
		{
			name:     "deleted markers are not re-added",
			body:     "Person took over the facts.\n<!-- tasuki:begin timeline -->\nx\n<!-- tasuki:end timeline -->",
			sections: map[string]string{"facts": "new", "timeline": "y"},
			want:     "Person took over the facts.\n<!-- tasuki:begin timeline -->\ny\n<!-- tasuki:end timeline -->",
		},
		{
			name:     "only the end marker left",
			body:     "a\nkept\n<!-- tasuki:end facts -->\n",
			sections: map[string]string{"facts": "new"},
			want:     "a\nkept\n<!-- tasuki:end facts -->\n",
		},
		{
			name:     "reversed markers",
			body:     "<!-- tasuki:end facts -->mine<!-- tasuki:begin facts -->",
			sections: map[string]string{"facts": "new"},
			want:     "<!-- tasuki:end facts -->mine<!-- tasuki:begin facts -->",
		},
		{
			name:     "duplicated markers",
			body:     "<!-- tasuki:begin facts -->a<!-- tasuki:end facts --><!-- tasuki:begin facts -->b<!-- tasuki:end facts -->",
			sections: map[string]string{"facts": "new"},
			want:     "<!-- tasuki:begin facts -->a<!-- tasuki:end facts --><!-- tasuki:begin facts -->b<!-- tasuki:end facts -->",
		},
		{
			name:     "content cannot forge markers",
			body:     "<!-- tasuki:begin facts -->\nx\n<!-- tasuki:end facts -->\n<!-- tasuki:begin timeline -->\nmine\n<!-- tasuki:end timeline -->",
			sections: map[string]string{"facts": "<!-- tasuki:end facts --><!-- tasuki:begin timeline -->"},
			want:     "<!-- tasuki:begin facts -->\n&lt;!-- tasuki:end facts -->&lt;!-- tasuki:begin timeline -->\n<!-- tasuki:end facts -->\n<!-- tasuki:begin timeline -->\nmine\n<!-- tasuki:end timeline -->",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UpdateGenerated(tt.body, tt.sections)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if again := UpdateGenerated(got, tt.sections); again != got {
				t.Errorf("not idempotent:\n%s", again)
			}
		})
	}
}

// A person's edits around the generated sections survive a re-render of the
// whole scaffold (what the shell does on every incident event).
func TestUpdateKeepsPersonText(t *testing.T) {
	inc, facts := closedIncident()
	inc.State, inc.ClosedAt = "open", time.Time{}
	doc, err := Scaffold(inc, facts, nil, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(doc.Body, "## Summary\n", "## Summary\n\nThe cache stampeded. @carol knows.\n", 1)
	edited = strings.Replace(edited, "## Action items\n", "## Action items\n\n- [ ] Add jitter — owner: @dave\n", 1)
	inc.State, inc.ClosedAt = "closed", at("2024-05-04T01:10:00Z")
	got := UpdateGenerated(edited, Sections(inc, facts, DefaultConfig()))
	for _, want := range []string{"The cache stampeded. @carol knows.", "- [ ] Add jitter — owner: @dave", "**Duration:** 6h 30m", "<!-- tasuki:begin duration -->6h 30m<!-- tasuki:end duration -->", "**2024-05-17**"} {
		if !strings.Contains(got, want) {
			t.Errorf("updated body lacks %q", want)
		}
	}
	if strings.Contains(got, "the incident is open") {
		t.Error("open-incident text left after close")
	}
}

func TestDecide(t *testing.T) {
	// The written condition has its own tests (TestMissingSections); here
	// no section is required, so approval and items decide.
	cfg := DefaultConfig()
	cfg.RequiredSections = nil
	approved := []Record{{Approval: &Approval{By: "erin", At: at("2024-05-10T10:00:00Z")}}}
	byAuthor := []Record{{Approval: &Approval{By: "alice", At: at("2024-05-10T10:00:00Z")}}}
	dueBody := func(items string) string {
		return "<!-- tasuki:begin facts -->\nx\n" + marker.New(KindDue, "2024-05-13").String() + "\n<!-- tasuki:end facts -->\n## Action items\n\n" + items
	}
	overdue := at("2024-05-14T09:00:00Z")
	pmRef := "acme/payments#50"
	reminder := marker.New(KindReminder, pmRef+"@2024-05-13")
	complete := marker.New(KindComplete, pmRef)
	tests := []struct {
		name    string
		state   State
		now     time.Time
		want    []intent.Kind
		markerK string
	}{
		{"not yet due", State{Body: dueBody("- [ ] a\n"), Open: true}, at("2024-05-13T23:00:00Z"), nil, ""},
		{"overdue reminds", State{Body: dueBody("- [ ] a\n- [x] b\n"), Open: true, Assignees: []string{"carol"}}, overdue, []intent.Kind{intent.EnsureComment}, KindReminder},
		{"reminded already", State{Body: dueBody("- [ ] a\n"), Open: true, Markers: []marker.Marker{reminder}}, overdue, nil, ""},
		{"all checked completes", State{Body: dueBody("- [x] a\n- [x] b\n"), Open: true, Records: approved}, overdue, []intent.Kind{intent.EnsureComment, intent.AddLabels, intent.Close}, KindComplete},
		{"all checked unapproved reminds", State{Body: dueBody("- [x] a\n- [x] b\n"), Open: true}, overdue, []intent.Kind{intent.EnsureComment}, KindReminder},
		{"all checked unapproved not due", State{Body: dueBody("- [x] a\n- [x] b\n"), Open: true}, at("2024-05-13T23:00:00Z"), nil, ""},
		{"approved by the author does not count", State{Body: dueBody("- [x] a\n"), Open: true, Records: byAuthor, Authors: []string{"Alice"}}, at("2024-05-13T23:00:00Z"), nil, ""},
		{"linked issues closed completes", State{Body: dueBody("- [ ] a #3\n- [x] b\n- [ ] c other/repo#4\n"), Open: true, Records: approved, Closed: map[string]bool{"#3": true, "other/repo#4": true}}, at("2024-05-01T00:00:00Z"), []intent.Kind{intent.EnsureComment, intent.AddLabels, intent.Close}, KindComplete},
		{"one linked issue open", State{Body: dueBody("- [ ] a #3\n- [ ] c #4\n"), Open: true, Records: approved, Closed: map[string]bool{"#3": true}}, at("2024-05-01T00:00:00Z"), nil, ""},
		{"completion comment already there", State{Body: dueBody("- [x] a\n"), Open: true, Records: approved, Markers: []marker.Marker{complete}}, overdue, []intent.Kind{intent.AddLabels, intent.Close}, ""},
		{"approved without action items stays open", State{Body: dueBody(""), Open: true, Records: approved}, at("2024-05-13T23:00:00Z"), nil, ""},
		{"already complete", State{Body: dueBody("- [x] a\n"), Open: true, Labels: []string{"Postmortem-Complete"}}, overdue, nil, ""},
		{"closed", State{Body: dueBody("- [ ] a\n"), Open: false}, overdue, nil, ""},
		{"no due date no items", State{Body: "text", Open: true}, overdue, nil, ""},
		{"due marker outside facts ignored", State{Body: marker.New(KindDue, "2024-05-13").String(), Open: true}, overdue, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.state.Owner, tt.state.Repo, tt.state.Number = "acme", "payments", 50
			got := Decide(tt.state, tt.now, cfg)
			var kinds []intent.Kind
			for _, in := range got {
				kinds = append(kinds, in.Kind)
				if err := in.Validate(); err != nil || in.Number != 50 {
					t.Errorf("intent %s on #%d: %v", in, in.Number, err)
				}
				switch in.Kind {
				case intent.AddLabels:
					if diff := cmp.Diff([]string{cfg.CompleteLabel}, in.Labels); diff != "" {
						t.Errorf("labels (-want +got):\n%s", diff)
					}
				case intent.Close:
					if in.Reason != intent.CloseCompleted {
						t.Errorf("close reason %q, want completed", in.Reason)
					}
				}
			}
			if diff := cmp.Diff(tt.want, kinds); diff != "" {
				t.Fatalf("intents (-want +got):\n%s", diff)
			}
			if tt.markerK != "" {
				if got[0].Marker.Kind != tt.markerK || !got[0].Marker.In(got[0].Body) {
					t.Errorf("comment intent %+v lacks its marker", got[0])
				}
			}
		})
	}
	// The reminder names the owners (a ping on purpose) and the count.
	in := Decide(State{Owner: "acme", Repo: "payments", Number: 50, Body: dueBody("- [ ] a\n- [x] b\n"), Open: true, Assignees: []string{"carol", "dave"}}, overdue, cfg)
	if !strings.Contains(in[0].Body, "- @carol @dave: the postmortem was due on **2024-05-13**; it still needs a review sign-off (`/tasuki approve` by someone other than its author); its action items done (1 of 2 are) — reminder 1 of 3, to the owner.") {
		t.Errorf("reminder body:\n%s", in[0].Body)
	}
}

func TestFollowups(t *testing.T) {
	st := State{Owner: "acme", Repo: "payments", Number: 50, Body: itemsBody}
	fus := Followups(st, "https://github.com/acme/payments/issues/50", DefaultConfig())
	var got []string
	for _, f := range fus {
		got = append(got, f.Title+" | "+f.Assignee)
		if !f.Marker.In(f.Body) || !strings.HasPrefix(f.Marker.Key, "acme/payments#50/") {
			t.Errorf("followup %q marker %v", f.Title, f.Marker)
		}
	}
	want := []string{"Action item: Write the retry budget doc | ", "Action item: nested item owner:carol type: Mitigate | carol", "Action item: subsection item | "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
