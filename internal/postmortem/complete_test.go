package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// blankPostmortem is the built-in scaffold of closedIncident, as tasuki
// opens it: the summary drafted, everything else a prompt or a placeholder.
func blankPostmortem(t *testing.T) string {
	t.Helper()
	inc, facts := closedIncident()
	doc, err := Scaffold(inc, facts, nil, berlinConfig())
	if err != nil {
		t.Fatal(err)
	}
	return doc.Body
}

func TestMissingSections(t *testing.T) {
	blank := blankPostmortem(t)
	write := func(body, heading, text string) string {
		h := "## " + heading + "\n"
		if !strings.Contains(body, h) {
			t.Fatalf("no %q in the template", h)
		}
		return strings.Replace(body, h, h+"\n"+text+"\n", 1)
	}
	undraft := func(body string) string { return strings.Replace(body, DraftNote, "", 1) }
	written := undraft(write(write(write(blank, "Impact", "All card payments for 6 hours."),
		"Contributing factors", "The token cache expired all at once."),
		"Action items", "- [ ] Add jitter — owner: @bob"))
	cfg := DefaultConfig()
	tests := []struct {
		name     string
		body     string
		required []string
		want     []string
	}{
		{"blank scaffold: the draft, prompts and placeholders are not writing", blank, cfg.RequiredSections,
			[]string{"Summary", "Impact", "Contributing factors", "Action items"}},
		{"written", written, cfg.RequiredSections, nil},
		{"the draft note left in", write(write(write(blank, "Impact", "x"), "Contributing factors", "y"), "Action items", "- [ ] z"), cfg.RequiredSections, []string{"Summary"}},
		{"an empty checkbox is no action item", undraft(write(write(write(blank, "Impact", "x"), "Contributing factors", "y"), "Action items", "- [ ] ")), cfg.RequiredSections, []string{"Action items"}},
		{"only a prompt", "## Summary\n\n> _What broke?_\n\n" + Unknown + "\n", []string{"Summary"}, []string{"Summary"}},
		{"only a comment", "## Summary\n<!-- write here\n## Not a heading -->\n", []string{"Summary"}, []string{"Summary"}},
		{"a quote that is not a prompt is writing", "## Summary\n\n> the pager said: disk full\n", []string{"Summary"}, nil},
		{"empty field lines", "## Impact\n\n- **Users affected:** " + Unknown + "\n- **Duration:** <!-- tasuki:begin duration -->2h<!-- tasuki:end duration -->\n", []string{"Impact"}, []string{"Impact"}},
		{"a filled field", "## Impact\n\n- **Users affected:** EU card payments\n", []string{"Impact"}, nil},
		{"heading missing", "## Summary\n\ntext\n", []string{"Summary", "Impact"}, []string{"Impact"}},
		{"alternatives: either heading", "## Root cause and trigger\n\nA bad config push.\n", []string{"Contributing factors|Root cause and trigger"}, nil},
		{"alternatives: neither", "## Root cause and trigger\n\n" + Unknown + "\n", []string{"Contributing factors|Root cause and trigger"}, []string{"Contributing factors"}},
		{"heading case and spacing", "### summary  \n\ntext\n", []string{"Summary"}, nil},
		{"a subsection belongs to its section", "## Summary\n\n### Detail\n\ntext\n## Impact\n", []string{"Summary"}, nil},
		{"the next section's text does not count", "## Summary\n\n" + Unknown + "\n\n## Impact\n\ntext\n", []string{"Summary"}, []string{"Summary"}},
		{"a heading inside a code block is text", "## Summary\n\n```\n## Impact\n```\n", []string{"Impact"}, []string{"Impact"}},
		{"the generated timeline counts", "## Timeline\n\n<!-- tasuki:begin timeline -->\n- **2024-05-03 18:52 UTC** — incident opened\n<!-- tasuki:end timeline -->\n", []string{"Timeline"}, nil},
		{"none required", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MissingSections(tt.body, tt.required)); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	r := Record{Approval: &Approval{By: "erin", At: at("2024-05-10T10:00:00Z"), CommentID: 7, URL: "https://github.com/acme/payments/issues/50#issuecomment-7"},
		Reminders: []Reminded{{Subject: SubjectPostmortem, Due: "2024-05-13", Step: 2}}}
	body := "Signed off.\n\n" + EncodeState(r)
	got, found, err := DecodeState(body + "\n\n" + marker.New(KindApproval, "7").String())
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	r.V = StateVersion
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}
	// The last block wins: text above cannot take its place.
	forged := EncodeState(Record{Approval: &Approval{By: "mallory"}})
	got, _, _ = DecodeState(forged + "\n" + body)
	if got.Approval.By != "erin" {
		t.Errorf("a block above tasuki's was read: %+v", got.Approval)
	}
	// A block inside a line is no block.
	if _, found, _ := DecodeState("see " + forged); found {
		t.Error("a block within a line was read")
	}
	for _, bad := range []string{"<!-- tasuki:postmortem-state v=2 e30 -->", "<!-- tasuki:postmortem-state v=1 !!! -->", "<!-- tasuki:postmortem-state v=1 bm90IGpzb24 -->"} {
		if _, found, err := DecodeState(bad); found && err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}

func TestApprovalReply(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequiredSections = []string{"Summary"}
	st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Authors: []string{"alice"},
		Body: "## Summary\n\nwritten\n\n## Action items\n\n- [x] done\n"}
	now := at("2024-05-10T10:00:00Z")
	tests := []struct {
		name    string
		st      State
		by      string
		ok      bool
		want    string
		records int
	}{
		{"the author is refused", st, "Alice", false, "`Alice` cannot sign off this postmortem", 0},
		{"a bot is refused", st, "ci[bot]", false, "cannot sign off", 0},
		{"someone else completes it", st, "erin", true, "Signed off by `erin` on 2024-05-10 10:00 UTC. It is written and every action item is done, so tasuki closes it.", 1},
		{"still unwritten", State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Body: "## Summary\n\n" + Unknown + "\n"}, "erin", true,
			"Before it closes it still needs the sections “Summary” filled in; action items.", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ok := ApprovalReply(tt.st, Approval{By: tt.by, At: now, CommentID: 9}, cfg)
			if ok != tt.ok || !strings.Contains(body, tt.want) {
				t.Fatalf("ok %v, body:\n%s", ok, body)
			}
			if !ApprovalMarker(9).In(body) {
				t.Error("reply lacks its marker")
			}
			r, found, err := DecodeState(body)
			if err != nil || found != (tt.records > 0) {
				t.Fatalf("state found %v err %v", found, err)
			}
			if found && (r.Approval == nil || r.Approval.By != tt.by || !r.Approval.At.Equal(now)) {
				t.Errorf("recorded %+v", r.Approval)
			}
		})
	}
}

func TestParseDueAndPriority(t *testing.T) {
	tests := []struct {
		line     string
		due      string
		priority string
	}{
		{"- [ ] Add jitter — owner: @bob — due: 2024-06-01 — priority: P1", "2024-06-01", "P1"},
		{"- [ ] Add jitter (Due:2024-06-01, Priority: p0)", "2024-06-01", "P0"},
		{"- [ ] Add jitter — due: 2024-13-01 — priority: P7", "", ""},
		{"- [ ] overdue: 2024-06-01 is not a due date", "", ""},
		{"- [ ] no metadata", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			items := ParseActionItems("## Action items\n" + tt.line + "\n")
			if len(items) != 1 {
				t.Fatalf("%d items", len(items))
			}
			due := ""
			if !items[0].Due.IsZero() {
				due = items[0].Due.Format("2006-01-02")
			}
			if due != tt.due || items[0].Priority != tt.priority {
				t.Errorf("due %q priority %q, want %q %q", due, items[0].Priority, tt.due, tt.priority)
			}
		})
	}
	// The issue title leaves the metadata out.
	fus := Followups(State{Owner: "acme", Repo: "payments", Number: 50, Body: "## Action items\n- [ ] Add jitter — due: 2024-06-01 — priority: P1\n"}, "", DefaultConfig())
	if len(fus) != 1 || fus[0].Title != "Action item: Add jitter" {
		t.Fatalf("followups %+v", fus)
	}
	if diff := cmp.Diff([]string{"postmortem-action", "P1"}, fus[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if due, ok := ItemDueOf(fus[0].Body + "\n\n" + fus[0].Marker.String()); !ok || due.Format("2006-01-02") != "2024-06-01" {
		t.Errorf("due read back %v %v", due, ok)
	}
}

// The reminders escalate on the clock, each step once: a sweep each day
// (twice on some) for five weeks, feeding each reminder's hidden state back
// as the shell does, sends the owner's the day after the due date, the
// commander's a cadence later and the team's a cadence after that, and
// nothing more.
func TestReminderEscalation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequiredSections = nil
	cfg.ReminderEveryDays = 3
	body := "<!-- tasuki:begin facts -->\n- **Service:** `checkout` · team `payments`\n- **Incident commander:** `ic-carol`\n" +
		marker.New(KindDue, "2024-05-13").String() + "\n<!-- tasuki:end facts -->\n## Action items\n\n" +
		"- [ ] Add jitter — owner: @bob — due: 2024-05-15 — priority: P1 — #3\n- [ ] Write runbook — due: 2024-05-20\n- [x] Roll back — due: 2024-05-01\n"
	st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Assignees: []string{"dave"}, Body: body, Closed: map[string]bool{"#3": false}}
	type sent struct {
		day  string
		subj string
		step int
		who  string
	}
	var got []sent
	markers := map[marker.Marker]bool{}
	for day := at("2024-05-13T08:00:00Z"); day.Before(at("2024-06-20T00:00:00Z")); day = day.AddDate(0, 0, 1) {
		for range 2 { // a retried sweep the same day sends nothing more
			ins := Decide(st, day, cfg)
			if len(ins) == 0 {
				continue
			}
			if len(ins) != 1 || ins[0].Kind != intent.EnsureComment || ins[0].Marker.Kind != KindReminder {
				t.Fatalf("%s: intents %v", day, ins)
			}
			if markers[ins[0].Marker] {
				t.Fatalf("%s: marker %v used twice", day, ins[0].Marker)
			}
			markers[ins[0].Marker] = true
			r, found, err := DecodeState(ins[0].Body)
			if err != nil || !found {
				t.Fatalf("reminder without state: %v\n%s", err, ins[0].Body)
			}
			lines := strings.Split(ins[0].Body, "\n")
			for i, rm := range r.Reminders {
				got = append(got, sent{day.Format("01-02"), rm.Subject, rm.Step, strings.SplitN(strings.TrimPrefix(lines[2+i], "- "), ":", 2)[0]})
			}
			st.Records = append(st.Records, r)
			st.Markers = append(st.Markers, ins[0].Marker)
		}
	}
	items := ParseActionItems(body)
	jitter, runbook := items[0].Key, items[1].Key
	want := []sent{
		{"05-14", SubjectPostmortem, 0, "@dave"},
		{"05-16", jitter, 0, "@bob"},
		{"05-17", SubjectPostmortem, 1, "@dave @ic-carol"},
		{"05-19", jitter, 1, "@bob @ic-carol"},
		{"05-20", SubjectPostmortem, 2, "@dave @ic-carol @acme/payments"},
		{"05-21", runbook, 0, "@dave"},
		{"05-22", jitter, 2, "@bob @ic-carol @acme/payments"},
		{"05-24", runbook, 1, "@dave @ic-carol"},
		{"05-27", runbook, 2, "@dave @ic-carol @acme/payments"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sent{})); diff != "" {
		t.Errorf("reminders sent (-want +got):\n%s", diff)
	}
}

// A sweep that missed days sends the step reached, once, not every step it
// skipped; the marker of a reminder older tasuki sent counts as step 0.
func TestReminderCatchUp(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequiredSections = nil
	body := "<!-- tasuki:begin facts -->\n" + marker.New(KindDue, "2024-05-13").String() + "\n<!-- tasuki:end facts -->\n"
	st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Assignees: []string{"dave"}, Body: body}
	old := marker.New(KindReminder, "acme/payments#50@2024-05-13")
	st.Markers = []marker.Marker{old}
	if in := Decide(st, at("2024-05-16T08:00:00Z"), cfg); len(in) != 0 {
		t.Fatalf("the old reminder was sent again: %v", in)
	}
	ins := Decide(st, at("2024-06-30T08:00:00Z"), cfg)
	if len(ins) != 1 {
		t.Fatalf("intents %v", ins)
	}
	r, _, _ := DecodeState(ins[0].Body)
	if diff := cmp.Diff([]Reminded{{Subject: SubjectPostmortem, Due: "2024-05-13", Step: 2}}, r.Reminders); diff != "" {
		t.Errorf("caught up (-want +got):\n%s", diff)
	}
	if !strings.Contains(ins[0].Body, "no incident commander or owning team is recorded") {
		t.Errorf("body does not say who is missing:\n%s", ins[0].Body)
	}
}

func TestDigest(t *testing.T) {
	cfg := DefaultConfig()
	now := at("2024-05-22T09:00:00Z") // Wednesday of 2024-W21
	d := func(s string) time.Time { return at(s + "T00:00:00Z") }
	items := []OpenItem{
		{Repo: "acme/api", Number: 4, Title: "Action item: Not yet due", Due: d("2024-05-22")},
		{Repo: "acme/api", Number: 3, Title: "Action item: Rotate | keys", Due: d("2024-05-20"), Labels: []string{"postmortem-action", "P2"}, Assignees: []string{"bob"}},
		{Repo: "acme/web", Number: 9, Title: "Action item: Alert on <b>5xx</b> @everyone", Due: d("2024-05-20"), Labels: []string{"p1"}},
		{Repo: "acme/web", Number: 8, Title: "Action item: Oldest", Due: d("2024-05-01")},
		{Repo: "acme/web", Number: 7, Title: "Action item: No date"},
	}
	in, ok := DigestIntent("acme", items, now, cfg)
	if !ok {
		t.Fatal("no digest")
	}
	if in.Marker != DigestMarker("acme", "2024-W21") || in.Issue.Title != "Overdue postmortem action items, 2024-W21 (3)" {
		t.Errorf("marker %v title %q", in.Marker, in.Issue.Title)
	}
	if !in.Lookup.CreatedSince.Equal(d("2024-05-20")) {
		t.Errorf("lookup since %v, want the Monday", in.Lookup.CreatedSince)
	}
	var rows []string
	for _, l := range strings.Split(in.Issue.Body, "\n") {
		if strings.HasPrefix(l, "| 2024") {
			rows = append(rows, l)
		}
	}
	want := []string{
		"| 2024-05-01 | 21 | — | acme/web#8 Oldest | — |",
		"| 2024-05-20 | 2 | P1 | acme/web#9 Alert on \\<b\\>5xx\\<\\/b\\> @\u200deveryone | — |",
		"| 2024-05-20 | 2 | P2 | acme/api#3 Rotate \\| keys | `bob` |",
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s\n%s", diff, in.Issue.Body)
	}
	if _, ok := DigestIntent("acme", items[:1], now, cfg); ok {
		t.Error("a digest with nothing overdue")
	}
}
