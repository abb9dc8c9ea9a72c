package marker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStringAndFind(t *testing.T) {
	tests := []struct {
		name string
		m    Marker
		want string
	}{
		{"plain", New("plan-review", "pr-42"), "<!-- tasuki:plan-review key=pr-42 v=1 -->"},
		{"url key", New("postmortem", "acme/api#7"), "<!-- tasuki:postmortem key=acme/api#7 v=1 -->"},
		// A key taken from user input must not close the comment early or
		// split into several fields.
		{"hostile key", New("postmortem", "a --> <b> c"), "<!-- tasuki:postmortem key=a_-___b__c v=1 -->"},
		{"double dashes", New("k--ind", "x----y"), "<!-- tasuki:k-ind key=x-y v=1 -->"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.String()
			if got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			body := "text by a person\n\n" + got + "\nmore text"
			if !tt.m.In(body) {
				t.Errorf("In(%q) = false", body)
			}
			found := Find(body)
			if len(found) != 1 || found[0].Version != Version {
				t.Errorf("Find = %+v, want one marker of version %d", found, Version)
			}
		})
	}
}

func TestInMatchesKindAndKey(t *testing.T) {
	body := New("plan-review", "pr-4").String() + "\n" + New("postmortem", "acme/api#42").String()
	for _, tt := range []struct {
		m    Marker
		want bool
	}{
		{New("plan-review", "pr-4"), true},
		{New("plan-review", "pr-42"), false}, // a prefix of another key is not a match
		{New("postmortem", "acme/api#4"), false},
		{New("postmortem", "acme/api#42"), true},
		{Marker{Kind: "postmortem", Key: "acme/api#42", Version: 2}, true}, // any version
	} {
		if got := tt.m.In(body); got != tt.want {
			t.Errorf("%v.In = %v, want %v", tt.m, got, tt.want)
		}
	}
	want := []Marker{{"plan-review", "pr-4", 1}, {"postmortem", "acme/api#42", 1}}
	if diff := cmp.Diff(want, Find(body)); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
}

func FuzzMarkerRoundTrip(f *testing.F) {
	f.Add("plan-review", "pr-1")
	f.Add("postmortem", "acme/api#7 -->")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, kind, key string) {
		m := New(kind, key)
		s := m.String()
		if strings.Count(s, "-->") != 1 || !strings.HasSuffix(s, "-->") {
			t.Fatalf("marker %q can be closed early", s)
		}
		if !m.In("x " + s + " y") {
			t.Fatalf("marker %q not found in its own body", s)
		}
	})
}
