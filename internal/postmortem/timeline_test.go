package postmortem

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// timelineTexts renders entries' texts, one per line, without the times.
func timelineTexts(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.At.UTC().Format("15:04") + " " + e.Text
	}
	return out
}

func TestTimelineSeverityAndReplays(t *testing.T) {
	cfg := DefaultConfig()
	ev := func(kind, at, actor, label string) Event {
		return Event{Kind: kind, At: at2(at), Actor: actor, Label: label}
	}
	tests := []struct {
		name   string
		events []Event
		want   []string
	}{
		{
			name: "the same severity added again is no change",
			events: []Event{
				ev("labeled", "10:00", "alice", "sev2"),
				ev("labeled", "10:05", "bob", "sev2"),
				ev("labeled", "10:06", "bob", "SEV2"),
			},
			want: []string{"10:00 severity set to `sev2` by `alice`"},
		},
		{
			name: "a replayed event appears once",
			events: []Event{
				ev("labeled", "10:00", "alice", "sev3"),
				ev("labeled", "10:01", "bob", "sev2"),
				ev("labeled", "10:01", "bob", "sev2"),
				{Kind: "assigned", At: at2("10:02"), Actor: "bob", Assignee: "carol"},
				{Kind: "assigned", At: at2("10:02"), Actor: "Bob", Assignee: "Carol"},
				ev("closed", "11:00", "bob", ""),
				ev("closed", "11:00", "bob", ""),
			},
			want: []string{
				"10:00 severity set to `sev3` by `alice`",
				"10:01 severity changed from `sev3` to `sev2` by `bob`",
				"10:02 assigned to `carol` by `bob`",
				"11:00 incident closed (resolved) by `bob`",
			},
		},
		{
			name: "the same kind at another time or by another actor is kept",
			events: []Event{
				ev("closed", "11:00", "bob", ""),
				ev("reopened", "11:10", "carol", ""),
				ev("closed", "11:20", "carol", ""),
			},
			want: []string{
				"11:00 incident closed (resolved) by `bob`",
				"11:10 incident reopened by `carol`",
				"11:20 incident closed (resolved) by `carol`",
			},
		},
		{
			name: "removed and added again is told",
			events: []Event{
				ev("labeled", "10:00", "alice", "sev2"),
				ev("unlabeled", "10:05", "alice", "sev2"),
				ev("unlabeled", "10:06", "alice", "sev2"),
				ev("labeled", "10:07", "alice", "sev2"),
			},
			want: []string{
				"10:00 severity set to `sev2` by `alice`",
				"10:05 severity `sev2` removed by `alice`",
				"10:07 severity set to `sev2` by `alice`",
			},
		},
		{
			name: "a lower severity beside a higher one changes nothing",
			events: []Event{
				ev("labeled", "10:00", "alice", "sev1"),
				ev("labeled", "10:05", "bob", "sev3"),
				ev("unlabeled", "10:10", "bob", "sev1"),
			},
			want: []string{
				"10:00 severity set to `sev1` by `alice`",
				"10:05 severity label `sev3` added by `bob`; severity stays `sev1`, the highest",
				"10:10 severity `sev1` removed by `bob`; severity now `sev3`",
			},
		},
		{
			name: "removing a label the events never added is still told",
			events: []Event{
				ev("unlabeled", "10:00", "alice", "sev2"),
				ev("unlabeled", "10:01", "alice", "incident"),
				ev("unlabeled", "10:02", "alice", "bug"),
			},
			want: []string{
				"10:00 severity `sev2` removed by `alice`",
				"10:01 incident label `incident` removed by `alice`",
				"10:02 unlabeled `bug` by `alice`",
			},
		},
		{
			name: "other labels replayed appear once",
			events: []Event{
				ev("labeled", "10:00", "alice", "incident"),
				ev("labeled", "10:03", "alice", "incident"),
				ev("labeled", "10:04", "alice", "bug"),
				ev("labeled", "10:04", "alice", "bug"),
			},
			want: []string{
				"10:00 declared an incident (label `incident`) by `alice`",
				"10:04 labeled `bug` by `alice`",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := timelineTexts(Timeline(tt.events, nil, cfg))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
			for _, line := range got {
				if m := regexp.MustCompile("from `([^`]*)` to `([^`]*)`").FindStringSubmatch(line); m != nil && strings.EqualFold(m[1], m[2]) {
					t.Errorf("no-op change: %s", line)
				}
			}
		})
	}
}

func TestTimelineCommentsListedTwice(t *testing.T) {
	c := Comment{ID: 7, Author: "bob", Body: "/timeline restarted the pods", At: at2("10:00")}
	got := timelineTexts(Timeline(nil, []Comment{c, c}, DefaultConfig()))
	if diff := cmp.Diff([]string{"10:00 restarted the pods (by `bob`)"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// at2 is 2024-05-01 at HH:MM UTC.
func at2(hhmm string) time.Time { return at("2024-05-01T" + hhmm + ":00Z") }

func TestLeadingTime(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name    string
		in      string
		written string // RFC 3339, when the comment was written
		loc     *time.Location
		want    string // RFC 3339 UTC, "" = no time
		rest    string
		err     string // substring, "" = no error
	}{
		{"time of day, utc", "09:35 rolled back the deploy", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "rolled back the deploy", ""},
		{"later than the comment is yesterday", "23:50 deploy started", "2026-11-25T00:20:00Z", time.UTC, "2026-11-24T23:50:00Z", "deploy started", ""},
		{"the comment's minute is today", "10:00 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T10:00:00Z", "x", ""},
		{"in the configured zone", "09:35 rolled back", "2026-11-25T10:00:00Z", berlin, "2026-11-25T08:35:00Z", "rolled back", ""},
		// 00:30 UTC is 01:30 in Berlin on the 26th: 01:10 Berlin that day.
		{"the comment's date in the zone", "01:10 x", "2026-11-26T00:30:00Z", berlin, "2026-11-26T00:10:00Z", "x", ""},
		// Written 23:30 UTC (08:30 JST next day): 08:00 JST is the 26th.
		{"the date moves with the zone", "08:00 pager fired", "2026-11-25T23:30:00Z", tokyo, "2026-11-25T23:00:00Z", "pager fired", ""},
		{"summer time in the configured zone", "09:35 x", "2026-07-01T10:00:00Z", berlin, "2026-07-01T07:35:00Z", "x", ""},
		{"explicit utc", "09:35 UTC rolled back", "2026-11-25T10:00:00Z", berlin, "2026-11-25T09:35:00Z", "rolled back", ""},
		{"explicit utc after the comment", "09:35 utc x", "2026-11-25T09:00:00Z", berlin, "2026-11-24T09:35:00Z", "x", ""},
		{"known abbreviation", "09:35 CET rolled back", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T08:35:00Z", "rolled back", ""},
		{"known abbreviation in summer is its own offset", "09:35 CEST x", "2026-07-01T10:00:00Z", time.UTC, "2026-07-01T07:35:00Z", "x", ""},
		{"pacific", "01:35 PDT x", "2026-07-01T10:00:00Z", time.UTC, "2026-07-01T08:35:00Z", "x", ""},
		{"the zone's own abbreviation", "09:35 JST x", "2026-11-25T10:00:00Z", tokyo, "2026-11-25T00:35:00Z", "x", ""},
		{"iana name", "04:35 America/New_York x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "x", ""},
		{"offset", "11:35 +02:00 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "x", ""},
		{"compact offset", "04:35 -0500 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "x", ""},
		{"seconds", "09:35:20 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:20Z", "x", ""},
		{"one-digit hour", "9:35 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "x", ""},
		{"pm", "9:35 pm x", "2026-11-25T22:00:00Z", time.UTC, "2026-11-25T21:35:00Z", "x", ""},
		{"pm attached", "9:35PM UTC x", "2026-11-25T22:00:00Z", berlin, "2026-11-25T21:35:00Z", "x", ""},
		{"12 am", "12:05 am x", "2026-11-25T22:00:00Z", time.UTC, "2026-11-25T00:05:00Z", "x", ""},
		{"12 pm", "12:05 p.m. x", "2026-11-25T22:00:00Z", time.UTC, "2026-11-25T12:05:00Z", "x", ""},
		{"a word after the time is text", "09:35 DNS failover", "2026-11-25T10:00:00Z", berlin, "2026-11-25T08:35:00Z", "DNS failover", ""},
		{"a path after the time is text", "09:35 payments/api restarted", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "payments/api restarted", ""},
		{"a dash after the time is text", "09:35 - restarted", "2026-11-25T10:00:00Z", time.UTC, "2026-11-25T09:35:00Z", "- restarted", ""},
		{"date and time", "2026-11-24 14:05 UTC x", "2026-11-25T10:00:00Z", berlin, "2026-11-24T14:05:00Z", "x", ""},
		{"date and time in the configured zone", "2026-11-24 14:05 x", "2026-11-25T10:00:00Z", berlin, "2026-11-24T13:05:00Z", "x", ""},
		{"date and known abbreviation", "2026-11-24 14:05 EET x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-24T12:05:00Z", "x", ""},
		{"rfc 3339", "2026-11-24T14:05:00+01:00 x", "2026-11-25T10:00:00Z", time.UTC, "2026-11-24T13:05:00Z", "x", ""},
		{"no time", "rolled back", "2026-11-25T10:00:00Z", time.UTC, "", "rolled back", ""},
		{"a range is no time", "09:35-09:50 flapping", "2026-11-25T10:00:00Z", time.UTC, "", "09:35-09:50 flapping", ""},
		{"a date alone is no time", "2026-11-24 outage began", "2026-11-25T10:00:00Z", time.UTC, "", "2026-11-24 outage began", ""},
		{"empty", "", "2026-11-25T10:00:00Z", time.UTC, "", "", ""},
		{"hour out of range", "25:00 x", "2026-11-25T10:00:00Z", time.UTC, "", "25:00 x", "25:00 is not a time of day"},
		{"minute out of range", "09:75 x", "2026-11-25T10:00:00Z", time.UTC, "", "09:75 x", "09:75 is not a time of day"},
		{"13 pm", "13:00 pm x", "2026-11-25T10:00:00Z", time.UTC, "", "13:00 pm x", "13:00 pm is not a time of day"},
		{"no such date", "2026-02-30 10:00 x", "2026-11-25T10:00:00Z", time.UTC, "", "2026-02-30 10:00 x", "2026-02-30 is not a date"},
		{"ambiguous abbreviation", "09:35 IST x", "2026-11-25T10:00:00Z", time.UTC, "", "09:35 IST x", `zone "IST" is ambiguous`},
		{"ambiguous EST", "2026-11-24 09:35 EST x", "2026-11-25T10:00:00Z", berlin, "", "2026-11-24 09:35 EST x", `zone "EST" is ambiguous`},
		{"unknown iana name", "09:35 Europe/Nowhere x", "2026-11-25T10:00:00Z", time.UTC, "", "09:35 Europe/Nowhere x", `unknown time zone "Europe/Nowhere"`},
		{"bad offset", "09:35 +25:00 x", "2026-11-25T10:00:00Z", time.UTC, "", "09:35 +25:00 x", "want +HH:MM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := LeadingTime(tt.in, at(tt.written), tt.loc)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			gs := ""
			if !got.IsZero() {
				gs = got.Format(time.RFC3339)
				if got.Location() != time.UTC {
					t.Errorf("time %v not in UTC", got)
				}
			}
			if gs != tt.want || rest != tt.rest {
				t.Errorf("got %q rest %q, want %q rest %q", gs, rest, tt.want, tt.rest)
			}
		})
	}
}

func TestTimelineCommentTimes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timezone = "Europe/Berlin"
	comments := []Comment{
		{ID: 1, Author: "bob", Body: "/timeline 09:35 rolled back payments-api to v2.14.1; 502s stopped", At: at("2026-11-25T09:10:00Z"), URL: "https://github.com/acme/api/issues/1#issuecomment-1"},
		{ID: 2, Author: "erin", Body: "/timeline: 23:55 UTC first alert", At: at("2026-11-25T00:05:00Z")},
		{ID: 3, Author: "erin", Body: "/timeline 25:61 typo in the time", At: at("2026-11-25T09:20:00Z")},
		{ID: 4, Author: "erin", Body: "/timeline 10:00 IST vendor called", At: at("2026-11-25T09:30:00Z")},
		{ID: 5, Author: "erin", Body: "/timeline 09:00", At: at("2026-11-25T09:40:00Z")},
	}
	got := RenderTimeline(Timeline(nil, comments, cfg), cfg)
	want := strings.Join([]string{
		"- **2026-11-24 23:55 UTC (2026-11-25 00:55 CET)** — first alert (by `erin`)",
		"- **2026-11-25 08:35 UTC (09:35 CET)** — rolled back payments-api to v2.14.1; 502s stopped ([by `bob`](https://github.com/acme/api/issues/1#issuecomment-1))",
		"- **2026-11-25 09:20 UTC (10:20 CET)** — 25:61 typo in the time (by `erin`) — _time not read: 25:61 is not a time of day_",
		"- **2026-11-25 09:30 UTC (10:30 CET)** — 10:00 IST vendor called (by `erin`) — _time not read: zone \"IST\" is ambiguous; use UTC, an offset like +02:00 or an IANA name_",
	}, "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// gfm renders markdown as GitHub does as far as goldmark can, raw HTML
// included (as GitHub renders <details>), so an injected tag would show.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))

func renderMD(t *testing.T, md string) string {
	t.Helper()
	var b bytes.Buffer
	if err := gfm.Convert([]byte(md), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var hostile = []string{
	"<script>alert(1)</script>",
	"</details><details open><summary>x",
	"<img src=x onerror=alert(1)>",
	"[click](https://evil.example) and [ref][1]",
	"![img](https://evil.example/x.png)",
	"**bold** __strong__ *em* _em_ ~~strike~~ ~x~ `code` ``co`de``",
	"@everyone @acme/sre please look",
	"see https://evil.example/a_b and www.evil.example and <https://evil.example>",
	"mail ops@evil.example",
	"&lt;b&gt; &#64;x &amp;",
	"a | b | c",
	`back\slash \*not em\*`,
	"$x^2$ math",
	"<!-- hidden -->",
	"# heading",
	"- list",
	"1. ordered",
	"> quote",
	"---",
	"===",
	"[^1] footnote",
	"rolled back payments-api to v2.14.1; 502s stopped",
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

// Hostile timeline comments and incident titles render as exactly their
// text: no HTML, link, image, mention or formatting survives, only the
// markup tasuki itself writes around them.
func TestTimelineAndTitleRenderSafely(t *testing.T) {
	cfg := DefaultConfig()
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			// mdtext breaks "<!--" with a zero-width space (marker.Defang).
			want := html.EscapeString(marker.Defang(strings.ReplaceAll(s, "@", "@"+mdtext.ZWJ)))
			c := Comment{ID: 1, Author: "bob", Body: "/timeline 09:35 " + s, At: at("2026-11-25T10:00:00Z"), URL: "https://github.com/acme/api/issues/1#issuecomment-1"}
			md := RenderTimeline(Timeline(nil, []Comment{c}, cfg), cfg)
			out := renderMD(t, md)
			prefix := "<ul>\n<li><strong>2026-11-25 09:35 UTC</strong> — "
			suffix := ` (<a href="https://github.com/acme/api/issues/1#issuecomment-1">by <code>bob</code></a>)</li>` + "\n</ul>\n"
			if !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, suffix) {
				t.Fatalf("timeline %q renders %q", md, out)
			}
			inner := strings.TrimSuffix(strings.TrimPrefix(out, prefix), suffix)
			if tag := tagRe.FindString(inner); tag != "" || inner != want {
				t.Errorf("timeline text %q renders %q, want %q", md, inner, want)
			}

			inc := Incident{Owner: "acme", Repo: "api", Number: 1, Title: s, State: "open", URL: "https://github.com/acme/api/issues/1"}
			line, _, _ := strings.Cut(Sections(inc, Facts{}, cfg)[SectionFacts], "\n")
			out = renderMD(t, line)
			prefix = `<ul>` + "\n" + `<li><strong>Incident:</strong> <a href="https://github.com/acme/api/issues/1">acme/api#1</a> — `
			suffix = "</li>\n</ul>\n"
			inner = strings.TrimSuffix(strings.TrimPrefix(out, prefix), suffix)
			if !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, suffix) || tagRe.FindString(inner) != "" || inner != want {
				t.Errorf("title line %q renders %q, want the text %q", line, out, want)
			}
			doc, err := Scaffold(inc, Facts{}, mustTemplate(t, "# {{.Title}}\n"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			h1, _, _ := strings.Cut(doc.Body, "\n")
			if out, want := renderMD(t, h1), "<h1>"+want+"</h1>\n"; out != want {
				t.Errorf("template title %q renders %q, want %q", h1, out, want)
			}
		})
	}
}

func mustTemplate(t *testing.T, text string) *Template {
	t.Helper()
	tmpl, err := ParseTemplate("test", text)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// templates/README.md lists the zone abbreviations /timeline reads, and
// the ones it refuses; both lists must match the code.
func TestReadmeListsZones(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "templates", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ")
	m := regexp.MustCompile("or one of `([A-Z ]+)` \\(their standard offsets\\)").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README lacks the list of zone abbreviations")
	}
	listed := strings.Fields(m[1])
	var known []string
	for z := range knownZones {
		known = append(known, z)
	}
	slices.Sort(listed)
	slices.Sort(known)
	if diff := cmp.Diff(known, listed); diff != "" {
		t.Errorf("README zones (-code +README):\n%s", diff)
	}
	for z := range ambiguousZones {
		if !strings.Contains(readme, "`"+z+"`") {
			t.Errorf("README does not name the refused zone %s", z)
		}
	}
}
