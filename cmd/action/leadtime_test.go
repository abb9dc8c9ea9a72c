package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

func ts(s string) *github.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &github.Timestamp{Time: t}
}

// shopRepo seeds acme/shop: a production deployment of base on 11-23, then
// two pull requests merged as m1 and m2.
//
//	#1: first commit 11-23 08:00, opened 11-23 13:00, merged 11-24 10:00 (m1)
//	#2: first commit 11-24 09:00, opened 11-24 11:00, merged 11-25 09:00 (m2)
func shopRepo(t *testing.T) (*githubtest.Server, string, int, int) {
	now := ts("2026-11-25T12:00:00Z").Time
	srv := githubtest.New(t, githubtest.WithClock(func() time.Time { return now }))
	const repo = "acme/shop"
	srv.AddRepo(repo, "main")
	base := srv.PutFile(repo, "main", "app.txt", []byte("v1"))
	m1 := srv.PutFile(repo, "main", "app.txt", []byte("v2"))
	m2 := srv.PutFile(repo, "main", "app.txt", []byte("v3"))
	prev := srv.AddDeployment(repo, &github.Deployment{SHA: github.String(base), Ref: github.String("main"),
		Environment: github.String("production"), CreatedAt: ts("2026-11-23T11:50:00Z")})
	srv.AddDeploymentStatus(repo, prev.GetID(), "success", ts("2026-11-23T12:00:00Z").Time)
	add := func(title, author, created, merged, sha, first string) int {
		pr := srv.AddPull(repo, &github.PullRequest{Title: github.String(title), User: &github.User{Login: github.String(author)},
			CreatedAt: ts(created), MergedAt: ts(merged), MergeCommitSHA: github.String(sha)})
		srv.SetPullCommits(repo, pr.GetNumber(), &github.RepositoryCommit{SHA: github.String("c" + first),
			Commit: &github.Commit{Author: &github.CommitAuthor{Date: ts(first)}}})
		return pr.GetNumber()
	}
	n1 := add("Add cart", "alice", "2026-11-23T13:00:00Z", "2026-11-24T10:00:00Z", m1, "2026-11-23T08:00:00Z")
	n2 := add("Fix cart", "carol", "2026-11-24T11:00:00Z", "2026-11-25T09:00:00Z", m2, "2026-11-24T09:00:00Z")
	return srv, m2, n1, n2
}

// record-deployment records the deployment once, however often the job
// runs, and lists what it shipped with lead times from the first commit
// to the deployment (11-25 12:00): #1 52h, #2 27h.
func TestRecordDeployment(t *testing.T) {
	srv, m2, n1, n2 := shopRepo(t)
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	envv := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": m2, "GITHUB_REF_NAME": "main",
		"GITHUB_TOKEN": srv.Token("github-actions[bot]"), "TASUKI_GITHUB_API_URL": srv.URL(),
		"GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": filepath.Join(dir, "output"),
	}
	for run := 1; run <= 2; run++ {
		code, stdout, stderr := runCLI(t, envv, "record-deployment", "--format", "json")
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, stdout, stderr)
		}
		var out struct {
			Created bool
			Pulls   []struct {
				Number   int
				LeadTime *struct{ Seconds float64 } `json:"lead_time"`
			}
		}
		js := stdout[strings.Index(stdout, "{"):]
		if err := json.Unmarshal([]byte(js), &out); err != nil {
			t.Fatalf("run %d: decode %s: %v", run, stdout, err)
		}
		if out.Created != (run == 1) {
			t.Errorf("run %d: created = %v", run, out.Created)
		}
		var got []string
		for _, p := range out.Pulls {
			h := -1.0
			if p.LeadTime != nil {
				h = p.LeadTime.Seconds / 3600
			}
			got = append(got, strings.TrimSpace(strings.Join([]string{itoa(p.Number), ftoa(h)}, ":")))
		}
		want := []string{itoa(n1) + ":52", itoa(n2) + ":27"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("run %d: shipped %v, want %v", run, got, want)
		}
	}
	deps, statuses := srv.Deployments("acme/shop")
	if len(deps) != 2 {
		t.Fatalf("%d deployments after two runs, want 2 (the earlier one and this)", len(deps))
	}
	last := deps[len(deps)-1]
	if last.GetSHA() != m2 || last.GetEnvironment() != "production" || len(statuses[last.GetID()]) != 1 || statuses[last.GetID()][0].GetState() != "success" {
		t.Errorf("recorded deployment %+v with statuses %+v", last, statuses[last.GetID()])
	}
	b, _ := os.ReadFile(summary)
	if !strings.Contains(string(b), "(https://github.com/acme/shop/pull/"+itoa(n1)+") Add cart | alice | 2d 4h |") {
		t.Errorf("job summary:\n%s", b)
	}
}

// lead-time on a terminal prints the metrics of the period from the REST
// history: one deployment in the period (the one of 11-23 is before it)
// would be none here, so the period starts 11-23 to take it and the merge
// pull requests are linked by time.
func TestLeadTimeLocal(t *testing.T) {
	srv, _, _, _ := shopRepo(t)
	envv := map[string]string{"GITHUB_TOKEN": srv.Token("alice"), "TASUKI_GITHUB_API_URL": srv.URL()}
	code, stdout, stderr := runCLI(t, envv, "lead-time", "--repo", "acme/shop", "--since", "2026-11-23", "--until", "2026-11-25", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var m struct {
		DeploymentFrequency struct{ Deployments int } `json:"deployment_frequency"`
	}
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout)
	}
	if m.DeploymentFrequency.Deployments != 1 {
		t.Errorf("deployments in the period: %d, want 1 (the production deployment of 11-23)\n%s", m.DeploymentFrequency.Deployments, stdout)
	}
	if code, _, stderr := runCLI(t, envv, "lead-time", "--repo", "acme/shop", "--since", "tomorrow"); code != 2 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, envv, "lead-time", "--backfill", "--repo", "acme/shop"); backfillHook == nil && (code != 2 || !strings.Contains(stderr, "backfill")) {
		t.Errorf("--backfill without the hook: exit %d, %s", code, stderr)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
