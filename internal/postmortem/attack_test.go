package postmortem

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Attacks by the people whose text tasuki copies into its own comments on
// a postmortem (action item owners and texts, the sign-off's comment URL,
// the reviewer team of the configuration): none of it may form a
// postmortem-state block or a marker that the sweep, reading tasuki's
// comments, would take for tasuki's own.

// forgedApproval is a state block signing the postmortem off by "mallory".
var forgedApproval = EncodeState(Record{Approval: &Approval{By: "mallory", At: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}})

// attackTexts are the texts an attacker writes where tasuki copies text.
var attackTexts = []struct{ name, text string }{
	{"a state block", forgedApproval},
	{"a state block on its own line", "x\n" + forgedApproval + "\ny"},
	{"a state block after CR", "x\r" + forgedApproval + "\r"},
	{"a closed comment then a block", "--> " + forgedApproval},
	{"a marker", marker.New(KindComplete, "acme-payments-50").String()},
	{"zero-width inside the comment opener", "<!-\u200b- tasuki:postmortem-state v=1 e30 -->"},
	{"fullwidth comment opener", "＜!-- tasuki:postmortem-state v=1 e30 --＞"},
	{"RTL override", "\u202e" + forgedApproval + "\u202c"},
	{"line separator", "x\u2028" + forgedApproval + "\u2029y"},
	{"NUL and invalid UTF-8", "\x00\xff" + forgedApproval},
}

// checkOnlyOwn fails when body carries a state block other than want's or
// a marker tasuki did not put there.
func checkOnlyOwn(t *testing.T, body string, want Record, own ...marker.Marker) {
	t.Helper()
	blocks := stateRe.FindAllString(body, -1)
	if len(blocks) != 1 || blocks[0] != EncodeState(want) {
		t.Errorf("state blocks %q, want only tasuki's %q\n%s", blocks, EncodeState(want), body)
	}
	got, found, err := DecodeState(body)
	if err != nil || !found || EncodeState(got) != EncodeState(want) {
		t.Errorf("DecodeState = %+v, %v, %v; want tasuki's record", got, found, err)
	}
	for _, m := range marker.Find(body) {
		ok := false
		for _, o := range own {
			ok = ok || m.Kind == o.Kind && m.Key == o.Key
		}
		if !ok {
			t.Errorf("a marker tasuki did not write: %+v\n%s", m, body)
		}
	}
}

// The sign-off reply copies the comment's URL (from the payload) and the
// configured reviewer team; its state records only the real approver.
func TestAttackApprovalReplyCannotBeForged(t *testing.T) {
	now := at("2024-05-10T10:00:00Z")
	for _, h := range attackTexts {
		t.Run(h.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RequiredSections = []string{"Summary"}
			cfg.ReviewerTeam = "reviewers" + h.text
			st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Authors: []string{"alice"},
				Body: "## Summary\n\nwritten\n\n## Action items\n\n- [ ] " + strings.ReplaceAll(h.text, "\n", " ") + "\n"}
			a := Approval{By: "erin", At: now, CommentID: 9, URL: "https://github.com/acme/payments/issues/50#issuecomment-9" + h.text}
			body, ok := ApprovalReply(st, a, cfg)
			if !ok {
				t.Fatalf("refused: %s", body)
			}
			r, _, _ := DecodeState(body)
			if r.Approval == nil || r.Approval.By != "erin" || r.Approval.URL != "" {
				t.Errorf("recorded %+v: a attackTexts URL must not be kept", r.Approval)
			}
			want := Record{Approval: &Approval{By: "erin", At: now, CommentID: 9}}
			checkOnlyOwn(t, body, want, ApprovalMarker(9))

			// The refusal (the author signing off) records nothing, so a
			// block in its copied text would be read as the only one.
			body, ok = ApprovalReply(st, Approval{By: "Alice", At: now, CommentID: 10}, cfg)
			if ok {
				t.Fatal("the author signed off")
			}
			if r, found, err := DecodeState(body); found || err != nil {
				t.Errorf("the refusal carries a state block: %+v %v\n%s", r, err, body)
			}
		})
	}
}

// The closing note copies the sign-off's URL from a record; the reminders
// copy the action items' texts and owners. Neither can carry a block.
func TestAttackCompletionAndRemindersCannotBeForged(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequiredSections = nil
	for _, h := range attackTexts {
		t.Run(h.name, func(t *testing.T) {
			line := strings.NewReplacer("\n", " ", "\r", " ").Replace(h.text)
			facts := "<!-- tasuki:begin facts -->\n- **Incident commander:** `ic`\n" + marker.New(KindDue, "2024-05-13").String() + "\n<!-- tasuki:end facts -->\n"
			body := facts + "## Action items\n\n- [ ] " + line + " — owner: @bob — due: 2024-05-15\n"
			st := State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Assignees: []string{"dave"}, Body: body}
			ins := Decide(st, at("2024-05-20T08:00:00Z"), cfg)
			if len(ins) != 1 || ins[0].Kind != intent.EnsureComment {
				t.Fatalf("intents %v", ins)
			}
			r, found, err := DecodeState(ins[0].Body)
			if !found || err != nil {
				t.Fatalf("reminder state: %v %v", found, err)
			}
			for _, rm := range r.Reminders {
				if rm.Due == "2024-05-01" {
					t.Errorf("forged reminder %+v", rm)
				}
			}
			checkOnlyOwn(t, ins[0].Body, r, ins[0].Marker)

			done := "## Action items\n\n- [x] " + line + "\n"
			st = State{Owner: "acme", Repo: "payments", Number: 50, Open: true, Body: done,
				Records: []Record{{Approval: &Approval{By: "erin", At: at("2024-05-10T10:00:00Z"), URL: "https://x/" + line}}}}
			ins = Decide(st, at("2024-05-20T08:00:00Z"), cfg)
			if len(ins) != 3 || ins[0].Kind != intent.EnsureComment {
				t.Fatalf("intents %v", ins)
			}
			if _, found, _ := DecodeState(ins[0].Body); found {
				t.Errorf("the closing note carries a state block:\n%s", ins[0].Body)
			}
			if strings.Contains(ins[0].Body, "](") && strings.ContainsAny(line, "<>()\n") {
				t.Errorf("a attackTexts URL was linked:\n%s", ins[0].Body)
			}
		})
	}
}

// Follow-up issues copy the item's text into their title and body.
func TestAttackFollowupCannotBeForged(t *testing.T) {
	cfg := DefaultConfig()
	for _, h := range attackTexts {
		t.Run(h.name, func(t *testing.T) {
			line := strings.NewReplacer("\n", " ", "\r", " ").Replace(h.text)
			st := State{Owner: "acme", Repo: "payments", Number: 50, Body: "## Action items\n\n- [ ] " + line + " — owner: @bob\n"}
			fus := Followups(st, "https://github.com/acme/payments/issues/50", cfg)
			if len(fus) != 1 {
				t.Fatalf("%d follow-ups", len(fus))
			}
			for _, m := range marker.Find(fus[0].Body) {
				if m.Kind != KindItem {
					t.Errorf("a marker tasuki did not write: %+v\n%s", m, fus[0].Body)
				}
			}
			if strings.Contains(fus[0].Body, "<!-- tasuki:postmortem-state") {
				t.Errorf("a state block in the follow-up:\n%s", fus[0].Body)
			}
		})
	}
}

// Who signed off is compared with the authors as GitHub compares logins:
// case aside, with or without "@"; bots and empty logins never count.
func TestAttackApprovalByAnAlias(t *testing.T) {
	authors := []string{"Codertocat"}
	for _, by := range []string{"codertocat", "CODERTOCAT", "@Codertocat", "@codertocat", "", "dependabot[bot]", "Renovate[BOT]"} {
		if a := ApprovalOf([]Record{{Approval: &Approval{By: by}}}, authors); a != nil {
			t.Errorf("sign-off by %q counted", by)
		}
		if _, ok := ApprovalReply(State{Open: true, Authors: authors}, Approval{By: by, CommentID: 1}, DefaultConfig()); ok {
			t.Errorf("ApprovalReply accepted %q", by)
		}
	}
	// The first valid sign-off wins whatever stale ones come before it.
	recs := []Record{{}, {Approval: &Approval{By: "CoderToCat"}}, {Approval: &Approval{By: "erin"}}, {Approval: &Approval{By: "frank"}}}
	if a := ApprovalOf(recs, authors); a == nil || a.By != "erin" {
		t.Errorf("ApprovalOf = %+v, want erin's", a)
	}
}

// Evidence links tasuki writes come only from https URLs a link cannot
// break out of.
func TestAttackSafeURL(t *testing.T) {
	for _, u := range []string{
		"javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "http://example.com",
		"https://x/a)[b](javascript:alert(1)", "https://x/<!--", "https://x/\nhttps://y", "https://x/\"onmouseover=", " https://x",
		"vbscript:x", "//evil.example", "https:evil",
	} {
		if got := link("t", u); got != "t" {
			t.Errorf("link(%q) = %q", u, got)
		}
	}
}

// A state block is only what tasuki writes: bounded, and of ASCII.
func TestAttackDecodeStateBounds(t *testing.T) {
	big := "<!-- tasuki:postmortem-state v=1 " + strings.Repeat("A", maxStateBytes+4) + " -->"
	if _, found, err := DecodeState(big); !found || err == nil {
		t.Errorf("an oversized block: found %v err %v", found, err)
	}
	for _, s := range []string{
		"<!-- tasuki:postmortem-state v=1 e30 --> trailing",
		" <!-- tasuki:postmortem-state v=1 e30 -->",
		"<!-- tasuki:postmortem-state v=1 e30 -->x",
		"<!-\u200b- tasuki:postmortem-state v=1 e30 -->",
		"＜!-- tasuki:postmortem-state v=1 e30 -->",
		"<!-- tasuki:postmortem-state v=1 e\u200b30 -->",
		"<!-- tasuki:postmortem-state v=１ e30 -->",
	} {
		if _, found, _ := DecodeState(s); found {
			t.Errorf("%q read as a block", s)
		}
	}
	// A body of megabytes without a block is read in linear time (RE2);
	// bounded here by its allocation, not a timer.
	huge := strings.Repeat("<!-- tasuki:postmortem-state v=1 ", 1<<15)
	if alloc := allocated(func() { DecodeState(huge) }); alloc > 16<<20 {
		t.Errorf("DecodeState of %d bytes allocated %d", len(huge), alloc)
	}
}

// One /tasuki followup opens at most MaxFollowups issues however many
// items a body holds, says how many are left, and the next run (the
// first ones linked) takes the next ones.
func TestAttackFollowupsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("## Action items\n\n")
	for i := range 2000 {
		b.WriteString("- [ ] i" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + itoa(i) + "\n")
	}
	st := State{Owner: "acme", Repo: "payments", Number: 50, Body: b.String()}
	next, left := NextFollowups(st, "", DefaultConfig())
	if len(next) != MaxFollowups || left != 2000-MaxFollowups {
		t.Fatalf("%d follow-ups, %d left", len(next), left)
	}
	if r := FollowupReply([]IssueRef{{Number: 1}}, left, 9); !strings.Contains(r, itoa(left)+" more") {
		t.Errorf("reply does not say what is left:\n%s", r)
	}
	body := st.Body
	for i, fu := range next {
		body, _ = LinkItem(body, fu.Item.Key, IssueRef{Number: 100 + i})
	}
	again, left2 := NextFollowups(State{Owner: "acme", Repo: "payments", Number: 50, Body: body}, "", DefaultConfig())
	if left2 != left-MaxFollowups || again[0].Item.Key == next[0].Item.Key {
		t.Errorf("second run: %d left, first %q", left2, again[0].Item.Text)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// What anyone who may comment on an incident (on a public repository:
// anyone) writes is copied into its postmortem: a /timeline comment as
// long as GitHub allows, hundreds of them, thousands of commenters, an
// incident body of 64 KiB. None of it may stop the postmortem from
// opening (a body over GitHub's limit fails the scaffold), and the
// postmortem stays within that limit.
func TestAttackIncidentTextCannotOverflowThePostmortem(t *testing.T) {
	long := strings.Repeat("spam ", 65000/5)
	tests := []struct {
		name string
		edit func(*Incident, *Facts)
	}{
		{"one /timeline comment of 64 KiB", func(_ *Incident, f *Facts) {
			f.Comments = append(f.Comments, Comment{ID: 99, Author: "mallory", Body: "/timeline " + long, At: at("2024-05-03T20:16:00Z")})
		}},
		{"a /timeline comment with an unreadable time", func(_ *Incident, f *Facts) {
			f.Comments = append(f.Comments, Comment{ID: 98, Author: "mallory", Body: "/timeline 2024-13-99 25:99 " + long, At: at("2024-05-03T20:16:00Z")})
			f.Comments = append(f.Comments, Comment{ID: 97, Author: "mallory", Body: "/timeline 10:00 " + strings.Repeat("Europe/", 9000) + " x", At: at("2024-05-03T20:16:00Z")})
		}},
		{"400 /timeline comments of 1,000 characters", func(_ *Incident, f *Facts) {
			for i := range 400 {
				f.Comments = append(f.Comments, Comment{ID: int64(100 + i), Author: "mallory", Body: "/timeline " + long[:1000], At: at("2024-05-03T20:16:00Z")})
			}
		}},
		{"3,000 commenters", func(_ *Incident, f *Facts) {
			for i := range 3000 {
				f.Comments = append(f.Comments, Comment{ID: int64(100 + i), Author: "mallory-sock-puppet-" + itoa(i), Body: "+1", At: at("2024-05-03T20:16:00Z")})
			}
		}},
		{"an incident body of 64 KiB", func(inc *Incident, _ *Facts) {
			inc.Body = "### How was it detected?\n\n" + long + "\n\nImpact started: 2024-05-03 18:40 UTC\n\n" + long[:30000]
		}},
		{"all of it", func(inc *Incident, f *Facts) {
			inc.Body = "### How was it detected?\n\n" + long
			for i := range 400 {
				f.Comments = append(f.Comments, Comment{ID: int64(100 + i), Author: "m" + itoa(i), Body: "/timeline " + long, At: at("2024-05-03T20:16:00Z")})
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc, facts := closedIncident()
			tt.edit(&inc, &facts)
			doc, err := Scaffold(inc, facts, nil, DefaultConfig())
			if err != nil {
				t.Fatalf("the postmortem does not open: %v", err)
			}
			if len(doc.Body) > MaxBody {
				t.Errorf("body of %d bytes", len(doc.Body))
			}
			// Updated later from the same incident, people's writing
			// after the generated sections is kept whole.
			written := doc.Body + "\n\n## Notes\n\n" + strings.Repeat("what we learnt ", 200)
			body := UpdateGenerated(written, Sections(inc, facts, DefaultConfig()))
			for _, in := range UpdateIntents(7, written, body, nil, "", DefaultConfig()) {
				if in.Kind == intent.EditIssue && (len(*in.Edit.Body) > MaxBody || !strings.HasSuffix(*in.Edit.Body, "what we learnt ")) {
					t.Errorf("an update of %d bytes would be cut by the writer, losing people's text", len(*in.Edit.Body))
				}
			}
		})
	}
}

// An update whose body GitHub would not take whole is not written: the
// writer would cut the end, which is what people wrote.
func TestAttackUpdateNeverCutsPeoplesText(t *testing.T) {
	old := "<!-- tasuki:begin timeline -->\nx\n<!-- tasuki:end timeline -->\n## Notes\nmine\n"
	big := strings.Replace(old, "\nx\n", "\n"+strings.Repeat("y", MaxBody)+"\n", 1)
	for _, in := range UpdateIntents(7, old, big, nil, "", DefaultConfig()) {
		if in.Kind == intent.EditIssue {
			t.Errorf("an edit of %d bytes", len(*in.Edit.Body))
		}
	}
}
