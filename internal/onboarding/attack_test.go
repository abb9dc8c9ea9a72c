package onboarding

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Attacks by the people who tick a handoff's items (their reasons,
// evidence links and item ids are copied into tasuki's issue and replies)
// and by whoever writes the CODEOWNERS file the transfer rewrites.

// attackTexts are what an attacker writes where tasuki copies text; each
// is also tried with its newlines turned into spaces (a command's
// arguments are one line).
func attackTexts(forged string) []struct{ name, text string } {
	return []struct{ name, text string }{
		{"a forged state line", forged},
		{"the block's end then a state line", blockEnd + "\n" + forged},
		{"the block's start", blockBegin + " x " + blockEnd},
		{"a marker", marker.New(MarkerIssue, "acme/api@2026-01-01").String()},
		{"zero-width inside the opener", "<!-\u200b- tasuki:end sre-handoff -->"},
		{"fullwidth opener", "＜!-- tasuki:end sre-handoff --＞"},
		{"RTL override", "\u202e" + forged + "\u202c"},
		{"line separators", "a\u2028" + forged + "\u2029b\u0085"},
		{"a table row and a heading", "| a | b |\n|---|---|\n## Phase"},
		{"a link to javascript", "[x](javascript:alert(1))"},
		{"an image", "![x](https://evil.example/track.png)"},
		{"a mention", "@acme/everyone @torvalds"},
		{"NUL and invalid UTF-8", "\x00\xff\xfe" + forged},
	}
}

// checkBody fails unless body is s rendered: one generated block at its
// start, holding one state line, that decodes to s.
func checkBody(t *testing.T, body string, want State) {
	t.Helper()
	if n := strings.Count(body, blockBegin); n != 1 {
		t.Errorf("%d block starts", n)
	}
	if n := strings.Count(body, statePre); n != 1 {
		t.Errorf("%d state lines in the body", n)
	}
	got, found, err := DecodeState(body)
	if err != nil || !found {
		t.Fatalf("DecodeState: %v %v\n%s", found, err, body)
	}
	got.Issue = want.Issue
	want.V = StateVersion
	if encodeState(got) != encodeState(want) {
		t.Errorf("decoded another state:\n got %+v\nwant %+v", got, want)
	}
	for _, m := range marker.Find(body) {
		if m.Kind != MarkerIssue || m.Key != issueMarker(want.Repo, want.Started).Key {
			t.Errorf("a marker tasuki did not write: %+v", m)
		}
	}
}

// A reason for /tasuki na is kept as data: it cannot end the generated
// block, add a state line, a marker, a heading or a table row, and the
// state read back is the one tasuki decided.
func TestAttackNAReasonIsData(t *testing.T) {
	c := Default()
	s0, body0 := started(t, c)
	s0.Tier = "C"
	forged := s0
	forged.Items = slices.Clone(s0.Items)
	for i := range forged.Items {
		forged.Items[i].Status = StatusPassed
	}
	for _, tt := range attackTexts(encodeState(forged)) {
		for _, arg := range []string{tt.text, strings.ReplaceAll(tt.text, "\n", " ")} {
			t.Run(tt.name, func(t *testing.T) {
				d := Attest(s0, body0, c, Command{Verb: "na", ItemID: "capacity-plan", Arg: arg}, "alice", now)
				st, _ := d.State.Item("capacity-plan")
				if st.Status != StatusNA || len(st.Reason) > maxReason+8 {
					t.Fatalf("na = %+v (%q)", st, d.Reply)
				}
				body := apply(t, body0, d)
				checkBody(t, body, d.State)
				block := body[:strings.Index(body, blockEnd)]
				for _, line := range strings.Split(block, "\n") {
					if strings.Contains(line, "capacity-plan") && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, "|") && !strings.Contains(line, "Phase")) {
						t.Errorf("the reason made a heading or row: %q", line)
					}
				}
				if strings.Contains(block, "](javascript:") || strings.Contains(block, "![x](") {
					t.Errorf("the reason made a link or an image:\n%s", block)
				}
				if strings.Contains(block, "@acme/everyone") || strings.Contains(block, "@torvalds") {
					t.Errorf("the reason pings:\n%s", block)
				}
				for _, m := range marker.Find(d.Reply) {
					t.Errorf("reply carries a marker %+v", m)
				}
			})
		}
	}
}

// Evidence for /tasuki done is a link only when it is a plain https URL:
// javascript:, data:, markdown-breaking, non-ASCII look-alikes and bidi
// controls are refused, and nothing is recorded.
func TestAttackEvidenceURLs(t *testing.T) {
	c := Default()
	s0, body0 := started(t, c)
	refused := []string{
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)",
		"http://example.com/", "//evil.example/x", "https:/evil.example", "https:evil.example",
		"https://example.com/a)[x](javascript:alert(1)", "https://example.com/<!--", "https://example.com/-->",
		"https://example.com/\u202eexe.txt", "https://exa\u200bmple.com/", "https://ｅｘａｍｐｌｅ.com/",
		"https://example.com/\"onmouseover=\"x", "https://example.com/'x'", "https://example.com/`x`",
		"https://user:pw@example.com/", "https://example.com/" + strings.Repeat("a", maxEvidence),
		"https://example.com/a|b", "https://example.com/{x}", "https://example.com/\\x", "https://",
	}
	for _, u := range refused {
		d := Attest(s0, body0, c, Command{Verb: "done", ItemID: "shadowing", Arg: u}, "alice", now)
		if d.Changed || len(d.Intents) != 0 {
			t.Errorf("evidence %q accepted: %q", u, d.Reply)
		}
		for _, m := range marker.Find(d.Reply) {
			t.Errorf("refusal of %q carries a marker %+v", u, m)
		}
	}
	// A valid link is rendered as the one link of the item, as given.
	ok := "https://docs.example.com/runbook#shadowing?x=1&y=*2*_3_~4~"
	d := Attest(s0, body0, c, Command{Verb: "done", ItemID: "shadowing", Arg: ok + " and a note <!-- x -->"}, "alice", now)
	if st, _ := d.State.Item("shadowing"); st.Evidence != ok {
		t.Fatalf("evidence = %q (%q)", st.Evidence, d.Reply)
	}
	body := apply(t, body0, d)
	checkBody(t, body, d.State)
	if !strings.Contains(body, "[evidence]("+ok+")") {
		t.Errorf("the evidence is not linked as given")
	}
}

// An item id is data too: a hostile one is refused without echoing a
// marker, and only ids of the checklist tick anything.
func TestAttackItemIDs(t *testing.T) {
	c := Default()
	s0, body0 := started(t, c)
	for _, id := range []string{
		"<!--", marker.New(MarkerIssue, "acme/api@2026-01-01").String(), "shadowing\u200b", "ｓｈａｄｏｗｉｎｇ", "\u202eshadowing",
		"SHADOWING\x00", strings.Repeat("a", 10000), "slo-as-code",
	} {
		d := Attest(s0, body0, c, Command{Verb: "done", ItemID: id, Arg: "https://example.com/x"}, "alice", now)
		if d.Changed || len(d.Intents) != 0 {
			t.Errorf("item %q ticked", id)
		}
		if len(d.Reply) > 2000 {
			t.Errorf("reply to a %d-byte id is %d bytes", len(id), len(d.Reply))
		}
		for _, m := range marker.Find(d.Reply) {
			t.Errorf("reply for %q carries a marker %+v", id, m)
		}
	}
}

// The transfer rewrite changes exactly the rules naming the outgoing team
// as an owner: not a team whose name merely starts alike, not a pattern
// or a comment that spells it, not an email address that contains it.
func TestAttackRewriteCODEOWNERSCrafted(t *testing.T) {
	from, to := []string{"@acme/core-sre"}, []string{"@acme/payments-sre"}
	same := []string{
		"/secure/ @acme/core-sre-admins\n",
		"/x/ @acme/core-srex @acme/core-sr\n",
		"/x/ @acme/core-sre@evil.example\n",
		"/x/ core-sre@acme.example\n",
		"@acme/core-sre @bob\n",                    // the pattern, not an owner
		"/a\\ @acme/core-sre/ @bob\n",              // an escaped space: still the pattern
		"# * @acme/core-sre\n",                     // a comment
		"   # /x/ @acme/core-sre\n",                // an indented comment
		"/x/ @bob # @acme/core-sre\n",              // a trailing comment
		"/x/ @bob #@acme/core-sre\n",               // a comment without a space
		"/x/ @acme/core-sre\x00\n",                 // another word
		"/x/ @acme/core\u2011sre\n",                // a look-alike hyphen
		"/x/ @ａcme/core-sre\n",                     // a fullwidth letter
		"/x/ @acme/core-sre\u200b\n",               // a zero-width tail
		"/bad[ @acme/core-sre\n",                   // a rule GitHub cannot read is left alone
		"/x/\u00a0@acme/core-sre\n",                // no ASCII space: one pattern
		"/x/ @acme/core-sre\r/y/ @acme/docs\r\n",   // a lone CR is no line end
		"/x/ @acme/core-sre\u2028/y/ @acme/docs\n", // nor is a line separator
	}
	for _, line := range same {
		got, err := RewriteCODEOWNERS([]byte(line), from, to, false)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if string(got) != line {
			t.Errorf("rewrote %q to %q", line, got)
		}
	}
	changed := []struct{ in, want string }{
		{"/x/ @ACME/Core-SRE\r\n", "/x/ @acme/payments-sre\r\n"},
		{"/x/ @acme/core-sre @bob @acme/core-sre # mine\n", "/x/ @acme/payments-sre @bob # mine\n"},
		{"/x/\t@bob\t@acme/core-sre\n", "/x/\t@bob @acme/payments-sre\n"},
		{"/x/ user@example.com @acme/core-sre\n", "/x/ user@example.com @acme/payments-sre\n"},
	}
	for _, tt := range changed {
		got, err := RewriteCODEOWNERS([]byte(tt.in), from, to, false)
		if err != nil || string(got) != tt.want {
			t.Errorf("RewriteCODEOWNERS(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// The incoming owners come from the handoff's state; one that is not
	// a single owner cannot add a rule.
	for _, bad := range []string{"@acme/payments-sre\n* @mallory", "@acme/payments-sre @mallory", "@acme/x#y", "", "not an owner"} {
		if got, err := RewriteCODEOWNERS([]byte("* @acme/core-sre\n"), from, []string{bad}, false); err == nil {
			t.Errorf("incoming owner %q accepted: %q", bad, got)
		}
	}
}

// People write below the generated block, up to GitHub's limit on a body.
// A tick that grows the block must not make the edit longer than GitHub
// takes: the writer would cut the end of the body, which is theirs. The
// block shrinks (compact, then minimal) to keep the notes; when even the
// minimal block has no room, the tick is refused with a reply saying why,
// and a verification posts one notice instead of editing.
func TestAttackTickDoesNotCutPeoplesNotes(t *testing.T) {
	c := Default()
	s, body0 := started(t, c)
	s.Tier = "C"
	body := RenderBody(body0, s, c)
	// fill tops the notes up so that the body is exactly GitHub's limit.
	fill := func(body string) (string, string) {
		_, end, ok := splitBlock(body)
		if !ok {
			t.Fatal("no block")
		}
		notes := "\n\n" + strings.Repeat("n", MaxBodyBytes-end-2)
		return body[:end] + notes, notes
	}
	var shrunk, refused bool
	for i := range 40 {
		var notes string
		body, notes = fill(body)
		reason := fmt.Sprintf("run %d: a batch job with no traffic at all, %s", i, strings.Repeat("r", 100))
		d := Attest(s, body, c, Command{Verb: "na", ItemID: "capacity-plan", Arg: reason}, "alice", now)
		edits := 0
		for _, in := range d.Intents {
			if in.Kind != intent.EditIssue || in.Edit.Body == nil {
				continue
			}
			edits++
			if n := len(*in.Edit.Body); n > MaxBodyBytes {
				t.Fatalf("tick %d: the edit is %d bytes, over GitHub's %d", i, n, MaxBodyBytes)
			}
			if !strings.HasSuffix(*in.Edit.Body, notes) {
				t.Fatalf("tick %d: people's notes changed", i)
			}
		}
		if edits == 0 {
			// Refused: nothing written, the state as it was, and why.
			if d.Changed || len(d.Intents) != 0 || !strings.Contains(d.Reply, "65,536") || encodeState(d.State) != encodeState(s) {
				t.Fatalf("tick %d: no edit, yet not a refusal: changed %v, %d intents, reply %q", i, d.Changed, len(d.Intents), d.Reply)
			}
			refused = true
			// A verification of the same body: one notice, no edit.
			v := Verify(s, body, c, RepoFacts{}, DefaultConfig(), now)
			if v.Changed || len(v.Intents) != 1 || v.Intents[0].Kind != intent.EnsureComment || !strings.Contains(v.Intents[0].Body, "65,536") {
				t.Errorf("verify on a full body: changed %v, intents %v", v.Changed, kinds(v))
			}
			break
		}
		st, _ := d.State.Item("capacity-plan")
		if st.Reason != oneLine(reason, maxReason) {
			t.Fatalf("tick %d: reason %q", i, st.Reason)
		}
		body = apply(t, body, d)
		if !strings.Contains(body, oneLine(reason, maxReason)) {
			shrunk = true // the block no longer shows reasons
		}
		checkBody(t, body, d.State)
		s = d.State
		// Each run grows the state: a new attestation on another item.
		s.Items = append(s.Items, ItemState{ID: fmt.Sprintf("extra-%02d", i), Status: StatusPassed, Reason: strings.Repeat("x", 150), By: "bob", At: now})
	}
	if !shrunk || !refused {
		t.Errorf("shrunk %v, refused %v: want both reached", shrunk, refused)
	}
}
