package postmortem

import (
	"fmt"
	"testing"
	"time"
)

// bigIncident has 200 timeline events, 200 comments (half /timeline) and
// 60 changes: a long sev1.
func bigIncident() (Incident, Facts) {
	inc, facts := closedIncident()
	base := at("2024-05-03T18:00:00Z")
	for i := 0; i < 200; i++ {
		facts.Events = append(facts.Events, Event{Kind: "labeled", At: base.Add(time.Duration(i) * time.Minute), Actor: "bob", Label: fmt.Sprintf("l%d", i)})
		body := "just talk"
		if i%2 == 0 {
			body = fmt.Sprintf("/timeline step %d done", i)
		}
		facts.Comments = append(facts.Comments, Comment{ID: int64(i), Author: fmt.Sprintf("user%d", i%7), Body: body, At: base.Add(time.Duration(i) * time.Minute)})
	}
	for i := 0; i < 60; i++ {
		facts.Changes = append(facts.Changes, Change{Kind: "pull", Repo: "acme/payments", Number: i, Title: "change", URL: "https://github.com/acme/payments/pull/1", At: base})
	}
	return inc, facts
}

func BenchmarkScaffold(b *testing.B) {
	inc, facts := bigIncident()
	cfg := berlinConfig()
	b.ReportAllocs()
	var size int
	for i := 0; i < b.N; i++ {
		doc, err := Scaffold(inc, facts, nil, cfg)
		if err != nil {
			b.Fatal(err)
		}
		size = len(doc.Body)
	}
	b.ReportMetric(float64(size), "body-bytes")
}

func BenchmarkUpdateGenerated(b *testing.B) {
	inc, facts := bigIncident()
	cfg := berlinConfig()
	doc, err := Scaffold(inc, facts, nil, cfg)
	if err != nil {
		b.Fatal(err)
	}
	sections := Sections(inc, facts, cfg)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		UpdateGenerated(doc.Body, sections)
	}
}

func BenchmarkParseActionItems(b *testing.B) {
	body := "## Action items\n\n"
	for i := 0; i < 100; i++ {
		body += fmt.Sprintf("- [ ] item %d — owner: @alice — type: prevent — #%d\n", i, i+1)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ParseActionItems(body)
	}
}

// BenchmarkDecide is one sweep's decision on a long postmortem: 100 action
// items with due dates, 50 reminder records and a sign-off to read, and
// the required sections to check.
func BenchmarkDecide(b *testing.B) {
	inc, facts := bigIncident()
	cfg := berlinConfig()
	doc, err := Scaffold(inc, facts, nil, cfg)
	if err != nil {
		b.Fatal(err)
	}
	body := doc.Body + "\n## Action items\n\n"
	for i := 0; i < 100; i++ {
		body += fmt.Sprintf("- [ ] item %d — owner: @alice — due: 2024-05-%02d — priority: P1 — #%d\n", i, 1+i%28, i+1)
	}
	st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Body: body, Assignees: []string{"carol"}, Closed: map[string]bool{}}
	for i := 0; i < 50; i++ {
		st.Records = append(st.Records, Record{Reminders: []Reminded{{Subject: fmt.Sprint(i), Due: "2024-05-01", Step: 1}}})
	}
	st.Records = append(st.Records, Record{Approval: &Approval{By: "erin"}})
	now := at("2024-06-10T09:00:00Z")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(Decide(st, now, cfg)) != 1 {
			b.Fatal("no reminder")
		}
	}
}
