package postmortem

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/golden"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func berlinConfig() Config {
	cfg := DefaultConfig()
	cfg.Timezone = "Europe/Berlin"
	return cfg
}

// closedIncident is a sev2 incident in acme/payments that started Friday
// evening and closed Saturday, with an "Impact started" line, a hostile
// title and comments trying to ping and inject HTML.
func closedIncident() (Incident, Facts) {
	inc := Incident{
		Owner: "acme", Repo: "payments", Number: 42,
		Title:     "Checkout 500s <script>alert(1)</script> @everyone",
		Body:      "Card payments fail.\n\nImpact started: 2024-05-03 18:40 UTC\n",
		URL:       "https://github.com/acme/payments/issues/42",
		Author:    "alice",
		Labels:    []string{"incident", "sev3", "sev2", "service:checkout"},
		Assignees: []string{"bob"},
		CreatedAt: at("2024-05-03T18:52:00Z"),
		ClosedAt:  at("2024-05-04T01:10:00Z"),
		State:     "closed",
	}
	facts := Facts{
		Service: "checkout", Team: "payments-team",
		Owners:    []string{"carol", "dave"},
		LabeledAt: at("2024-05-03T18:55:00Z"),
		Events: []Event{
			{Kind: "opened", At: at("2024-05-03T18:52:00Z"), Actor: "alice"},
			{Kind: "labeled", At: at("2024-05-03T18:55:00Z"), Actor: "alice", Label: "incident"},
			{Kind: "labeled", At: at("2024-05-03T18:56:00Z"), Actor: "alice", Label: "sev3"},
			{Kind: "assigned", At: at("2024-05-03T19:00:00Z"), Actor: "alice", Assignee: "bob"},
			{Kind: "labeled", At: at("2024-05-03T19:30:00Z"), Actor: "bob", Label: "sev2"},
			{Kind: "closed", At: at("2024-05-04T01:10:00Z"), Actor: "bob"},
			{Kind: "mentioned", At: at("2024-05-03T19:31:00Z"), Actor: "bob"},
		},
		Comments: []Comment{
			{ID: 1, Author: "bob", Body: "/timeline rolled back deploy <b>v2</b> @alice", At: at("2024-05-03T20:15:00Z"), URL: "https://github.com/acme/payments/issues/42#issuecomment-1"},
			{ID: 2, Author: "erin", Body: "/timeline 2024-05-03 18:41 UTC first alert fired\nmore discussion", At: at("2024-05-03T21:00:00Z"), URL: "https://github.com/acme/payments/issues/42#issuecomment-2"},
			{ID: 3, Author: "tasuki[bot]", Bot: true, Body: "/timeline should be ignored", At: at("2024-05-03T21:01:00Z")},
			{ID: 4, Author: "erin", Body: "/timelines is not the command", At: at("2024-05-03T21:02:00Z")},
		},
		Changes: []Change{
			{Kind: "pull", Repo: "acme/payments", Number: 7, Title: "Bump [timeout](javascript:x) to 5s", URL: "https://github.com/acme/payments/pull/7", Actor: "dave", At: at("2024-05-03T16:00:00Z")},
			{Kind: "deployment", Repo: "acme/payments", URL: "https://github.com/acme/payments/deployments", Actor: "deploy-bot", At: at("2024-05-03T17:00:00Z"), Ref: "0123456789abcdef0123456789abcdef01234567", Environment: "production", Status: "success", StatusAt: at("2024-05-03T17:05:00Z")},
		},
	}
	return inc, facts
}

func TestScaffoldGolden(t *testing.T) {
	inc, facts := closedIncident()
	doc, err := Scaffold(inc, facts, nil, berlinConfig())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "closed-sev2.golden.md"), doc.Body)
	if diff := cmp.Diff([]string{"postmortem", "sev2"}, doc.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if doc.Title != "Postmortem: Checkout 500s <script>alert(1)</script> @everyone" {
		t.Errorf("title = %q", doc.Title)
	}
	// Closed Saturday 03:10 Berlin: 10 business days is Friday 2024-05-17.
	if got := doc.Due.Format("2006-01-02"); got != "2024-05-17" {
		t.Errorf("due = %s, want 2024-05-17", got)
	}
	for _, section := range []string{"## Summary", "## Impact", "## Detection", "## Response", "## Timeline",
		"## Contributing factors", "## What we knew at the time", "## What surprised us", "## What made it hard",
		"## Where we got lucky", "## What went well", "## Action items", "## Customer communication", "## Supporting links",
		"**Facilitator:**", "**Debrief date:**", "SLO / error budget spent", "Users affected"} {
		if !strings.Contains(doc.Body, section) {
			t.Errorf("body lacks %q", section)
		}
	}
	for _, leak := range []string{"<script>", "<b>", "@alice", "@everyone", "](javascript:", "should be ignored"} {
		if strings.Contains(doc.Body, leak) {
			t.Errorf("body contains %q", leak)
		}
	}
	if !PostmortemMarker(inc).In(doc.Body) {
		t.Error("body lacks the postmortem marker")
	}
}

func TestScaffoldOpenIncidentLeavesUnknowns(t *testing.T) {
	inc := Incident{Owner: "acme", Repo: "api", Number: 3, Title: "Slow", State: "open",
		Labels: []string{"incident"}, CreatedAt: at("2024-05-01T10:00:00Z")}
	doc, err := Scaffold(inc, Facts{}, nil, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "open-no-facts.golden.md"), doc.Body)
	if !doc.Due.IsZero() {
		t.Errorf("due = %v for an open incident", doc.Due)
	}
	if diff := cmp.Diff([]string{"postmortem"}, doc.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestScaffoldTemplateErrors(t *testing.T) {
	inc, facts := closedIncident()
	tests := []struct {
		name, text string
		line       int
		want       string
	}{
		{"parse", "# Postmortem\n\n{{.Title}\n", 3, "bad character"},
		{"unknown field", "# {{.Title}}\n\n{{.Nope}}\n", 3, "Nope"},
		{"unknown section", "{{generated \"facts\"}}\n{{generated \"weather\"}}\n", 2, "weather"},
		{"section twice", "{{generated \"facts\"}}\n{{generated \"facts\"}}\n", 2, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ParseTemplate("acme/payments:.github/tasuki/postmortem.md", tt.text)
			if err == nil {
				_, err = Scaffold(inc, facts, tmpl, DefaultConfig())
			}
			te, ok := err.(*TemplateError)
			if !ok {
				t.Fatalf("err = %v, want *TemplateError", err)
			}
			if te.Line != tt.line || !strings.Contains(te.Msg, tt.want) || te.Source != "acme/payments:.github/tasuki/postmortem.md" {
				t.Errorf("err = %+v, want line %d mentioning %q", te, tt.line, tt.want)
			}
			if !strings.Contains(te.Error(), fmt.Sprintf("line %d", tt.line)) {
				t.Errorf("Error() = %q lacks the line", te.Error())
			}
		})
	}
}

func TestScaffoldOverrideWithoutMarkerStillFindable(t *testing.T) {
	inc, facts := closedIncident()
	tmpl, err := ParseTemplate("org", "# {{.Title}}\n\nSeverity {{.Severity}}, due {{.Due}}\n")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Scaffold(inc, facts, tmpl, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !PostmortemMarker(inc).In(doc.Body) {
		t.Errorf("override body lacks the marker:\n%s", doc.Body)
	}
	if !strings.Contains(doc.Body, "Severity `sev2`") {
		t.Errorf("body = %s", doc.Body)
	}
}

func TestImpactStart(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		name, body string
		want       string // RFC3339 or ""
		err        bool
	}{
		{"none", "nothing here", "", false},
		{"rfc3339", "Impact started: 2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", false},
		{"utc", "impact started: 2024-05-01 14:00 UTC", "2024-05-01T14:00:00Z", false},
		{"local default", "Impact started: 2024-05-01 14:00", "2024-05-01T12:00:00Z", false},
		{"local abbreviation", "Impact started: 2024-01-10 14:00 CET", "2024-01-10T13:00:00Z", false},
		{"offset", "Impact started: 2024-05-01 14:00 -05:00", "2024-05-01T19:00:00Z", false},
		{"iana", "Impact started: 2024-05-01 14:00 America/New_York", "2024-05-01T18:00:00Z", false},
		{"bold", "**Impact started:** 2024-05-01 14:00:30 UTC", "2024-05-01T14:00:30Z", false},
		{"issue form", "### Service\n\napi\n\n### Impact started\n\n2024-05-01 14:00 UTC\n\n### Description\n\nx", "2024-05-01T14:00:00Z", false},
		{"issue form no response", "### Impact started\n\n_No response_\n\n### Description\n", "", false},
		{"issue form empty", "### Impact started\n\n### Description\n", "", false},
		{"ambiguous zone", "Impact started: 2024-05-01 14:00 EST", "", true},
		{"garbage", "Impact started: yesterday afternoon", "", true},
		{"crlf", "a\r\nImpact started: 2024-05-01 14:00 UTC\r\n", "2024-05-01T14:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ImpactStart(tt.body, berlin)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			gs := ""
			if !got.IsZero() {
				gs = got.Format(time.RFC3339)
			}
			if gs != tt.want {
				t.Errorf("got %q, want %q", gs, tt.want)
			}
		})
	}
}

func TestDueDate(t *testing.T) {
	cfg := berlinConfig()
	cfg.DueBusinessDays = map[string]int{"sev1": 5, "sev2": 10, "sev3": 1}
	tests := []struct {
		name, sev, closed, want string // want "" = none
	}{
		{"sev1 monday", "sev1", "2024-05-06T10:00:00Z", "2024-05-13"},
		{"sev1 friday skips weekend", "sev1", "2024-05-10T10:00:00Z", "2024-05-17"},
		{"sev3 friday is monday", "sev3", "2024-05-10T10:00:00Z", "2024-05-13"},
		{"sev3 saturday is monday", "sev3", "2024-05-11T10:00:00Z", "2024-05-13"},
		// 23:30 UTC Friday is already Saturday in Berlin.
		{"zone moves the day", "sev3", "2024-05-10T23:30:00Z", "2024-05-13"},
		{"zone keeps the day", "sev3", "2024-05-09T21:30:00Z", "2024-05-10"},
		{"sev2 across two weekends", "sev2", "2024-05-06T10:00:00Z", "2024-05-20"},
		{"sev4 none", "sev4", "2024-05-06T10:00:00Z", ""},
		{"no severity", "", "2024-05-06T10:00:00Z", ""},
		{"open", "sev1", "", ""},
		{"case-insensitive", "SEV1", "2024-05-06T10:00:00Z", "2024-05-13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closed time.Time
			if tt.closed != "" {
				closed = at(tt.closed)
			}
			due, ok := DueDate(tt.sev, closed, cfg)
			got := ""
			if ok {
				got = due.Format("2006-01-02")
				if due.Location().String() != "Europe/Berlin" || due.Hour() != 0 {
					t.Errorf("due %v is not midnight in Berlin", due)
				}
			}
			if got != tt.want {
				t.Errorf("due = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOverdue(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	due := time.Date(2024, 5, 13, 0, 0, 0, 0, loc)
	for _, tt := range []struct {
		now  string
		want bool
	}{
		{"2024-05-13T21:59:00Z", false}, // 23:59 Berlin on the due day
		{"2024-05-13T22:00:00Z", true},  // midnight Berlin after it
		{"2024-05-12T10:00:00Z", false},
	} {
		if got := Overdue(due, at(tt.now)); got != tt.want {
			t.Errorf("Overdue(%s) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestTimeline(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timezone = "Asia/Tokyo"
	events := []Event{
		{Kind: "closed", At: at("2024-05-01T16:00:00Z"), Actor: "bob"},
		{Kind: "opened", At: at("2024-05-01T10:00:00Z"), Actor: "alice"},
		{Kind: "labeled", At: at("2024-05-01T10:01:00Z"), Actor: "alice", Label: "sev2"},
		{Kind: "labeled", At: at("2024-05-01T10:05:00Z"), Actor: "bob", Label: "sev1"},
		{Kind: "unlabeled", At: at("2024-05-01T10:06:00Z"), Actor: "bob", Label: "sev2"},
		{Kind: "reopened", At: at("2024-05-01T17:00:00Z"), Actor: "carol"},
		{Kind: "unassigned", At: at("2024-05-01T17:01:00Z"), Actor: "carol", Assignee: "bob"},
		{Kind: "renamed", At: at("2024-05-01T17:02:00Z"), Actor: "carol"},
	}
	comments := []Comment{
		{Author: "bob", Body: "/timeline: backfilled 2024-05-01T09:55:00Z is not a leading time", At: at("2024-05-01T12:00:00Z")},
		{Author: "bob", Body: "/timeline 2024-05-01T09:50:00Z deploy started", At: at("2024-05-01T12:01:00Z")},
		{Author: "bob", Body: "/timeline", At: at("2024-05-01T12:02:00Z")},
		{Author: "dependabot[bot]", Body: "/timeline bot", At: at("2024-05-01T12:03:00Z")},
	}
	got := RenderTimeline(Timeline(events, comments, cfg), cfg)
	want := strings.Join([]string{
		"- **2024-05-01 09:50 UTC (18:50 JST)** — deploy started (by `bob`)",
		"- **2024-05-01 10:00 UTC (19:00 JST)** — incident opened by `alice`",
		"- **2024-05-01 10:01 UTC (19:01 JST)** — severity set to `sev2` by `alice`",
		"- **2024-05-01 10:05 UTC (19:05 JST)** — severity changed from `sev2` to `sev1` by `bob`",
		"- **2024-05-01 10:06 UTC (19:06 JST)** — severity `sev2` removed by `bob`",
		"- **2024-05-01 12:00 UTC (21:00 JST)** — backfilled 2024-05-01T09:55:00Z is not a leading time (by `bob`)",
		"- **2024-05-01 16:00 UTC (2024-05-02 01:00 JST)** — incident closed (resolved) by `bob`",
		"- **2024-05-01 17:00 UTC (2024-05-02 02:00 JST)** — incident reopened by `carol`",
		"- **2024-05-01 17:01 UTC (2024-05-02 02:01 JST)** — unassigned `bob` by `carol`",
	}, "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestResponders(t *testing.T) {
	inc := Incident{Assignees: []string{"bob", "alice"}}
	got := Responders(inc, []Comment{{Author: "carol"}, {Author: "Bob"}, {Author: "github-actions[bot]"}, {Author: "x", Bot: true}})
	if diff := cmp.Diff([]string{"bob", "alice", "carol"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestAssignees(t *testing.T) {
	tests := []struct {
		name              string
		owners, inc, team []string
		want              []string
	}{
		{"owners win", []string{"carol"}, []string{"bob"}, []string{"t"}, []string{"carol"}},
		{"incident assignees next", nil, []string{"bob", "renovate[bot]"}, []string{"t"}, []string{"bob"}},
		{"team last", nil, nil, []string{"t1", "t2"}, []string{"t1", "t2"}},
		{"nobody", nil, nil, nil, nil},
		{"bots only fall through", []string{"x[bot]"}, nil, []string{"t"}, []string{"t"}},
		{"ten at most", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}, nil, nil, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Assignees(tt.owners, tt.inc, tt.team)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := DefaultConfig()
	bad.Timezone = "Mars/Olympus"
	bad.ChangeWindow = "3 days"
	bad.SeverityLabels = []string{"sev1", "SEV1"}
	bad.DueBusinessDays = map[string]int{"sev9": 3}
	bad.Repository = "a/b/c"
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"postmortem.timezone", "postmortem.change_window", "postmortem.severity_labels[1]", "postmortem.due_business_days.sev9", "postmortem.repository"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestSeverityHighestWins(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SeverityLabels = []string{"P0", "P1", "P2"}
	if got := cfg.Severity([]string{"p2", "bug", "P1"}); got != "P1" {
		t.Errorf("got %q", got)
	}
	if got := cfg.Severity([]string{"bug"}); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestIncidentFromIssueForm(t *testing.T) {
	body := "### Severity\n\nsev1\n\n### Service\n\ncheckout\n\n### Impact started\n\n2024-05-01 14:00 +02:00\n\n### Description\n\nDown."
	inc := Incident{Owner: "acme", Repo: "api", Number: 9, Title: "Down", Body: body, State: "closed",
		Labels: []string{"incident"}, CreatedAt: at("2024-05-01T12:30:00Z"), ClosedAt: at("2024-05-01T13:00:00Z")}
	doc, err := Scaffold(inc, Facts{}, nil, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"postmortem", "sev1"}, doc.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	for _, want := range []string{"**Impact started:** 2024-05-01 12:00 UTC", "**Duration:** 1h 0m", "**2024-05-08** (5 business days"} {
		if !strings.Contains(doc.Body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if got := FormField(body, "service"); got != "checkout" {
		t.Errorf("service field %q", got)
	}
	if got := FormField("### Service\n\n_No response_\n", "Service"); got != "" {
		t.Errorf("no response read as %q", got)
	}
}
