package leadtime_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// monorepo has two services deployed separately, each deployment's commit
// range holding every commit of the repository:
//
//	#1 services/api/...  merged at 10, SHA a
//	#2 web/...           merged at 11, SHA w
//	#3 docs/...          merged at 12, SHA d (no service)
//	deployment:api  (environment production-api) at 20, range a w d
//	run:web         (workflow deploy-web)        at 30, range a w d
func monorepo() (leadtime.History, leadtime.Config) {
	cfg := leadtime.DefaultConfig()
	cfg.Services = map[string]leadtime.Service{
		"api": {Paths: []string{"services/api"}, Environments: []string{"production-api"}},
		"web": {Paths: []string{"web/"}, Workflows: []string{"deploy-web"}},
	}
	p1, p2, p3 := pull(1, 10, "a"), pull(2, 11, "w"), pull(3, 12, "d")
	p1.Paths = []string{"services/api/main.go", "go.mod"}
	p2.Paths = []string{"web/index.html"}
	p3.Paths = []string{"docs/readme.md"}
	api0 := deploy("deployment:api0", 0, "z", []string{})
	api0.Environment = "production-api"
	api := deploy("deployment:api", 20, "d", []string{"a", "w", "d"})
	api.Environment = "production-api"
	web := func(id string, fin float64, commits []string) leadtime.Deployment {
		d := deploy(id, fin, "d", commits)
		d.Source, d.Environment, d.Workflow = leadtime.SourceWorkflowRun, "", "deploy-web"
		return d
	}
	return leadtime.History{
		Pulls:       []leadtime.Pull{p1, p2, p3},
		Deployments: []leadtime.Deployment{api0, api, web("run:web0", 0, []string{}), web("run:web", 30, []string{"a", "w", "d"})},
	}, cfg
}

func TestMonorepo(t *testing.T) {
	h, cfg := monorepo()
	teamOf := func(service string) string {
		return map[string]string{"api": "payments", "web": "storefront"}[service]
	}
	tests := []struct {
		name    string
		q       leadtime.Query
		shipped map[string]string
		deps    int
	}{
		{
			name: "everything: a change goes to its own service's deployment; one of no service to the first",
			q:    leadtime.Query{},
			shipped: map[string]string{
				"acme/api#1": "deployment:api", "acme/api#2": "run:web", "acme/api#3": "deployment:api",
			},
			deps: 2,
		},
		{
			name:    "service api: its changes and the serviceless one it shipped",
			q:       leadtime.Query{Service: "api"},
			shipped: map[string]string{"acme/api#1": "deployment:api", "acme/api#3": "deployment:api"},
			deps:    1,
		},
		{
			name:    "service web",
			q:       leadtime.Query{Service: "web"},
			shipped: map[string]string{"acme/api#2": "run:web"},
			deps:    1,
		},
		{
			name:    "team storefront through the ownership model",
			q:       leadtime.Query{Team: "storefront", TeamOf: teamOf},
			shipped: map[string]string{"acme/api#2": "run:web"},
			deps:    1,
		},
		{
			name:    "a team without TeamOf matches nothing",
			q:       leadtime.Query{Team: "storefront"},
			shipped: map[string]string{},
		},
		{
			name:    "another repository",
			q:       leadtime.Query{Repo: "acme/other"},
			shipped: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.From, q.To, q.Rows = at(1), at(100), true
			m := compute(t, h, cfg, q)
			if diff := cmp.Diff(tt.shipped, shippedBy(m)); diff != "" {
				t.Errorf("shipped (-want +got):\n%s", diff)
			}
			if m.DeploymentFrequency.Deployments != tt.deps {
				t.Errorf("deployments %d, want %d", m.DeploymentFrequency.Deployments, tt.deps)
			}
		})
	}
	m := compute(t, h, cfg, leadtime.Query{From: at(1), To: at(100)})
	want := []leadtime.StreamSource{
		{Repo: repo, Service: "api", Source: leadtime.SourceDeploymentStatus},
		{Repo: repo, Service: "web", Source: leadtime.SourceWorkflowRun},
	}
	if diff := cmp.Diff(want, m.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

// TestShipped lists what one deployment shipped, for record-deployment.
func TestShipped(t *testing.T) {
	h, cfg := monorepo()
	rows, err := leadtime.Shipped(h, cfg, repo, "deployment:api")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.URL+" "+dur(r.LeadTime)+" "+slices.Concat(r.Services, []string{"-"})[0])
	}
	// Lead time = 20 - (merge - 10): #1 20, #3 18.
	want := []string{"https://github.com/acme/api/pull/1 20h api", "https://github.com/acme/api/pull/3 18h -"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shipped (-want +got):\n%s", diff)
	}
	if rows, _ := leadtime.Shipped(h, cfg, repo, "deployment:nope"); rows != nil {
		t.Errorf("unknown deployment shipped %v", rows)
	}
	cfg.Timezone = "Nowhere/Nothing"
	if _, err := leadtime.Shipped(h, cfg, repo, "deployment:api"); err == nil {
		t.Error("an invalid configuration gave no error")
	}
}

// TestPrepared: one linked History answers several scopes, concurrently,
// as Compute would one by one; bad periods are refused.
func TestPrepared(t *testing.T) {
	h, cfg := monorepo()
	p, err := leadtime.Prepare(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	queries := []leadtime.Query{{Service: "api"}, {Service: "web"}, {}}
	done := make(chan leadtime.Metrics, len(queries))
	for _, q := range queries {
		go func() {
			q.From, q.To, q.Rows = at(1), at(100), true
			m, err := p.Compute(q)
			if err != nil {
				t.Error(err)
			}
			done <- m
		}()
	}
	got := map[string]int{}
	for range queries {
		m := <-done
		got[m.Service] = len(m.Pulls)
	}
	if want := map[string]int{"api": 2, "web": 1, "": 3}; !cmp.Equal(want, got) {
		t.Errorf("shipped per service %v, want %v", got, want)
	}
	for _, q := range []leadtime.Query{{From: at(10), To: at(10)}, {From: at(10), To: at(5)}, {To: at(0)}} {
		if _, err := p.Compute(q); err == nil {
			t.Errorf("period %v to %v accepted", q.From, q.To)
		}
	}
}
