package leadtime_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// TestLinking checks which deployment ships each pull request.
func TestLinking(t *testing.T) {
	// d0 is every case's first deployment, at hour 0, shipping nothing
	// (its range was read and was empty), so that later deployments are
	// not first ones.
	d0 := deploy("deployment:0", 0, "base", []string{})
	tests := []struct {
		name   string
		pulls  []leadtime.Pull
		deps   []leadtime.Deployment
		cfg    func(*leadtime.Config)
		branch string // default branch of acme/api, if known
		want   map[string]string
		miss   leadtime.Missing
	}{
		{
			name: "squash merge: the squash commit is the merge SHA and is in the range",
			// The PR's own commits (c1, c2) never reach main; "sq1" does.
			pulls: []leadtime.Pull{pull(1, 10, "sq1")},
			deps:  []leadtime.Deployment{d0, deploy("deployment:1", 12, "sq1", []string{"sq1"})},
			want:  map[string]string{"acme/api#1": "deployment:1"},
		},
		{
			name:  "rebase merge: the last rebased commit is the merge SHA",
			pulls: []leadtime.Pull{pull(1, 10, "r3")},
			deps:  []leadtime.Deployment{d0, deploy("deployment:1", 12, "r3", []string{"r1", "r2", "r3"})},
			want:  map[string]string{"acme/api#1": "deployment:1"},
		},
		{
			name:  "merge commit inside a longer range, not at its head",
			pulls: []leadtime.Pull{pull(1, 10, "m1"), pull(2, 11, "m2")},
			deps:  []leadtime.Deployment{d0, deploy("deployment:1", 12, "x9", []string{"b1", "m1", "b2", "m2", "x9"})},
			want:  map[string]string{"acme/api#1": "deployment:1", "acme/api#2": "deployment:1"},
		},
		{
			name:  "the first deployment whose range holds the merge wins, not a later wider one",
			pulls: []leadtime.Pull{pull(1, 10, "a"), pull(2, 20, "b")},
			deps: []leadtime.Deployment{
				d0,
				deploy("deployment:2", 30, "b", []string{"a", "b"}), // listed first, finished later
				deploy("deployment:1", 12, "a", []string{"a"}),
			},
			want: map[string]string{"acme/api#1": "deployment:1", "acme/api#2": "deployment:2"},
		},
		{
			name:  "a deployment that ships no pull request (a direct push) ships nothing",
			pulls: []leadtime.Pull{pull(1, 10, "a")},
			deps: []leadtime.Deployment{
				d0,
				deploy("deployment:1", 12, "a", []string{"a"}),
				deploy("deployment:2", 14, "direct", []string{"direct"}),
			},
			want: map[string]string{"acme/api#1": "deployment:1"},
		},
		{
			name: "without a commit list: merged after the previous deployment finished, at or before this one",
			// #1 merged at 12, exactly when deployment:1 finished: deployment:1
			// (by SHA). #2 at 13 and #3 at 20 fall in (12, 20]. #4 at 21 is
			// after deployment:2, nothing ships it.
			pulls: []leadtime.Pull{pull(1, 12, "a"), pull(2, 13, "b"), pull(3, 20, "c"), pull(4, 21, "d")},
			deps: []leadtime.Deployment{
				d0,
				deploy("deployment:1", 12, "a", []string{"a"}),
				deploy("deployment:2", 20, "c", nil),
			},
			want: map[string]string{"acme/api#1": "deployment:1", "acme/api#2": "deployment:2", "acme/api#3": "deployment:2"},
			miss: leadtime.Missing{Undeployed: 1},
		},
		{
			name:   "only the default branch ships by time",
			branch: "main",
			pulls: func() []leadtime.Pull {
				p := pull(2, 13, "b")
				p.BaseRef = "release/1.x"
				return []leadtime.Pull{pull(1, 13, "a"), p}
			}(),
			deps: []leadtime.Deployment{d0, deploy("deployment:1", 20, "a", nil)},
			want: map[string]string{"acme/api#1": "deployment:1"},
		},
		{
			name:  "a deployment finished before the merge cannot ship it, whatever its commit list says",
			pulls: []leadtime.Pull{pull(1, 10, "a")},
			deps: []leadtime.Deployment{
				d0,
				deploy("deployment:1", 9, "a", []string{"a"}),
				deploy("deployment:2", 15, "z", []string{"z"}),
			},
			want: map[string]string{},
			miss: leadtime.Missing{Undeployed: 1},
		},
		{
			name:  "staging deployments and lower sources do not count",
			pulls: []leadtime.Pull{pull(1, 10, "a")},
			deps: func() []leadtime.Deployment {
				staging := deploy("deployment:s", 11, "a", []string{"a"})
				staging.Environment = "staging"
				release := deploy("release:1", 11.5, "a", []string{"a"})
				release.Source = leadtime.SourceRelease
				return []leadtime.Deployment{d0, staging, release, deploy("deployment:1", 12, "a", []string{"a"})}
			}(),
			want: map[string]string{"acme/api#1": "deployment:1"},
		},
		{
			name:  "a source later in the order is used when the earlier ones have nothing",
			pulls: []leadtime.Pull{pull(1, 10, "a")},
			deps: func() []leadtime.Deployment {
				r0 := d0
				r0.Source, r0.ID = leadtime.SourceRelease, "release:0"
				r1 := deploy("release:1", 12, "a", []string{"a"})
				r1.Source = leadtime.SourceRelease
				return []leadtime.Deployment{r0, r1}
			}(),
			want: map[string]string{"acme/api#1": "release:1"},
		},
		{
			name:  "no deployments at all: each merge is its own deployment",
			pulls: []leadtime.Pull{pull(1, 10, "a"), pull(2, 11, "b")},
			want:  map[string]string{"acme/api#1": "merge:a", "acme/api#2": "merge:b"},
		},
		{
			name:  "merge not among the sources: nothing ships",
			pulls: []leadtime.Pull{pull(1, 10, "a")},
			cfg: func(c *leadtime.Config) {
				c.DeploySources = []leadtime.Source{leadtime.SourceDeploymentStatus}
			},
			want: map[string]string{},
			miss: leadtime.Missing{Undeployed: 1},
		},
		{
			name: "unmerged and closed pull requests never ship",
			pulls: func() []leadtime.Pull {
				closed := pull(3, 10, "")
				closed.MergedAt = time.Time{} // closed without merging
				open := pull(4, 10, "")
				open.MergedAt, open.ClosedAt = time.Time{}, time.Time{}
				return []leadtime.Pull{pull(1, 10, "a"), closed, open}
			}(),
			deps: []leadtime.Deployment{d0, deploy("deployment:1", 12, "a", nil)},
			want: map[string]string{"acme/api#1": "deployment:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := leadtime.DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			h := leadtime.History{Pulls: tt.pulls, Deployments: tt.deps}
			if tt.branch != "" {
				h.DefaultBranches = map[string]string{repo: tt.branch}
			}
			m := compute(t, h, cfg, wide())
			if diff := cmp.Diff(tt.want, shippedBy(m)); diff != "" {
				t.Errorf("shipped by (-want +got):\n%s", diff)
			}
			got := leadtime.Missing{Undeployed: m.Missing.Undeployed, BeforeBaseline: m.Missing.BeforeBaseline}
			if diff := cmp.Diff(tt.miss, got); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}
