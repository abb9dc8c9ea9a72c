package config_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// A .github/tasuki.yml is read at a pull request's head, so anyone who can
// open one writes it. Each hostile file is refused with an error naming the
// file and the line, the configuration falls back (here to the
// organisation's), and refusing it stays within the memory budget, both in
// Parse and through the Loader reading it from GitHub.
func TestHostileFileRefused(t *testing.T) {
	org := []byte("ownership:\n  default_team: platform\n")
	check := func(t *testing.T, c yamlsafetest.Case, f config.Fetched) {
		t.Helper()
		pes := config.ParseErrors(f.Err)
		if len(pes) != 1 {
			t.Fatalf("Err = %v, want one *ParseError", f.Err)
		}
		pe := pes[0]
		if pe.Source != "acme/api:.github/tasuki.yml" || pe.Line != c.Line || !strings.Contains(pe.Msg, c.Msg) {
			t.Errorf("error %q, want one at acme/api:.github/tasuki.yml:%d saying %q", pe, c.Line, c.Msg)
		}
		if f.ReadError() != nil {
			t.Errorf("a hostile file reported as a read failure: %v", f.ReadError())
		}
		want := config.Default()
		want.Ownership.DefaultTeam = "platform"
		if diff := cmp.Diff(want, f.Config); diff != "" {
			t.Errorf("config is not the organisation's over the defaults (-want +got):\n%s", diff)
		}
	}
	for _, c := range yamlsafetest.Cases() {
		t.Run("Parse/"+c.Name, func(t *testing.T) {
			var f config.Fetched
			alloc := yamlsafetest.Allocated(func() { f = config.Parse("acme/api", org, c.Data) })
			check(t, c, f)
			if alloc > yamlsafetest.Budget {
				t.Errorf("refusing %d bytes allocated %d MB, budget %d MB", len(c.Data), alloc>>20, yamlsafetest.Budget>>20)
			}
		})
	}

	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/.github", "", config.Path, org)
	l := config.NewLoader()
	for _, c := range yamlsafetest.Cases() {
		t.Run("Loader/"+c.Name, func(t *testing.T) {
			head := srv.PutFile("acme/api", "pr", config.Path, c.Data)
			var f config.Fetched
			alloc := yamlsafetest.Allocated(func() { f = l.LoadAt(context.Background(), srv.Client(), "acme", "api", head) })
			check(t, c, f)
			t.Logf("%d bytes, %.1f MB allocated", len(c.Data), float64(alloc)/(1<<20))
			if alloc > yamlsafetest.Budget {
				t.Errorf("reading and refusing %d bytes allocated %d MB, budget %d MB", len(c.Data), alloc>>20, yamlsafetest.Budget>>20)
			}
		})
	}
}
