package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte("ownership:\n  default_team: platform\n"), []byte("ownership:\n  teams:\n    a: {sres: [x]}\n"))
	f.Add([]byte(""), []byte("revew: 1\n"))
	f.Add([]byte("postmortem:\n  timezone: Mars/Base\n"), []byte("postmortem: [\n"))
	f.Add([]byte("a: &x {b: *x}\n"), []byte("ownership: &o {teams: {t: {sres: [a]}}}\npostmortem: *o\n"))
	f.Add([]byte("---\n---\n"), []byte("ownership:\n  services:\n    \"a.b\": {team: \"\"}\n"))
	f.Add([]byte("review: {approvals: x}\n"), []byte("leadtime: 3\nonboarding: {a: 1}\n"))
	f.Add([]byte("ownership: !!str 3\n"), []byte("? [a]\n: b\n"))
	f.Add([]byte(""), []byte("ownership:\n  teams:\n    \"x\\n::y%\": {}\n"))
	for _, c := range yamlsafetest.Cases() {
		if len(c.Data) <= 8<<10 {
			f.Add([]byte(""), c.Data)
		}
	}
	f.Fuzz(func(t *testing.T, org, repo []byte) {
		// Whatever the bytes, parsing stays within the memory budget: the
		// files are written by whoever opens a pull request.
		var got Fetched
		if alloc := yamlsafetest.Allocated(func() { got = Parse("acme/api", org, repo) }); alloc > yamlsafetest.Budget {
			t.Fatalf("Parse allocated %d MB", alloc>>20)
		}
		if got.Err == nil {
			return
		}
		var all []error
		if j, ok := got.Err.(interface{ Unwrap() []error }); ok {
			all = j.Unwrap()
		} else {
			all = []error{got.Err}
		}
		for _, e := range all {
			var pe *ParseError
			if !errors.As(e, &pe) {
				t.Fatalf("error %v is not a *ParseError", e)
			}
			if pe.Source != "acme/api:.github/tasuki.yml" && pe.Source != "acme/.github:.github/tasuki.yml" {
				t.Fatalf("error %v has source %q", e, pe.Source)
			}
			if pe.Line < 0 || pe.Column < 0 || pe.Msg == "" {
				t.Fatalf("error %#v has no usable position or message", pe)
			}
			// A file that decoded strictly must merge and decode again; this
			// message means the merge round trip lost something.
			if strings.Contains(pe.Msg, "decode merged") {
				t.Fatalf("merge round trip failed: %v", pe)
			}
		}
		// Whatever went wrong, every section the features get is valid: a bad
		// file falls back, it never hands a feature an invalid value.
		v := reflect.ValueOf(got.Config)
		for _, sec := range configSections() {
			if errs := validate(v.Field(sec.index)); len(errs) > 0 {
				t.Fatalf("section %s invalid after fallback: %v", sec.name, errs)
			}
		}
	})
}
