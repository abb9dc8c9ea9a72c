package ownership

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

const catalogPayments = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  description: Takes the money
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
`

const codeownersCheckout = `# Catch-all first, specific later: the last match wins.
*            @acme/checkout
/infra/      @acme/platform @alice
docs/*.md    docs@acme.com
`

func testConfig() Config {
	c := DefaultConfig()
	c.CoreSRETeam = "core-sre"
	c.DefaultTeam = "platform"
	c.Teams = map[string]Team{
		"payments": {SREs: []string{"alice", "@bob"}, SRETeam: "payments-sre"},
		"checkout": {SREs: []string{"carol"}},
		"platform": {SRETeam: "platform-sre"},
		"search":   {SREs: []string{"dave"}},
	}
	c.Services = map[string]Service{
		"ledger":  {Repos: []string{"acme/money"}, Team: "payments"},
		"billing": {Repos: []string{"mono"}, Paths: []string{"billing/"}, Team: "payments"},
		"web":     {Repos: []string{"mono"}, Paths: []string{"web/", "*.css"}, Team: "checkout"},
		"search":  {Repos: []string{"acme/search"}, Team: "search"},
	}
	return c
}

func TestResolve(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name  string
		facts Facts
		cfg   Config
		want  Owners
	}{
		{
			name:  "label names a configured service",
			facts: Facts{Repo: "acme/incidents", Labels: []string{"sev1", "service:search"}, CODEOWNERS: []byte(codeownersCheckout)},
			cfg:   cfg,
			want: Owners{Service: "search", ServiceSource: "label service:search", Team: "search", Source: "config services.search.team",
				SREs: []string{"dave"}, CoreSRETeam: "core-sre"},
		},
		{
			name: "label for another service ignores this repository's CODEOWNERS",
			facts: Facts{Repo: "acme/incidents", Labels: []string{"Service: unknown-svc"},
				CODEOWNERS: []byte(codeownersCheckout), CatalogInfo: []byte(catalogPayments)},
			cfg: cfg,
			want: Owners{Service: "unknown-svc", ServiceSource: "label Service: unknown-svc", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "label naming the repository's own component uses its catalog",
			facts: Facts{Repo: "acme/pay", Labels: []string{"service:payments-api"}, CatalogInfo: []byte(catalogPayments)},
			cfg:   cfg,
			want: Owners{Service: "payments-api", ServiceSource: "label service:payments-api", Team: "payments", Source: "catalog-info.yaml spec.owner",
				SREs: []string{"alice", "bob"}, SRETeam: "payments-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "config repo mapping beats catalog",
			facts: Facts{Repo: "acme/money", CatalogInfo: []byte(catalogPayments), CODEOWNERS: []byte(codeownersCheckout)},
			cfg:   cfg,
			want: Owners{Service: "ledger", ServiceSource: "config services.ledger.repos", Team: "payments", Source: "config services.ledger.team",
				SREs: []string{"alice", "bob"}, SRETeam: "payments-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "catalog names service and owner",
			facts: Facts{Repo: "acme/pay", CatalogInfo: []byte(catalogPayments), CODEOWNERS: []byte(codeownersCheckout)},
			cfg:   cfg,
			want: Owners{Service: "payments-api", ServiceSource: "catalog-info.yaml metadata.name", Team: "payments", Source: "catalog-info.yaml spec.owner",
				SREs: []string{"alice", "bob"}, SRETeam: "payments-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "CODEOWNERS catch-all team, repository name as service, path owners",
			facts: Facts{Repo: "acme/shop", CODEOWNERS: []byte(codeownersCheckout), Paths: []string{"main.go", "infra/main.tf", "docs/a.md", "docs/x/b.md"}},
			cfg:   cfg,
			want: Owners{Service: "shop", ServiceSource: "repository name", Team: "checkout", Source: "CODEOWNERS *",
				SREs: []string{"carol"}, CoreSRETeam: "core-sre",
				PathOwners: map[string][]string{
					"main.go":       {"@acme/checkout"},
					"infra/main.tf": {"@acme/platform", "@alice"},
					"docs/a.md":     {"docs@acme.com"},
					"docs/x/b.md":   {"@acme/checkout"},
				}},
		},
		{
			name:  "nothing known falls back to default_team",
			facts: Facts{Repo: "acme/lonely"},
			cfg:   cfg,
			want: Owners{Service: "lonely", ServiceSource: "repository name", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "nothing known and no default leaves the team empty",
			facts: Facts{Repo: "acme/lonely"},
			cfg:   DefaultConfig(),
			want:  Owners{Service: "lonely", ServiceSource: "repository name"},
		},
		{
			name:  "monorepo: the service matching most changed paths wins",
			facts: Facts{Repo: "acme/mono", Paths: []string{"web/a.ts", "web/b.ts", "billing/x.go", "style.css"}},
			cfg:   cfg,
			want: Owners{Service: "web", ServiceSource: "config services.web.repos", Team: "checkout", Source: "config services.web.team",
				SREs: []string{"carol"}, CoreSRETeam: "core-sre"},
		},
		{
			name:  "monorepo without changed paths matches no path-restricted service",
			facts: Facts{Repo: "acme/mono"},
			cfg:   cfg,
			want: Owners{Service: "mono", ServiceSource: "repository name", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre"},
		},
		{
			name:  "CODEOWNERS with only user owners on * names no team",
			facts: Facts{Repo: "acme/solo", CODEOWNERS: []byte("* @alice\n")},
			cfg:   cfg,
			want: Owners{Service: "solo", ServiceSource: "repository name", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre"},
		},
		{
			name: "broken files become warnings with file and line",
			facts: Facts{Repo: "acme/broken", CatalogInfo: []byte("metadata:\n  name: [oops\n"),
				CODEOWNERS: []byte("# ok\nsrc/ not-an-owner\n* @acme/checkout\n"), CODEOWNERSPath: ".github/CODEOWNERS"},
			cfg: cfg,
			want: Owners{Service: "broken", ServiceSource: "repository name", Team: "checkout", Source: "CODEOWNERS *",
				SREs: []string{"carol"}, CoreSRETeam: "core-sre",
				Warnings: []string{
					"catalog-info.yaml:2:9: sequence end token ']' not found",
					".github/CODEOWNERS:2: invalid owner format 'not-an-owner' at position 6",
				}},
		},
		{
			name: "a rule the matcher cannot handle is skipped, the others still apply",
			facts: Facts{Repo: "acme/slash", CODEOWNERS: []byte("* @acme/checkout\n/\n"),
				Paths: []string{"a.go", "b.go"}},
			cfg: cfg,
			want: Owners{Service: "slash", ServiceSource: "repository name", Team: "checkout", Source: "CODEOWNERS *",
				SREs: []string{"carol"}, CoreSRETeam: "core-sre",
				PathOwners: map[string][]string{"a.go": {"@acme/checkout"}, "b.go": {"@acme/checkout"}},
				Warnings:   []string{`CODEOWNERS:2: pattern "/": cannot be matched`}},
		},
		{
			name: "alias bomb in catalog-info.yaml is refused, not expanded",
			facts: Facts{Repo: "acme/bomb", CatalogInfo: []byte("metadata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
				"  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
				"  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n" +
				"  name: bomb\n")},
			cfg: cfg,
			want: Owners{Service: "bomb", ServiceSource: "repository name", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre",
				Warnings: []string{"catalog-info.yaml:5:38: aliases expand the file by more than 10000 values; tasuki refuses it"}},
		},
		{
			name:  "catalog owned by a user is not a team",
			facts: Facts{Repo: "acme/pet", CatalogInfo: []byte("kind: Component\nmetadata:\n  name: pet\nspec:\n  owner: user:default/alice\n")},
			cfg:   cfg,
			want: Owners{Service: "pet", ServiceSource: "catalog-info.yaml metadata.name", Team: "platform", Source: "config default_team",
				SRETeam: "platform-sre", CoreSRETeam: "core-sre",
				Warnings: []string{`catalog-info.yaml:5: spec.owner: "user:default/alice" is a user, not a group`}},
		},
		{
			name: "multi-document catalog picks the Component",
			facts: Facts{Repo: "acme/multi", CatalogInfo: []byte("kind: System\nmetadata:\n  name: shop-system\nspec:\n  owner: platform\n---\n" +
				"kind: Component\nmetadata:\n  name: cart\nspec:\n  owner: checkout\n")},
			cfg: cfg,
			want: Owners{Service: "cart", ServiceSource: "catalog-info.yaml metadata.name", Team: "checkout", Source: "catalog-info.yaml spec.owner",
				SREs: []string{"carol"}, CoreSRETeam: "core-sre"},
		},
		{
			name:  "custom label prefix",
			facts: Facts{Repo: "acme/incidents", Labels: []string{"service:search", "svc/ledger"}},
			cfg:   func() Config { c := testConfig(); c.ServiceLabelPrefix = "svc/"; return c }(),
			want: Owners{Service: "ledger", ServiceSource: "label svc/ledger", Team: "payments", Source: "config services.ledger.team",
				SREs: []string{"alice", "bob"}, SRETeam: "payments-sre", CoreSRETeam: "core-sre"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(tt.facts, tt.cfg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveMatchBudget(t *testing.T) {
	defer func(n int) { maxMatchWork = n }(maxMatchWork)
	rules, _ := ParseCODEOWNERS("CODEOWNERS", []byte(codeownersCheckout))
	fixed, perByte := matchWork(rules)
	// The 3 rules of codeownersCheckout, for the first 2 paths.
	maxMatchWork = 2*fixed + perByte*(len("a.go")+1+len("infra/x.tf")+1)
	got := Resolve(Facts{Repo: "acme/shop", CODEOWNERS: []byte(codeownersCheckout),
		Paths: []string{"a.go", "infra/x.tf", "b.go"}}, DefaultConfig())
	want := map[string][]string{"a.go": {"@acme/checkout"}, "infra/x.tf": {"@acme/platform", "@alice"}}
	if diff := cmp.Diff(want, got.PathOwners); diff != "" {
		t.Errorf("path owners (-want +got):\n%s", diff)
	}
	wantWarn := []string{"CODEOWNERS: 3 rules are too many to match all 3 changed paths; owners of the last 1 are not listed"}
	if diff := cmp.Diff(wantWarn, got.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(c *Config)
		want []string
	}{
		{name: "defaults are valid", cfg: func(*Config) {}},
		{name: "full example is valid", cfg: func(c *Config) { *c = testConfig() }},
		{
			name: "every problem is reported with its key",
			cfg: func(c *Config) {
				c.ServiceLabelPrefix = " "
				c.CoreSRETeam = "core sre"
				c.Teams = map[string]Team{"pay": {SREs: []string{"ok", "not a login"}}}
				c.Services = map[string]Service{"api": {Repos: []string{"a/b/c"}, Paths: []string{"", "/"}}}
			},
			want: []string{
				`ownership.core_sre_team: "core sre" is not a team slug`,
				`ownership.service_label_prefix: must not be empty`,
				`ownership.teams.pay.sres[1]: "not a login" is not a GitHub login`,
				`ownership.services.api.team: a team slug is needed`,
				`ownership.services.api.repos[0]: "a/b/c" is not "name" or "owner/name"`,
				`ownership.services.api.paths[0]: empty path`,
				`ownership.services.api.paths[1]: bad path pattern "/"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.cfg(&c)
			var got []string
			if err := c.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupRef(t *testing.T) {
	tests := []struct {
		ref, want string
		wantErr   bool
	}{
		{ref: "group:default/payments", want: "payments"},
		{ref: "group:payments", want: "payments"},
		{ref: "Group:ns/payments-team", want: "payments-team"},
		{ref: "payments", want: "payments"},
		{ref: "default/payments", want: "payments"},
		{ref: "user:default/alice", wantErr: true},
		{ref: "group:default/", wantErr: true},
	}
	for _, tt := range tests {
		got, err := groupRef(tt.ref)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("groupRef(%q) = %q, %v; want %q, error %v", tt.ref, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseCatalogInfo(f *testing.F) {
	f.Add([]byte(catalogPayments))
	f.Add([]byte("kind: System\n---\nkind: Component\nmetadata: {name: x}\n"))
	f.Add([]byte("metadata:\n  name: [oops\n"))
	f.Add([]byte("spec: {owner: [1, 2]}\n"))
	f.Add([]byte("&a [*a]"))
	for _, c := range yamlsafetest.Cases() {
		if len(c.Data) <= 8<<10 {
			f.Add(c.Data)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			c   Catalog
			err error
		)
		if alloc := yamlsafetest.Allocated(func() { c, err = ParseCatalogInfo(b) }); alloc > yamlsafetest.Budget {
			t.Fatalf("ParseCatalogInfo allocated %d MB", alloc>>20)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "catalog-info.yaml:") {
				t.Errorf("error without the file name: %v", err)
			}
			if c != (Catalog{}) {
				t.Errorf("catalog %+v with error %v", c, err)
			}
		}
		// Resolve must not panic on anything the parser accepts.
		Resolve(Facts{Repo: "o/r", CatalogInfo: b}, DefaultConfig())
	})
}

func FuzzParseCODEOWNERS(f *testing.F) {
	f.Add([]byte(codeownersCheckout))
	f.Add([]byte("src/ not-an-owner\n"))
	f.Add([]byte("[abc @x\n"))
	f.Add([]byte("\\ a\\ b @o/t\n**/x/** @u\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseCODEOWNERS(".github/CODEOWNERS", b)
		if err != nil && !strings.HasPrefix(err.Error(), ".github/CODEOWNERS:") {
			t.Errorf("error without the file name: %v", err)
		}
		Resolve(Facts{Repo: "o/r", CODEOWNERS: b, Paths: []string{"a", "src/x.go", "docs/a/b.md"}}, DefaultConfig())
	})
}
