// Package leadtimetest generates realistic delivery histories for
// benchmarks and property tests of internal/leadtime and of the store that
// keeps its events.
package leadtimetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// Options size a generated History. Zero fields take the defaults noted.
type Options struct {
	Repos       int // 20
	Pulls       int // 10,000 in all
	Deployments int // Pulls/10 in all
	Incidents   int // Deployments/50
	Jobs        int // 0
	// NoCommits is the share of deployments recorded without a commit list
	// (linked by time); 0.05 when zero, negative for none.
	NoCommits float64
	Seed      uint64    // 1
	Start     time.Time // 2025-01-06 00:00 UTC
	// Span is how long the history runs; 365 days when zero.
	Span time.Duration
}

func (o *Options) defaults() {
	if o.Repos <= 0 {
		o.Repos = 20
	}
	if o.Pulls <= 0 {
		o.Pulls = 10000
	}
	if o.Deployments <= 0 {
		o.Deployments = max(o.Pulls/10, 1)
	}
	if o.Incidents == 0 {
		o.Incidents = o.Deployments / 50
	}
	if o.NoCommits == 0 {
		o.NoCommits = 0.05
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	}
	if o.Span <= 0 {
		o.Span = 365 * 24 * time.Hour
	}
}

// Generate returns a History shaped like a busy organisation's: pull
// requests with a first commit hours to days before they open, drafts,
// reviews by people and bots (some by the author), merges spread over the
// span with squash-like merge SHAs, production deployments every so often
// listing the commits they shipped (some without a list), releases and
// staging deployments that do not count, reverts, hotfixes and incidents
// after some deployments. The same Options give the same History.
func Generate(o Options) leadtime.History {
	o.defaults()
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	var h leadtime.History
	h.Pulls = make([]leadtime.Pull, 0, o.Pulls)
	h.Reviews = make([]leadtime.Review, 0, o.Pulls*2)
	h.Deployments = make([]leadtime.Deployment, 0, o.Deployments+o.Deployments/10)
	h.DefaultBranches = map[string]string{}
	sha := func() string {
		return fmt.Sprintf("%016x%016x%08x", r.Uint64(), r.Uint64(), r.Uint32())
	}
	people := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	bots := []string{"dependabot[bot]", "renovate[bot]", "ci-helper"}
	span := int64(o.Span)
	for ri := range o.Repos {
		repo := fmt.Sprintf("acme/repo-%03d", ri)
		h.DefaultBranches[repo] = "main"
		nPull := o.Pulls / o.Repos
		if ri < o.Pulls%o.Repos {
			nPull++
		}
		nDep := o.Deployments / o.Repos
		if ri < o.Deployments%o.Repos {
			nDep++
		}
		base := len(h.Pulls)
		step := span / int64(nPull+1)
		for k := range nPull {
			n := k + 1
			merged := o.Start.Add(time.Duration(int64(n)*step + r.Int64N(step/2+1)))
			opened := merged.Add(-time.Duration(r.Int64N(int64(72*time.Hour))) - time.Hour)
			first := opened.Add(-time.Duration(r.Int64N(int64(96 * time.Hour))))
			ready := opened
			if r.IntN(10) == 0 { // opened as a draft
				ready = opened.Add(time.Duration(r.Int64N(int64(opened.Sub(merged).Abs()/2 + 1))))
			}
			author := people[r.IntN(len(people))]
			p := leadtime.Pull{
				Repo: repo, Number: n, Title: fmt.Sprintf("Change %d", n), Author: author,
				FirstCommitAt: first, OpenedAt: opened, ReadyAt: ready, MergedAt: merged, ClosedAt: merged,
				MergeSHA: sha(), BaseRef: "main", HeadRef: fmt.Sprintf("%s/change-%d", author, n),
				Paths: []string{fmt.Sprintf("services/svc-%d/main.go", r.IntN(4))},
			}
			switch x := r.IntN(100); {
			case x == 0:
				p.FirstCommitAt = time.Time{} // force-pushed away and not recorded
			case x < 3:
				p.AuthorIsBot, p.Author = true, bots[r.IntN(2)]
			case x < 4:
				p.HeadRef = "hotfix/" + p.HeadRef
			case x < 5 && k > 0:
				target := h.Pulls[base+r.IntN(k)]
				p.Title, p.Reverts = `Revert "`+target.Title+`"`, target.Number
			}
			if r.IntN(50) == 0 { // still open
				p.MergedAt, p.ClosedAt, p.MergeSHA = time.Time{}, time.Time{}, ""
			}
			h.Pulls = append(h.Pulls, p)
			for range r.IntN(3) + 1 {
				rv := leadtime.Review{Repo: repo, Number: n, ID: r.Int64(), State: "APPROVED",
					At: ready.Add(time.Duration(r.Int64N(int64(merged.Sub(ready).Abs()) + 1)))}
				switch x := r.IntN(10); {
				case x == 0:
					rv.Reviewer, rv.ReviewerIsBot, rv.State = bots[r.IntN(len(bots))], true, "COMMENTED"
				case x == 1:
					rv.Reviewer, rv.State = author, "COMMENT"
				default:
					rv.Reviewer = people[r.IntN(len(people))]
				}
				h.Reviews = append(h.Reviews, rv)
			}
		}
		// Production deployments at random points, shipping what merged since
		// the one before.
		pulls := h.Pulls[base:]
		dstep := span / int64(nDep+1)
		next, prevSHA := 0, ""
		for k := range nDep {
			fin := o.Start.Add(time.Duration(int64(k+1)*dstep + r.Int64N(dstep/2+1)))
			d := leadtime.Deployment{
				Repo: repo, ID: fmt.Sprintf("deployment:%d%06d", ri, k), Source: leadtime.SourceDeploymentStatus,
				Environment: "production", FinishedAt: fin, PreviousSHA: prevSHA, Creator: "deployer", Ref: "main",
			}
			var commits []string
			for next < len(pulls) && (pulls[next].MergedAt.IsZero() || !pulls[next].MergedAt.After(fin)) {
				if !pulls[next].MergedAt.IsZero() {
					commits = append(commits, pulls[next].MergeSHA)
				}
				next++
			}
			if r.IntN(4) == 0 {
				commits = append(commits, sha()) // a direct push
			}
			d.SHA = sha()
			if len(commits) > 0 {
				d.SHA = commits[len(commits)-1]
			}
			if r.Float64() >= o.NoCommits {
				d.Commits = append(commits, d.SHA)
			}
			if r.IntN(30) == 0 {
				d.Ref = "hotfix/urgent"
			}
			prevSHA = d.SHA
			h.Deployments = append(h.Deployments, d)
			if r.IntN(10) == 0 { // staging: not production
				s := d
				s.ID, s.Environment, s.FinishedAt = d.ID+"-staging", "staging", fin.Add(-time.Hour)
				h.Deployments = append(h.Deployments, s)
			}
		}
	}
	deps := h.Deployments
	for k := range o.Incidents {
		d := deps[r.IntN(len(deps))]
		start := d.FinishedAt.Add(time.Duration(r.Int64N(int64(36 * time.Hour))))
		inc := leadtime.Incident{Repo: d.Repo, Number: k + 1, Title: fmt.Sprintf("Incident %d", k+1), Severity: "sev2", StartedAt: start}
		if r.IntN(10) != 0 {
			inc.ResolvedAt = start.Add(time.Duration(r.Int64N(int64(48*time.Hour))) + time.Minute)
		}
		if r.IntN(5) == 0 {
			inc.CausedBy = d.ID
		}
		h.Incidents = append(h.Incidents, inc)
	}
	kinds := []string{"test", "build", "deploy", "lint"}
	h.Jobs = make([]leadtime.Job, 0, o.Jobs)
	for k := range o.Jobs {
		q := o.Start.Add(time.Duration(r.Int64N(span)))
		s := q.Add(time.Duration(r.Int64N(int64(5 * time.Minute))))
		h.Jobs = append(h.Jobs, leadtime.Job{
			Repo: fmt.Sprintf("acme/repo-%03d", r.IntN(o.Repos)), ID: int64(k + 1), RunID: int64(k/3 + 1),
			Workflow: "ci", Name: kinds[r.IntN(len(kinds))], QueuedAt: q, StartedAt: s,
			CompletedAt: s.Add(time.Duration(r.Int64N(int64(20*time.Minute))) + time.Second), Conclusion: "success",
		})
	}
	return h
}
