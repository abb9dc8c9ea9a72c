package postmortem

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseActionItems(f *testing.F) {
	f.Add(itemsBody)
	f.Add("## Action items\n- [ ] a #1\n- [x] b owner: @c type: prevent\n")
	f.Add("## action items\n<!-- - [ ] x\n```\n- [ ] y")
	f.Add("# Action items\n* [X] \u00e9 https://github.com/a/b/issues/99999999999999999999\n")
	f.Fuzz(func(t *testing.T, body string) {
		items := ParseActionItems(body)
		lines := strings.Split(body, "\n")
		for _, it := range items {
			if it.Line < 0 || it.Line >= len(lines) {
				t.Fatalf("line %d out of range", it.Line)
			}
			if !checkboxRe.MatchString(strings.TrimRight(lines[it.Line], "\r")) {
				t.Fatalf("line %d %q is not a checkbox", it.Line, lines[it.Line])
			}
			if it.Issue.Number < 0 {
				t.Fatalf("negative issue number %+v", it)
			}
			// Due and priority come only from their own words on the line.
			if !it.Due.IsZero() && !strings.Contains(strings.ToLower(lines[it.Line]), "due") {
				t.Fatalf("due %v without \"due\" on %q", it.Due, lines[it.Line])
			}
			if it.Priority != "" && (len(it.Priority) != 2 || it.Priority[0] != 'P' || it.Priority[1] < '0' || it.Priority[1] > '4' ||
				!strings.Contains(strings.ToLower(lines[it.Line]), "priority")) {
				t.Fatalf("priority %q from %q", it.Priority, lines[it.Line])
			}
			if it.Checked || it.Issue.Number != 0 {
				continue
			}
			// Linking an unlinked item keeps the item count and key and
			// gives it the issue.
			linked, ok := LinkItem(body, it.Key, IssueRef{Number: 7})
			if !ok {
				t.Fatalf("could not link %+v", it)
			}
			after := ParseActionItems(linked)
			if len(after) != len(items) {
				t.Fatalf("linking changed the item count %d -> %d", len(items), len(after))
			}
		}
	})
}

func FuzzUpdateGenerated(f *testing.F) {
	f.Add("a\n<!-- tasuki:begin facts -->\nx\n<!-- tasuki:end facts -->\nb", "new")
	f.Add("<!-- tasuki:begin facts -->x<!-- tasuki:end facts -->", "a\nb")
	f.Add("<!-- tasuki:end facts --><!-- tasuki:begin facts -->", "x")
	f.Add("no markers", "<!-- tasuki:begin facts -->")
	f.Fuzz(func(t *testing.T, body, content string) {
		sections := map[string]string{SectionFacts: content, SectionTimeline: content}
		got := UpdateGenerated(body, sections)
		if again := UpdateGenerated(got, sections); again != got {
			t.Fatalf("not idempotent:\n%q\n%q", got, again)
		}
		// Text before the first marker and after the last is the person's.
		first := strings.Index(body, "<!-- tasuki:")
		if first < 0 {
			if got != body {
				t.Fatalf("body without markers changed")
			}
			return
		}
		if !strings.HasPrefix(got, body[:first]) {
			t.Fatalf("prefix changed")
		}
		last := strings.LastIndex(body, "-->")
		if last >= 0 && !strings.HasSuffix(got, body[last+3:]) {
			t.Fatalf("suffix changed")
		}
		// A section whose markers are intact ends up holding the content.
		if _, ok := GeneratedSection(body, SectionFacts); ok {
			if _, ok := GeneratedSection(got, SectionFacts); !ok {
				t.Fatalf("facts markers lost")
			}
		}
	})
}

func FuzzImpactStart(f *testing.F) {
	f.Add("Impact started: 2024-05-01 14:00 UTC")
	f.Add("### Impact started\n\n2024-05-01 14:00 +02:00")
	f.Add("impact started: 2024-05-01T14:00:00Z")
	f.Add("Impact started: 2024-13-45 99:99 Europe/Nowhere")
	f.Fuzz(func(t *testing.T, body string) {
		got, err := ImpactStart(body, time.UTC)
		if err != nil && !got.IsZero() {
			t.Fatalf("error %v with time %v", err, got)
		}
		if err == nil && !got.IsZero() && got.Location() != time.UTC {
			t.Fatalf("time not in UTC: %v", got)
		}
	})
}

func FuzzLeadingTime(f *testing.F) {
	for _, s := range []string{"09:35 rolled back", "9:35 pm CET x", "23:59:59 Europe/Berlin", "2024-05-01 14:05 UTC x", "2024-05-01T14:05:00Z x",
		"25:00 x", "12:00 am", "09:35 +14:00", "09:35 -0000 x", "2024-02-30 10:00", "09:35 IST", "09:35 Etc/GMT+12 x", "09:35\tx", "0:00"} {
		f.Add(s, int64(1764064800), uint8(0))
	}
	locs := []string{"UTC", "Europe/Berlin", "Asia/Tokyo", "America/St_Johns", "Pacific/Kiritimati", "Australia/Lord_Howe"}
	f.Fuzz(func(t *testing.T, s string, unix int64, zone uint8) {
		loc, err := time.LoadLocation(locs[int(zone)%len(locs)])
		if err != nil {
			t.Skip(err)
		}
		// 1970 to 2100: the comment's time is a real GitHub timestamp.
		written := time.Unix(unix%4102444800, 0).UTC()
		if unix < 0 {
			written = time.Unix(-unix%4102444800, 0).UTC()
		}
		got, rest, err := LeadingTime(s, written, loc)
		switch {
		case err != nil || got.IsZero():
			if !got.IsZero() || rest != s {
				t.Fatalf("LeadingTime(%q) = %v, %q, %v: a failure must keep the text", s, got, rest, err)
			}
			return
		case got.Location() != time.UTC:
			t.Fatalf("time %v not in UTC", got)
		case !strings.HasSuffix(s, rest) || len(rest) >= len(s):
			t.Fatalf("rest %q is not what follows the time in %q", rest, s)
		}
		// A time of day is the latest such time at or before the comment.
		if first, _ := nextWord(s); clockRe.MatchString(first) {
			if got.After(written) || got.Before(written.Add(-26*time.Hour)) {
				t.Fatalf("LeadingTime(%q) at %v in %v = %v, not within the day before", s, written, loc, got)
			}
		}
	})
}

// FuzzDecodeState: whatever a body holds, DecodeState either finds no
// block, fails, or returns the record of its last block, which encodes
// back to that same block when the body was one tasuki wrote.
func FuzzDecodeState(f *testing.F) {
	f.Add("", "erin", int64(3))
	f.Add(EncodeState(Record{Approval: &Approval{By: "erin"}}), "x", int64(0))
	f.Add("<!-- tasuki:postmortem-state v=1 e30 -->\n<!-- tasuki:postmortem-state v=1 !! -->", "", int64(-1))
	f.Fuzz(func(t *testing.T, prefix, by string, id int64) {
		if len(prefix) > 1<<16 || !utf8.ValidString(by) {
			return // JSON cannot carry invalid UTF-8; logins are ASCII
		}
		r := Record{V: StateVersion, Approval: &Approval{By: by, CommentID: id}, Reminders: []Reminded{{Subject: by, Due: "2024-05-13", Step: 1}}}
		block := EncodeState(r)
		got, found, err := DecodeState(prefix + "\n" + block + "\n\n<!-- tasuki:postmortem-approval key=1 v=1 -->")
		if err != nil || !found {
			t.Fatalf("tasuki's block after %q not read: %v", prefix, err)
		}
		if EncodeState(got) != block {
			t.Fatalf("read back %+v, wrote %+v", got, r)
		}
		DecodeState(prefix) // must not panic
	})
}

// FuzzMissingSections: a required section is missing exactly when no
// alternative's text is Filled, and writing a plain word under a heading
// of its own always fills it.
func FuzzMissingSections(f *testing.F) {
	f.Add("## Summary\n\n> _prompt_\n", "Summary")
	f.Add("## Summary\n<!--\n## Impact\n-->\ntext", "Impact|Summary")
	f.Add("```\n## Summary\n```\nx", "Summary")
	f.Fuzz(func(t *testing.T, body, required string) {
		if len(body) > 1<<16 || len(required) > 256 {
			return
		}
		missing := MissingSections(body, []string{required})
		filled := false
		for _, alt := range strings.Split(required, "|") {
			if text, ok := Section(body, strings.TrimSpace(alt)); ok && Filled(text) {
				filled = true
			}
		}
		if filled != (len(missing) == 0) {
			t.Fatalf("missing %v, filled %v", missing, filled)
		}
		name := strings.Join(strings.Fields(strings.Split(required, "|")[0]), " ")
		if name == "" || strings.ContainsAny(name, "#`~<>") || !utf8.ValidString(name) {
			return
		}
		written := "# Zzz\n\n## " + name + "\n\nWritten\n"
		if got := MissingSections(written, []string{required}); len(got) != 0 {
			t.Fatalf("%q written under its heading is still missing", name)
		}
	})
}
