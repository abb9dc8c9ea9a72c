package leadtime_test

import (
	"regexp"
	"strings"
	"testing"

	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
)

func TestCausedBy(t *testing.T) {
	tests := []struct{ body, want string }{
		{"Caused by #123", "#123"},
		{"root cause unclear.\n\ncaused by: #45 (the retry change)", "#45"},
		{"Caused by Codertocat/Hello-World#7", "#7"},
		{"caused by acme/other#7", "acme/other#7"},
		{"Caused by https://github.com/Codertocat/Hello-World/pull/12", "#12"},
		{"Caused by https://github.com/acme/web/pull/12", "acme/web#12"},
		{"Caused by https://github.com/Codertocat/Hello-World/commit/ABCDEF1234567", "abcdef1234567"},
		{"Caused by https://github.com/acme/web/commit/abcdef1234567", ""}, // a SHA of another repository
		{"Caused by deployment 991", "deployment:991"},
		{"caused by deployment:991", "deployment:991"},
		{"caused by deployment #991", "deployment:991"},
		{"caused by workflow_run:555", "workflow_run:555"},
		{"Caused by 0123abcd", "0123abcd"},
		{"Caused by abc", ""},          // too short for a SHA
		{"Caused by the database", ""}, // no reference
		{"because of #12", ""},         // not the phrase
		{"Caused by #0x12", ""},        // not a number
		{"caused by #12\ncaused by #13", "#12"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := lth.CausedBy("Codertocat/Hello-World", tt.body); got != tt.want {
			t.Errorf("CausedBy(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestReverts(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{"Reverts Codertocat/Hello-World#12", 12},
		{"Reverts #12\n\nBroke the build.", 12},
		{"Some text\nreverts codertocat/hello-world#9", 9},
		{"Reverts acme/other#12", 0},
		{"This reverts #12", 0}, // GitHub's line stands alone
		{"", 0},
	}
	for _, tt := range tests {
		if got := lth.Reverts("Codertocat/Hello-World", `Revert "x"`, tt.body); got != tt.want {
			t.Errorf("Reverts(%q) = %d, want %d", tt.body, got, tt.want)
		}
	}
}

// The cause found is always one of the forms the core resolves, taken from
// the body's text, whatever the body.
func FuzzCausedBy(f *testing.F) {
	for _, s := range []string{"Caused by #123", "caused by acme/x#1", "caused by deployment 9", "caused by abcdef0",
		"Caused by https://github.com/o/r/pull/3", "caused by caused by #1", strings.Repeat("caused by ", 100)} {
		f.Add(s)
	}
	forms := regexp.MustCompile(`^(#[0-9]+|[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+#[0-9]+|deployment:[0-9a-f]+|(deployment|workflow_run|release|merge):[0-9a-f]+|[0-9a-f]{7,40})$`)
	f.Fuzz(func(t *testing.T, body string) {
		got := lth.CausedBy("o/r", body)
		if got == "" {
			return
		}
		if !forms.MatchString(got) {
			t.Fatalf("CausedBy(%q) = %q: not a form the core resolves", body, got)
		}
		digits := strings.TrimLeft(got[strings.LastIndexAny(got, "#:")+1:], "0")
		if !strings.Contains(strings.ToLower(body), digits) {
			t.Fatalf("CausedBy(%q) = %q: not from the body", body, got)
		}
	})
}
