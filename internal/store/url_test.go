package store

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"sqlite://tasuki.db", "tasuki.db", ""},
		{"sqlite:///var/lib/tasuki/tasuki.db", "/var/lib/tasuki/tasuki.db", ""},
		{"sqlite::memory:", ":memory:", ""},
		{"sqlite://", "", "no file path after sqlite://"},
		{"sqlite://x.db?_pragma=foo", "", "may not contain '?' or '#'"},
		{"sqlite:x.db", "", `want "sqlite://PATH" or "sqlite::memory:"`},
	}
	for _, tt := range tests {
		got, err := sqlitePath(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("sqlitePath(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("sqlitePath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://tasuki:s3cret@db:5432/tasuki", "postgres://tasuki:xxxxx@db:5432/tasuki"},
		{"postgres://tasuki@db/tasuki", "postgres://tasuki@db/tasuki"},
		{"postgres://db/tasuki?sslmode=disable", "postgres://db/tasuki?sslmode=disable"},
		{"postgres://u:p@ss@db/x", "postgres://u:xxxxx@db/x"},
		{"postgres://db/x?user=u&password=s3cret", "postgres://db/x?user=u&password=xxxxx"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactURL: whatever the URL, a password that net/url finds in it does
// not survive redaction.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"postgres://tasuki:s3cret@db:5432/tasuki",
		"postgresql://u:p%40ss@h/db?sslmode=require",
		"postgres://db/x?password=hunter22&user=u",
		"postgres://a:b:c@h/d",
		"sqlite://x.db",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := redactURL(s)
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		var secrets []string
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		if p := u.Query().Get("password"); p != "" {
			secrets = append(secrets, p)
		}
		for _, p := range secrets {
			// Only passwords that cannot be confused with the rest of the URL.
			if len(p) < 6 || strings.Count(s, p) != 1 || strings.Contains("xxxxx", p) {
				continue
			}
			if strings.Contains(got, p) {
				t.Fatalf("redactURL(%q) = %q still holds the password %q", s, got, p)
			}
		}
	})
}

func TestRebind(t *testing.T) {
	got := rebind(`INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING`)
	want := `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING`
	if got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
}

// FuzzRebind: no ? survives, each becomes one $n, numbered in order, and the
// text between them is unchanged.
func FuzzRebind(f *testing.F) {
	f.Add("SELECT 1 FROM t WHERE a = ? AND b IN (?, ?)")
	f.Add("no placeholders")
	f.Add("??")
	f.Fuzz(func(t *testing.T, q string) {
		got := rebind(q)
		parts := strings.Split(q, "?")
		rest := got
		for i, p := range parts {
			if i > 0 {
				num := "$" + strconv.Itoa(i)
				if !strings.HasPrefix(rest, num) {
					t.Fatalf("rebind(%q) = %q: placeholder %d is not %s", q, got, i, num)
				}
				rest = rest[len(num):]
			}
			if !strings.HasPrefix(rest, p) {
				t.Fatalf("rebind(%q) = %q: text %q changed", q, got, p)
			}
			rest = rest[len(p):]
		}
		if rest != "" {
			t.Fatalf("rebind(%q) = %q: trailing %q", q, got, rest)
		}
	})
}
