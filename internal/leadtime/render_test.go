package leadtime_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"

	"github.com/tasuki-sre/tasuki/internal/golden"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// hostile is text a pull request author controls.
const hostile = "@everyone <!-- tasuki:leadtime v=1 --> [x](https://evil) <img src=x> | ` **b**"

func TestRender(t *testing.T) {
	h := doraHistory()
	// A pull request still waiting for a review, with a hostile title and
	// author, and a title too long for a line.
	h.Pulls = append(h.Pulls, leadtime.Pull{Repo: repo, Number: 7, Title: hostile + strings.Repeat(" long", 40), Author: "@mallory", OpenedAt: at(40), ReadyAt: at(40)})
	cfg := leadtime.DefaultConfig()
	cfg.Timezone = "Europe/Berlin"
	m := compute(t, h, cfg, leadtime.Query{From: t0, To: t0.AddDate(0, 0, 14), Now: at(14 * 24)})
	got := leadtime.Render(m, leadtime.RenderOptions{Title: "acme/api " + hostile})
	golden.Assert(t, filepath.Join("testdata", "report.golden.md"), got)

	// Mentions get a zero-width joiner, markers a zero-width space.
	for _, raw := range []string{"@everyone", "<!--", "@mallory"} {
		if strings.Contains(got, raw) {
			t.Errorf("report holds %q unescaped", raw)
		}
	}
	var html strings.Builder
	if err := goldmark.Convert([]byte(got), &html); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "<img") || strings.Contains(html.String(), `href="https://evil"`) {
		t.Errorf("hostile markup rendered:\n%s", html.String())
	}
	if !strings.Contains(got, `[acme\/api\#7](https://github.com/acme/api/pull/7)`) {
		t.Errorf("no link to the waiting pull request:\n%s", got)
	}
	if !strings.Contains(got, "@"+mdtext.ZWJ+"mallory") {
		t.Errorf("author not shown as text")
	}
}

// TestMetricsJSON: the API's body carries durations as seconds and a human
// string, levels, counts, and reads back.
func TestMetricsJSON(t *testing.T) {
	m := compute(t, doraHistory(), leadtime.DefaultConfig(), leadtime.Query{From: t0, To: t0.AddDate(0, 0, 14)})
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"change_lead_time":{"count":5,"median":{"seconds":54000,"human":"15h"}`,
		`"change_fail_rate":{"count":3,"deployments":5,"rate":0.6,"level":{"name":"low","year":2024,"text":"40%"}}`,
		`"deployment_rework_rate":{"count":1,"deployments":5,"rate":0.2,"level":{"year":2024,"note":"the 2024 report has no levels for this metric"}}`,
		// Deploy stage medians: 5h (#2, #3, #5), 10h, 35.5h -> 5h; coding 2h.
		`"slowest_stage":"deploy"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back leadtime.Metrics
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ChangeLeadTime.Stats != m.ChangeLeadTime.Stats {
		t.Errorf("read back %+v, want %+v", back.ChangeLeadTime.Stats, m.ChangeLeadTime.Stats)
	}
}

func TestRenderShipped(t *testing.T) {
	h, cfg := monorepo()
	h.Pulls[0].Title, h.Pulls[0].Author = hostile, "@mallory"
	h.Pulls[2].FirstCommitAt = h.Pulls[2].FirstCommitAt.AddDate(-100, 0, 0) // before git: unknown
	p, err := leadtime.Prepare(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := leadtime.RenderShipped("deployment:api", p.Shipped(repo, "deployment:api")) +
		leadtime.RenderShipped("deployment:none", p.Shipped(repo, "deployment:none"))
	golden.Assert(t, filepath.Join("testdata", "shipped.golden.md"), got)
	for _, raw := range []string{"@everyone", "<!--", "@mallory"} {
		if strings.Contains(got, raw) {
			t.Errorf("summary holds %q unescaped", raw)
		}
	}
}
