package onboarding

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// started opens a handoff of acme/api to payments-sre as issue #7 and
// returns its state and the body GitHub holds (with the writer's marker).
func started(t *testing.T, c Checklist) (State, string) {
	t.Helper()
	d := Start(StartRequest{Repo: "acme/api", Team: "@acme/payments-sre", Actor: "carol", Trigger: "command", ActorIsCore: true,
		CoreTeam: "core-sre", TeamSREs: []string{"alice", "@bob"}}, DefaultConfig(), c, now)
	if len(d.Intents) != 1 || d.Intents[0].Kind != intent.EnsureIssue {
		t.Fatalf("Start: %+v", d)
	}
	s := d.State
	s.Issue = 7
	return s, d.Intents[0].Issue.Body
}

func TestStateRoundTrip(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	s.Items[0] = ItemState{ID: s.Items[0].ID, Status: StatusNA, Reason: "no <!-- tasuki:end sre-handoff --> here", By: "bob",
		At: now, Evidence: "https://example.com/a", Expires: now.Add(time.Hour)}
	body = RenderBody(body, s, c)
	got, found, err := DecodeState(body)
	if err != nil || !found {
		t.Fatalf("DecodeState: %v %v", found, err)
	}
	got.Issue = s.Issue
	s.V = StateVersion
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
}

func TestStateHostileBody(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	// What another state would look like: everything passed.
	forged := s
	forged.Items = slices.Clone(s.Items)
	for i := range forged.Items {
		forged.Items[i].Status = StatusPassed
	}
	forgedLine := encodeState(forged)
	forgedBlock := renderBlock(forged, c, renderFull)

	person := []string{
		"\n\nMy notes.\n" + forgedLine + "\n",
		"\n\n" + blockEnd + "\n" + forgedLine + "\n" + blockEnd + "\n",
		"\n\n" + forgedBlock + "\n",
		"\r\n\r\nWindows notes\r\n" + blockBegin + "\r\n" + forgedLine + "\r\n" + blockEnd,
	}
	for i, p := range person {
		b := body + p
		got, found, err := DecodeState(b)
		if err != nil || !found {
			t.Fatalf("%d: DecodeState: %v %v", i, found, err)
		}
		if got.Items[0].Status != StatusPending {
			t.Errorf("%d: text after the block changed the state: %+v", i, got.Items[0])
		}
		// A rewrite keeps the person's text byte for byte.
		s2 := s
		s2.Phase = PhaseObserve
		nb := RenderBody(b, s2, c)
		if !strings.HasSuffix(nb, p) {
			t.Errorf("%d: the person's text was not kept", i)
		}
		if g, _, _ := DecodeState(nb); g.Phase != PhaseObserve {
			t.Errorf("%d: the rewrite's state was not read back", i)
		}
	}
	// Text put before the block hides it: no state rather than a forged one.
	if _, found, _ := DecodeState(forgedBlock[:0] + "Hi\n" + forgedBlock); found {
		t.Error("a block after a person's text was read")
	}
	// Text tasuki copies into the block (an n/a reason, an evidence link)
	// cannot end it early or add a state line.
	d := Attest(s, body, c, Command{Verb: "na", ItemID: "capacity-plan", Arg: "\n" + blockEnd + "\n" + forgedLine}, "mallory", now)
	// capacity-plan is n/a only in tier C: refused, nothing written.
	if !strings.Contains(d.Reply, "cannot be marked not applicable in a tier B handoff") || len(d.Intents) != 0 {
		t.Fatalf("Attest: %+v", d)
	}
	s.Tier = "C"
	s.Items = refresh(s, c, nil, now, true).Items
	body = RenderBody(body, s, c)
	d = Attest(s, body, c, Command{Verb: "na", ItemID: "capacity-plan", Arg: "x " + blockEnd + " " + forgedLine}, "mallory", now)
	nb := *d.Intents[0].Edit.Body
	got, _, err := DecodeState(nb)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := got.Item("capacity-plan"); st.Status != StatusNA || !strings.Contains(st.Reason, "tasuki:end") {
		t.Errorf("capacity-plan = %+v", st)
	}
	if st, _ := got.Item("slo-as-code"); st.Status == StatusPassed {
		t.Error("the reason forged another item's state")
	}
	if strings.Count(nb, blockEnd) != 1 || strings.Count(nb, statePre) != 1 {
		t.Errorf("copied text formed a marker:\n%s", nb)
	}
}

func TestBodyKeepsWriterMarker(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	m := IssueMarker("acme/api", now)
	if !m.In(body) {
		t.Fatal("the new body lacks the issue marker; the writer would append one outside the block")
	}
	// GitHub hands the body back with CRLF after a person edits it in the
	// browser.
	crlf := strings.ReplaceAll(body, "\n", "\r\n") + "\r\nnote"
	got, found, err := DecodeState(crlf)
	if err != nil || !found || got.Repo != "acme/api" {
		t.Fatalf("CRLF body: %v %v %+v", found, err, got)
	}
	nb := RenderBody(crlf, s, c)
	if !strings.HasSuffix(nb, "\r\nnote") || !m.In(nb) {
		t.Error("rewrite of a CRLF body lost the note or the marker")
	}
	if ms := marker.Find(nb); len(ms) != 1 {
		t.Errorf("markers %v", ms)
	}
}

func TestRenderBody(t *testing.T) {
	c := Default()
	_, body := started(t, c)
	for _, want := range []string{
		"| **Kickoff** (current) | core\\-sre |  | 2026-12-09 | 0/3 |",
		"| Shadow | core\\-sre | payments\\-sre | 2027-01-27 | 0/2 |",
		"| Reverse shadow | payments\\-sre | core\\-sre | 2027-02-24 | 0/1 |",
		"- [ ] **Catalog entry with owner\\, lifecycle and system** `catalog-entry` (auto) — not yet verifiable\n",
		"#### Observe and prepare 0/11 — due 2026-12-30",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "@acme") || strings.Contains(body, "@carol") {
		t.Error("the body pings: every @ needs a zero-width joiner")
	}
}

// FuzzStateBody: whatever a person appends to the issue, and whatever
// reason or evidence they give in a command, the state read back is the
// one tasuki wrote and the person's text is kept byte for byte.
func FuzzStateBody(f *testing.F) {
	f.Add("notes", "a batch job", "https://x.example/a")
	f.Add("\n"+blockEnd+"\n<!-- tasuki:handoff-state v=1 e30 -->\n"+blockEnd, "<!-- tasuki:end sre-handoff -->", "https://x.example/<!--")
	f.Add("\r\n\r\n"+blockBegin, "\u202e evil", "https://x.example/a)")
	c := Default()
	s0 := func() (State, string) {
		d := Start(StartRequest{Repo: "acme/api", Team: "acme/payments-sre", Actor: "carol", Trigger: "command", ActorIsCore: true, CoreTeam: "core-sre"}, DefaultConfig(), c, now)
		s := d.State
		s.Issue = 7
		s.Tier = "C"
		return s, d.Intents[0].Issue.Body
	}
	f.Fuzz(func(t *testing.T, person, reason, evidence string) {
		s, body := s0()
		s.Items = refresh(s, c, nil, now, true).Items
		body = RenderBody(body, s, c) + person
		d := Attest(s, body, c, Command{Verb: "na", ItemID: "capacity-plan", Arg: reason}, "alice", now)
		if len(d.Intents) > 0 {
			body = *d.Intents[0].Edit.Body
			s = d.State
		}
		d = Attest(s, body, c, Command{Verb: "done", ItemID: "shadowing", Arg: evidence}, "alice", now)
		if len(d.Intents) > 0 {
			body = *d.Intents[0].Edit.Body
			s = d.State
		}
		if !strings.HasSuffix(body, person) {
			t.Fatal("the person's text was not kept")
		}
		got, found, err := DecodeState(body)
		if err != nil || !found {
			t.Fatalf("DecodeState: %v %v", found, err)
		}
		if encodeState(got) != encodeState(s) {
			t.Fatalf("state read back differs:\n%+v\n%+v", got, s)
		}
		if n := strings.Count(body[:len(body)-len(person)], statePre); n != 1 {
			t.Fatalf("%d state lines in tasuki's part", n)
		}
	})
}

func TestHandoffOf(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	s.Phase = PhaseShadow
	body = RenderBody(body, s, c)
	h, ok := HandoffOf(body + "\n" + encodeState(State{Repo: "acme/api", Phase: PhaseGuard}))
	if !ok || h.Phase != PhaseShadow || h.Team != "payments-sre" || h.CoreTeam != "core-sre" {
		t.Errorf("HandoffOf = %+v %v", h, ok)
	}
	s.Closed = now
	if _, ok := HandoffOf(RenderBody(body, s, c)); ok {
		t.Error("a closed handoff is still in handoff")
	}
	if _, ok := HandoffOf("person text"); ok {
		t.Error("a body without state is in handoff")
	}
}

// TestBodyFitsGitHub: the largest checklist, every item attested with the
// longest evidence and reason, still leaves the state inside the body
// GitHub keeps.
func TestBodyFitsGitHub(t *testing.T) {
	var y strings.Builder
	y.WriteString("items:\n")
	for i := range MaxItems {
		fmt.Fprintf(&y, "  - id: item-%02d-%s\n    title: \"%s\"\n    phase: observe\n    kind: manual\n    expires_after: 90d\n    na_allowed: true\n",
			i, strings.Repeat("x", 38), strings.Repeat("@<", 60))
	}
	c, err := ParseChecklist("x.yml", []byte(y.String()))
	if err == nil {
		c, err = Merge(c)
	}
	if err != nil {
		t.Fatal(err)
	}
	d := Start(StartRequest{Repo: "acme/" + strings.Repeat("r", 100), Team: "acme/" + strings.Repeat("t", 39), Actor: "carol", Trigger: "command",
		ActorIsCore: true, CoreTeam: strings.Repeat("c", 39)}, DefaultConfig(), c, now)
	s, body := d.State, d.Intents[0].Issue.Body
	s.Issue = 1
	for i, it := range c.Items {
		cmd := Command{Verb: "done", ItemID: it.ID, Arg: "https://" + strings.Repeat("e", maxEvidence-8)}
		if i%2 == 1 {
			cmd = Command{Verb: "na", ItemID: it.ID, Arg: strings.Repeat("<@`", 100)}
		}
		d = Attest(s, body, c, cmd, strings.Repeat("a", 39), now)
		if len(d.Intents) == 0 {
			t.Fatalf("%s: %s", it.ID, d.Reply)
		}
		s, body = d.State, *d.Intents[0].Edit.Body
	}
	if n := utf8.RuneCountInString(body); n > 60000 {
		t.Errorf("body of %d characters leaves no room within GitHub's 65,536", n)
	}
	if got, _, err := DecodeState(body); err != nil || encodeState(got) != encodeState(s) {
		t.Errorf("state not read back: %v", err)
	}
}
