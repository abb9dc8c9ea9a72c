package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Assert reported. Its Fatal and
// Fatalf end the goroutine, as testing's do; see assert.
type recorder struct {
	testing.TB
	errs, fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.fatals = append(r.fatals, fmt.Sprint(args...))
	runtime.Goexit()
}

// assert runs Assert on its own goroutine, which a fatal report ends.
func assert(t *testing.T, path, got string) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Assert(r, path, got)
	}()
	<-done
	return r
}

func TestAssert(t *testing.T) {
	if Update() {
		t.Skip("checks the comparison, which -update turns off")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "body.golden.md")
	if err := os.WriteFile(path, []byte("# Title\n\nline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, got string
		wantErr         string // in Errorf
		wantFatal       string // in Fatalf
	}{
		{"same", path, "# Title\n\nline\n", "", ""},
		{"different", path, "# Title\n\nother\n", "body.golden.md differs (-want +got; go test -update rewrites it)", ""},
		{"missing", filepath.Join(dir, "none.golden.md"), "x", "", "go test -update creates it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := assert(t, tt.path, tt.got)
			check := func(kind string, got []string, want string) {
				if want == "" && len(got) > 0 || want != "" && (len(got) != 1 || !strings.Contains(got[0], want)) {
					t.Errorf("%s = %q, want one containing %q", kind, got, want)
				}
			}
			check("Errorf", r.errs, tt.wantErr)
			check("Fatalf", r.fatals, tt.wantFatal)
		})
	}
}

func TestUpdateWritesTheFile(t *testing.T) {
	old := *update
	*update = true
	defer func() { *update = old }()
	path := filepath.Join(t.TempDir(), "testdata", "new.golden.md")
	r := assert(t, path, "rendered\n")
	if len(r.errs)+len(r.fatals) > 0 {
		t.Fatalf("Assert with -update reported %q %q", r.errs, r.fatals)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "rendered\n" {
		t.Errorf("golden file after -update = %q, %v; want what was rendered", b, err)
	}
}
