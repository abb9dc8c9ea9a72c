package onboarding

import (
	"slices"
	"strings"
	"testing"

	"github.com/hmarr/codeowners"

	"github.com/tasuki-sre/tasuki/internal/ownership"
)

func TestRewriteCODEOWNERS(t *testing.T) {
	from, to := []string{"@acme/core-sre"}, []string{"@acme/payments-sre"}
	tests := []struct {
		name, in, want string
		keep           bool
	}{
		{"catch-all", "* @acme/core-sre\n", "* @acme/payments-sre\n", false},
		{"keep secondary", "* @acme/core-sre\n", "* @acme/payments-sre @acme/core-sre\n", true},
		{"other owners kept in place", "/db/ @alice @acme/core-sre @acme/dba\n", "/db/ @alice @acme/payments-sre @acme/dba\n", false},
		{"already there", "* @acme/payments-sre @acme/core-sre\n", "* @acme/payments-sre\n", false},
		{"case-insensitive", "* @ACME/Core-SRE\n", "* @acme/payments-sre\n", false},
		{"comments, blanks and order kept", "# Owners\n\n*       @acme/core-sre   # everything\n/docs/ @acme/docs\n\n# end\n",
			"# Owners\n\n*       @acme/payments-sre   # everything\n/docs/ @acme/docs\n\n# end\n", false},
		{"crlf", "* @acme/core-sre\r\n/x @bob\r\n", "* @acme/payments-sre\r\n/x @bob\r\n", false},
		{"escaped space in pattern", "/my\\ dir/ @acme/core-sre\n", "/my\\ dir/ @acme/payments-sre\n", false},
		{"tabs", "*\t@acme/core-sre\t@bob\n", "*\t@acme/payments-sre @bob\n", false},
		{"no final newline", "* @acme/core-sre", "* @acme/payments-sre", false},
		{"a line GitHub skips is left alone", "* @acme/core-sre\n/bad[ @acme/core-sre\n", "* @acme/payments-sre\n/bad[ @acme/core-sre\n", false},
		{"commented-out rule left alone", "# * @acme/core-sre\n", "# * @acme/core-sre\n", false},
		{"unowned pattern", "/vendor/\n* @acme/core-sre\n", "/vendor/\n* @acme/payments-sre\n", false},
		{"core-sre-2 is another team", "* @acme/core-sre-2\n", "* @acme/core-sre-2\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RewriteCODEOWNERS([]byte(tt.in), from, to, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			checkRewrite(t, []byte(tt.in), got, from, to, tt.keep)
		})
	}
	for _, bad := range [][]string{{"core sre"}, {"@acme/core#x"}, {""}} {
		if _, err := RewriteCODEOWNERS([]byte("* @a\n"), bad, to, false); err == nil {
			t.Errorf("owner %q accepted", bad)
		}
	}
	if _, err := RewriteCODEOWNERS([]byte(strings.Repeat("* @acme/core-sre\n", ownership.MaxCODEOWNERSRules+1)), from, to, false); err == nil {
		t.Error("a file beyond the bounds was edited")
	}
}

// checkRewrite is the oracle: parsed line by line as GitHub would, the
// edited file has the same rules, on the same lines, with the same
// patterns; a rule that named no outgoing owner has the same owners; a rule
// that did has them replaced as asked.
func checkRewrite(t *testing.T, before, after []byte, from, to []string, keep bool) {
	t.Helper()
	parse := func(b []byte) map[int]codeowners.Rule {
		out := map[int]codeowners.Rule{}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			rs, err := codeowners.ParseFile(strings.NewReader(line))
			if err != nil || len(rs) != 1 {
				continue
			}
			out[i+1] = rs[0]
		}
		return out
	}
	a, z := parse(before), parse(after)
	if len(a) != len(z) {
		t.Fatalf("%d rules before, %d after:\n%q\n%q", len(a), len(z), before, after)
	}
	if strings.Count(string(before), "\n") != strings.Count(string(after), "\n") {
		t.Fatalf("line count changed:\n%q\n%q", before, after)
	}
	bl, zl := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	for line, ra := range a {
		rz, ok := z[line]
		if !ok {
			t.Fatalf("rule of line %d lost", line)
		}
		if ra.RawPattern() != rz.RawPattern() {
			t.Fatalf("line %d: pattern %q became %q", line, ra.RawPattern(), rz.RawPattern())
		}
		var owners, got []string
		named := false
		for _, o := range ra.Owners {
			owners = append(owners, o.String())
			named = named || containsFold(from, o.String())
		}
		for _, o := range rz.Owners {
			got = append(got, o.String())
		}
		want := owners
		if named {
			want = rewriteOwners(owners, from, to, keep)
		} else if bl[line-1] != zl[line-1] {
			t.Fatalf("line %d names no outgoing owner but changed: %q -> %q", line, bl[line-1], zl[line-1])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("line %d: owners %v became %v, want %v", line, owners, got, want)
		}
		if named {
			for _, f := range from {
				if containsFold(got, f) != keep {
					t.Fatalf("line %d: outgoing owner %s kept=%v, want %v", line, f, !keep, keep)
				}
			}
		}
	}
	// Lines that are not rules (comments, blanks, lines GitHub skips) are
	// byte for byte the same.
	for i := range bl {
		if _, rule := a[i+1]; !rule && bl[i] != zl[i] {
			t.Fatalf("non-rule line %d changed: %q -> %q", i+1, bl[i], zl[i])
		}
	}
}

func FuzzRewriteCODEOWNERS(f *testing.F) {
	for _, s := range []string{
		"* @acme/core-sre\n",
		"# c\n*.go @acme/core-sre @bob # go\n/docs/ @acme/docs\n",
		"/a\\ b/ @acme/core-sre\t@ACME/core-sre\r\n",
		"/x/ @acme/core-sre#@acme/core-sre\n",
		"/bad[ @acme/core-sre\n* @acme/core-sre @acme/payments-sre\n",
		"**/y @alice@example.com @acme/core-sre\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	from, to := []string{"@acme/core-sre"}, []string{"@acme/payments-sre"}
	f.Fuzz(func(t *testing.T, b []byte, keep bool) {
		if len(b) > 4096 {
			return
		}
		got, err := RewriteCODEOWNERS(b, from, to, keep)
		if err != nil {
			return // beyond the bounds: refused whole
		}
		checkRewrite(t, b, got, from, to, keep)
		// Idempotent: a second pass changes nothing more (without keep).
		if !keep {
			again, err := RewriteCODEOWNERS(got, from, to, keep)
			if err != nil || string(again) != string(got) {
				t.Fatalf("second pass changed the file:\n%q\n%q", got, again)
			}
		}
	})
}

func TestRewriteCatalogOwner(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"plain", catalogFull, strings.Replace(catalogFull, "owner: group:default/core-sre", "owner: group:default/payments-sre", 1), ""},
		{"quoted with comment", "kind: Component\nspec:\n  owner: \"core-sre\"   # the core team\n  lifecycle: production\n",
			"kind: Component\nspec:\n  owner: group:default/payments-sre   # the core team\n  lifecycle: production\n", ""},
		{"single quoted", "kind: Component\nspec:\n  owner: 'core-sre'\n", "kind: Component\nspec:\n  owner: group:default/payments-sre\n", ""},
		{"second document", "apiVersion: v1\nkind: System\nmetadata: {name: s}\nspec:\n  owner: core-sre\n---\nkind: Component\nspec:\n  type: service\n  owner: core-sre\n",
			"apiVersion: v1\nkind: System\nmetadata: {name: s}\nspec:\n  owner: core-sre\n---\nkind: Component\nspec:\n  type: service\n  owner: group:default/payments-sre\n", ""},
		{"owner missing is added", "kind: Component\nspec:\n  type: service\n", "kind: Component\nspec:\n  owner: group:default/payments-sre\n  type: service\n", ""},
		{"crlf", "kind: Component\r\nspec:\r\n  owner: core-sre\r\n  system: s\r\n", "kind: Component\r\nspec:\r\n  owner: group:default/payments-sre\r\n  system: s\r\n", ""},
		{"unicode before", "kind: Component\nmetadata:\n  description: \"café ☕\"\nspec: \n  owner:   core-sre\n", "kind: Component\nmetadata:\n  description: \"café ☕\"\nspec: \n  owner:   group:default/payments-sre\n", ""},
		{"flow spec refused", "kind: Component\nspec: {owner: core-sre}\n", "", "flow mapping"},
		{"no component", "kind: System\nspec:\n  owner: x\n", "", "no Component"},
		{"anchor refused", "kind: Component\nx: &o core-sre\nspec:\n  owner: *o\n", "", "not a plain value"},
		{"block scalar refused", "kind: Component\nspec:\n  owner: |\n    core-sre\n", "", "not a plain value"},
		{"not yaml", "kind: [\n", "", "catalog-info.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RewriteCatalogOwner([]byte(tt.in), "group:default/payments-sre")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if _, err := RewriteCatalogOwner([]byte(catalogFull), "x\n  evil: true"); err == nil {
		t.Error("an owner breaking the YAML was accepted")
	}
}

func FuzzRewriteCatalogOwner(f *testing.F) {
	f.Add([]byte(catalogFull))
	f.Add([]byte("kind: Component\nspec:\n  owner: \"a\\\"b\" # c\n"))
	f.Add([]byte("kind: Component\nspec:\n  owner: 'it''s'\n"))
	f.Add([]byte("kind: Component\nspec:\n  type: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		got, err := RewriteCatalogOwner(b, "group:default/payments-sre")
		if err != nil {
			return
		}
		// Independent of the check RewriteCatalogOwner runs itself: every
		// line but the owner's is kept byte for byte (one line changed, or
		// one added), and that line sets owner.
		bl, zl := strings.SplitAfter(string(b), "\n"), strings.SplitAfter(string(got), "\n")
		var changed []string
		switch {
		case len(bl) == len(zl):
			for i := range bl {
				if bl[i] != zl[i] {
					changed = append(changed, zl[i])
				}
			}
		case len(zl) == len(bl)+1:
			i := 0
			for i < len(bl) && bl[i] == zl[i] {
				i++
			}
			if strings.Join(bl[i:], "") != strings.Join(zl[i+1:], "") {
				t.Fatalf("lines after the insertion changed:\n%q\n%q", b, got)
			}
			changed = append(changed, zl[i])
		default:
			t.Fatalf("line count %d -> %d:\n%q\n%q", len(bl), len(zl), b, got)
		}
		if len(changed) != 1 || !strings.Contains(changed[0], "owner: group:default/payments-sre") {
			t.Fatalf("changed lines %q:\n%q\n%q", changed, b, got)
		}
	})
}

func TestOwnerRef(t *testing.T) {
	for old, want := range map[string]string{
		"group:default/core-sre": "group:default/payments-sre",
		"group:core-sre":         "group:payments-sre",
		"core-sre":               "payments-sre",
		"":                       "payments-sre",
	} {
		if got := ownerRef(old, "payments-sre"); got != want {
			t.Errorf("ownerRef(%q) = %q, want %q", old, got, want)
		}
	}
}

// FuzzCatchAllOwners checks the fast reading of the catch-all owner
// against parsing the whole file as ownership does.
func FuzzCatchAllOwners(f *testing.F) {
	for _, s := range []string{"* @a\n/x @b\n", "* @a\n** @b # c\n/bad[ @c\n", "*\t@a\n/* @b\n*#x @c\n", "* @a\n*\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		rules, _ := ownership.ParseCODEOWNERS("CODEOWNERS", b)
		var want []string
		for i := len(rules) - 1; i >= 0; i-- {
			switch rules[i].RawPattern() {
			case "*", "/*", "**", "/**":
				for _, o := range rules[i].Owners {
					want = append(want, o.String())
				}
				i = -1
			}
		}
		if rules == nil {
			return // a file ownership refuses whole
		}
		if got := catchAllOwners(b); !slices.Equal(got, want) {
			t.Fatalf("catchAllOwners = %v, want %v for %q", got, want, b)
		}
	})
}
