package review

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tasuki-sre/tasuki/internal/golden"
	"github.com/tasuki-sre/tasuki/internal/testenv"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// gfm renders like GitHub as far as goldmark can, raw HTML included.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))

var (
	headingRe = regexp.MustCompile(`<h([1-6])[^>]*>(.*?)</h[1-6]>`)
	tagRe     = regexp.MustCompile(`<[^>]+>`)
	preRe     = regexp.MustCompile(`(?s)<pre>.*?</pre>`)
	codeRe    = regexp.MustCompile(`(?s)<code>.*?</code>`)
	mentionRe = regexp.MustCompile(`(^|[^\w])@[A-Za-z0-9]`)
)

// checkMarkdown renders body with goldmark and checks that it parses as
// intended: balanced <details>, one code block per <details>, no stray
// fence, no mention, and returns the headings.
func checkMarkdown(t *testing.T, body string) []string {
	t.Helper()
	var b bytes.Buffer
	if err := gfm.Convert([]byte(body), &b); err != nil {
		t.Fatalf("goldmark: %v", err)
	}
	out := b.String()
	if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != c {
		t.Errorf("%d <details> but %d </details>", o, c)
	}
	if d, p := strings.Count(out, "<details>"), strings.Count(out, "<pre>"); p != d {
		t.Errorf("%d <details> but %d code blocks: a fence is off", d, p)
	}
	outside := preRe.ReplaceAllString(out, "")
	if strings.Contains(outside, "```") {
		t.Errorf("stray code fence outside code blocks")
	}
	text := tagRe.ReplaceAllString(codeRe.ReplaceAllString(outside, ""), "")
	if m := mentionRe.FindString(text); m != "" {
		t.Errorf("rendered text has a mention %q", m)
	}
	var hs []string
	for _, h := range headingRe.FindAllStringSubmatch(out, -1) {
		hs = append(hs, "h"+h[1]+" "+html.UnescapeString(tagRe.ReplaceAllString(h[2], "")))
	}
	return hs
}

func readFixture(t *testing.T, name string) *Plan {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.Fixtures(t, "tfplan"), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ReadPlan(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderGolden(t *testing.T) {
	const head = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
	meta := Meta{Repo: "acme/infra", PR: 42, HeadSHA: head, PlannedSHA: head,
		RunURL: "https://github.com/acme/infra/actions/runs/123", ArtifactName: "tasuki-plan-42"}
	approved := ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
		{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{User: "alice", State: "APPROVED", CommitID: head, SubmittedAt: time.Date(2026, 11, 25, 9, 1, 0, 0, time.UTC)},
	}}
	waiting := ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", WhoMayApprove: []string{"acme/sre-core", "code owners of infra/prod"}, Requested: []string{"acme/sre-core", "bob"}}
	for _, c := range []struct {
		name     string
		fixtures []string
		ws, dir  string
		facts    ApprovalFacts
		headings []string
	}{
		{"replace", []string{"tofu-showjson-requires-replace.json"}, "", "", waiting,
			[]string{"h3 ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)", "h3 Destroy and replace (1)"}},
		{"drift-modules", []string{"tfsummarize-example-drift-modules.json"}, "default", "infra/app", waiting,
			[]string{"h3 ✅ Plan review: no risky changes", "h3 Changes (7)", "h3 Changed outside Terraform (3)", "h3 Outputs (1 changed)"}},
		{"sensitive-replace-approved", []string{"tofu-equiv-replace-sensitive-local-file.json"}, "prod", "infra/prod", approved,
			[]string{"h3 ✅ Plan review: approved by bob", "h3 Destroy and replace (1)"}},
		{"outputs-modules", []string{"tfjson-120-basic-outputs-modules.json"}, "", "", waiting, nil},
		{"moved-import-forget", []string{"tfjson-moved-block-noop.json", "tofu-cloud-import-generated-config.json", "checkov-forget-action.json"}, "", "", waiting, nil},
		{"errored", []string{"tofu-showjson-plan-error-errored.json"}, "", "infra/prod", waiting,
			[]string{"h3 ❌ Plan review: plan errored"}},
		{"stale", []string{"tofu-showjson-basic-delete.json"}, "", "", ApprovalFacts{HeadSHA: head, PlannedSHA: "0123456789abcdef", Author: "alice"},
			[]string{"h3 🕰️ Plan review: plan of 0123456 is stale: head is 9f8e7d6; a new plan is needed", "h3 Destroy and replace (1)", "h3 Other changes (1)", "h3 Outputs (1 changed)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var plans []*Plan
			for _, f := range c.fixtures {
				p := readFixture(t, f)
				p.Workspace, p.Dir = c.ws, c.dir
				plans = append(plans, p)
			}
			s := Summarize(plans, DefaultConfig())
			v := Evaluate(s, DefaultConfig(), c.facts)
			m := meta
			m.PlannedSHA = c.facts.PlannedSHA
			body := RenderComment(s, v, m, CommentLimit)
			hs := checkMarkdown(t, body)
			if c.headings != nil {
				if diff := cmp.Diff(c.headings, hs); diff != "" {
					t.Errorf("headings (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(body, "Plan of `"+shortSHA(m.PlannedSHA)+"`") {
				t.Errorf("comment does not say which commit it describes")
			}
			if f, ok, err := DecodeFacts(body); !ok || err != nil || f.PlannedSHA != m.PlannedSHA {
				t.Errorf("facts block: ok=%v err=%v sha=%q", ok, err, f.PlannedSHA)
			}
			golden.Assert(t, filepath.Join("testdata", "golden", c.name+".golden.md"), body)
		})
	}
}

// deleted is the address of the i'th destroy in bigPlan: count instances
// of one resource, or as many distinct resources when named.
func deleted(i int, named bool) string {
	if named {
		return fmt.Sprintf("module.legacy.aws_instance.old_%d", i)
	}
	return fmt.Sprintf("module.legacy.aws_instance.old[%d]", i)
}

// bigPlan generates a plan JSON with deletes destroys and updates
// updates, each update with attrs changed attributes.
func bigPlan(deletes, updates, attrs int, named ...bool) []byte {
	isNamed := len(named) > 0 && named[0]
	var b bytes.Buffer
	b.WriteString(`{"format_version":"1.2","terraform_version":"1.11.0","resource_changes":[`)
	n := 0
	sep := func() {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
	}
	for i := 0; i < deletes; i++ {
		sep()
		fmt.Fprintf(&b, `{"address":%q,"module_address":"module.legacy","mode":"managed","type":"aws_instance","name":"old","action_reason":"delete_because_count_index","change":{"actions":["delete"],"before":{"ami":"ami-1"},"after":null,"before_sensitive":{},"after_sensitive":false}}`, deleted(i, isNamed))
	}
	for i := 0; i < updates; i++ {
		sep()
		fmt.Fprintf(&b, `{"address":"module.web.aws_instance.web[%d]","module_address":"module.web","mode":"managed","type":"aws_instance","name":"web","index":%d,"change":{"actions":["update"],"before":{`, i, i)
		for a := 0; a < attrs; a++ {
			if a > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"tag_%d":"before-value-%d"`, a, a)
		}
		b.WriteString(`},"after":{`)
		for a := 0; a < attrs; a++ {
			if a > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"tag_%d":"after-value-%d"`, a, a)
		}
		b.WriteString(`},"after_unknown":{},"before_sensitive":{},"after_sensitive":{}}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestRenderDegradesToFit(t *testing.T) {
	meta := Meta{PlannedSHA: "abcdef0123", HeadSHA: "abcdef0123", JobSummaryURL: "https://github.com/acme/infra/actions/runs/9#summary", ArtifactName: "tasuki-plan"}
	for _, c := range []struct {
		name                    string
		deletes, updates, attrs int
		named                   bool
		limit                   int
		wantCut                 string
		allDestroys             bool
		compacted               string // the one entry all destroys collapse into
	}{
		{"update attributes dropped", 50, 400, 8, false, CommentLimit, "the attributes of 400 changes that destroy nothing", true, ""},
		{"no-risk addresses counted", 300, 3000, 3, false, CommentLimit, "the addresses and attributes of 3000 changes that destroy nothing", true, ""},
		{"count instances compacted", 5000, 3000, 1, false, CommentLimit, "why each destroy or replace happens", false, "`module.legacy.aws_instance.old[0..4999]` (5000 delete)"},
		{"distinct destroys listed compactly", 1000, 3000, 1, true, CommentLimit, "why each destroy or replace happens", true, ""},
		{"destroys cut", 5000, 10, 1, true, CommentLimit, "more destroys and replaces not named here", false, ""},
		{"check limit", 300, 3000, 3, false, CheckLimit, "the addresses and attributes of 3000 changes that destroy nothing", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := ReadPlan(bytes.NewReader(bigPlan(c.deletes, c.updates, c.attrs, c.named)), "big.json")
			if err != nil {
				t.Fatal(err)
			}
			s := Summarize([]*Plan{p}, DefaultConfig())
			v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: meta.HeadSHA, PlannedSHA: meta.PlannedSHA})
			full := render(s, meta, RenderVerdict(FactsOf(s, meta.PlannedSHA), v, meta.HeadSHA), prepare(s), levelFull, -1, -1)
			if len(full) <= c.limit {
				t.Fatalf("full comment is only %d bytes: the case does not exceed the limit", len(full))
			}
			body := RenderComment(s, v, meta, c.limit)
			if len(body) > c.limit {
				t.Fatalf("comment is %d bytes, limit %d", len(body), c.limit)
			}
			if !strings.Contains(body, c.wantCut) {
				t.Errorf("comment does not say %q was cut", c.wantCut)
			}
			if !strings.Contains(body, "[job summary](https://github.com/acme/infra/actions/runs/9#summary)") || !strings.Contains(body, "`tasuki-plan`") {
				t.Errorf("comment does not say where the full review is")
			}
			missing := 0
			for i := 0; i < c.deletes; i++ {
				if !strings.Contains(body, "`"+deleted(i, c.named)+"`") {
					missing++
				}
			}
			switch {
			case c.compacted != "":
				if !strings.Contains(body, c.compacted) {
					t.Errorf("destroys not compacted into %s", c.compacted)
				}
			case c.allDestroys && missing > 0:
				t.Errorf("%d of %d destroy addresses missing", missing, c.deletes)
			case !c.allDestroys && !strings.Contains(body, fmt.Sprintf("and %d more destroys and replaces", missing)):
				t.Errorf("%d destroy addresses missing without saying so", missing)
			}
			hs := checkMarkdown(t, body)
			if len(hs) == 0 || !strings.HasPrefix(hs[0], "h3 ⚠️ Plan review: needs a second reviewer") {
				t.Errorf("headings %q", hs)
			}
			if f, ok, err := DecodeFacts(body); !ok || err != nil || f.Counts.Delete != c.deletes {
				t.Errorf("facts lost: ok=%v err=%v counts=%+v", ok, err, f.Counts)
			}
			// The check run carries the attribute diffs the summary dropped.
			title, summary, text := RenderCheck(s, v, meta)
			if len(summary) > CheckLimit || len(text) > CheckLimit || strings.Contains(title, "\n") {
				t.Fatalf("check output too big: summary %d, text %d", len(summary), len(text))
			}
			if c.updates > 0 && c.attrs > 0 {
				if !strings.Contains(text, "-     tag_0 = \"before-value-0\"\n+     tag_0 = \"after-value-0\"\n") {
					t.Errorf("check text lacks attribute diffs")
				}
				if strings.Contains(text, "more resources left out") != (c.updates*c.attrs*45 > CheckLimit) {
					t.Errorf("check text cut note wrong for %d updates of %d attributes", c.updates, c.attrs)
				}
				checkMarkdown(t, text)
			}
		})
	}
}

func TestRenderJSON(t *testing.T) {
	p := readFixture(t, "tfsummarize-example-drift-modules.json")
	p.Workspace = "default"
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{})
	got, err := RenderJSON(s, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"plans":[{"path":"tfsummarize-example-drift-modules.json","workspace":"default","terraform_version":"1.1.4",` +
		`"counts":{"create":7,"update":0,"delete":0,"replace":0,"read":0,"no_op":1,"import":0,"move":0,"forget":0},"drift":3,"outputs_changed":1,"errored":false}],` +
		`"counts":{"create":7,"update":0,"delete":0,"replace":0,"read":0,"no_op":1,"import":0,"move":0,"forget":0},"needs_second_reviewer":false,"reasons":[]}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRenderEscapesPlanText(t *testing.T) {
	// Addresses and values come from configuration a PR author controls.
	in := `{"format_version":"1.2","resource_changes":[{"address":"aws_x.a[\"@octocat </details> <img src=x>\"]","type":"aws_x","name":"a","mode":"managed",` +
		`"change":{"actions":["delete"],"before":{"v":"x"},"after":null}},` +
		`{"address":"aws_x.b","type":"aws_x","name":"b","mode":"managed","change":{"actions":["update"],"before":{"v":"a"},"after":{"v":"` + "```\\n</details>\\n@octocat" + `"}}}]}`
	p, err := ReadPlan(strings.NewReader(in), "evil.json")
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{WhoMayApprove: []string{"@acme/sre"}})
	body := RenderComment(s, v, Meta{}, CommentLimit)
	checkMarkdown(t, body)
	var b bytes.Buffer
	_ = gfm.Convert([]byte(body), &b)
	if strings.Contains(b.String(), "<img") {
		t.Errorf("raw HTML from the plan reached the comment")
	}
}

func TestCompactDestroys(t *testing.T) {
	var ds []destroyed
	add := func(addr string, a Action) {
		ds = append(ds, destroyed{ch: &Change{Address: addr, Action: a}})
	}
	for _, i := range []int{0, 1, 2, 3, 7, 9, 10} {
		add(fmt.Sprintf("aws_instance.web[%d]", i), ActionDelete)
	}
	add(`module.m["a"].aws_s3_bucket.b["logs"]`, ActionReplace)
	add(`module.m["a"].aws_s3_bucket.b["da\"ta"]`, ActionReplace)
	add("aws_iam_role.ci", ActionDelete)
	add("aws_instance.web[4]", ActionReplace)
	var got []string
	n := 0
	for _, e := range compactDestroys(ds) {
		got = append(got, e.text)
		n += e.n
	}
	want := []string{
		"`aws_instance.web[0..3, 7, 9..10]` (7 delete)",
		"`module.m[\"a\"].aws_s3_bucket.b[\"logs\", \"da\\\"ta\"]` (2 replace)",
		"`aws_iam_role.ci`",
		"`aws_instance.web[4]` (replace)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n != len(ds) {
		t.Errorf("entries cover %d destroys, want %d", n, len(ds))
	}
}
