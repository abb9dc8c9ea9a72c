package store

import (
	"context"
	"fmt"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// PrepareHistory reads the events History would return for q and links
// them under cfg, for the metrics API and the weekly report. Pull requests
// and their reviews go from each row straight into a leadtime.Builder,
// which keeps a few flat arrays and packed strings per pull request: no
// leadtime.Pull or Review is made, so a million pull requests cost a
// fraction of the memory History's would. q.Bots and q.WithoutPaths are
// not used: cfg says which reviewers are bots, and paths are read only
// when cfg configures services.
func (s *Store) PrepareHistory(ctx context.Context, q HistoryQuery, cfg leadtime.Config) (*leadtime.Prepared, error) {
	b, err := leadtime.NewBuilder(cfg, nil)
	if err != nil {
		return nil, err
	}
	since, until, ok := q.window()
	if !ok {
		return b.Build()
	}
	r := &historyReader{s: s, repo: q.Repo, a: newArena()}
	paths := b.NeedsPaths()
	var p leadtime.PullRecord
	err = r.pullRows(ctx, since, until, b.Grow, func(repoRaw, data, revs []byte) error {
		p.Repo = q.Repo
		if q.Repo == "" {
			p.Repo = view(repoRaw) // the Builder copies it
		}
		if err := decodePullRecord(data, &p, paths); err != nil {
			return fmt.Errorf("pull of %s: %w", p.Repo, err)
		}
		b.AddPull(&p)
		if err := reviewsInto(revs, b); err != nil {
			return fmt.Errorf("reviews of pull %s#%d: %w", p.Repo, p.Number, err)
		}
		return nil
	})
	if err != nil {
		return nil, s.historyErr(q, "pull requests", err)
	}
	// Deployments, jobs and incidents are few: read as History reads them,
	// and kept by the Builder as they are.
	var h leadtime.History
	if err := r.rest(ctx, q, since, until, &h); err != nil {
		return nil, err
	}
	b.AddDeployments(h.Deployments)
	b.AddJobs(h.Jobs)
	b.AddIncidents(h.Incidents)
	return b.Build()
}
