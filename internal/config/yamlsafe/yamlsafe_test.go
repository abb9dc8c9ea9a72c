package yamlsafe

import (
	"testing"

	"github.com/goccy/go-yaml/parser"
)

func TestCountValues(t *testing.T) {
	tests := []struct {
		name              string
		doc               string
		written, expanded int
		wantErr           bool
	}{
		{name: "scalars", doc: "a: 1\nb: [x, y]\n", written: 7, expanded: 7},
		{name: "alias reuses a mapping", doc: "a: &t {x: 1, y: 2}\nb: *t\n", written: 9, expanded: 13},
		{name: "alias to an unknown anchor counts one", doc: "b: *nope\n", written: 3, expanded: 3},
		{
			name:    "nested aliases",
			doc:     "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
			written: 49, expanded: 12349, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseBytes([]byte(tt.doc), 0)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			w, e := CountValues(f.Docs[0].Body)
			if w != tt.written || e != tt.expanded {
				t.Errorf("CountValues = %d, %d; want %d, %d", w, e, tt.written, tt.expanded)
			}
			if err := CheckAliases(f.Docs[0].Body); (err != nil) != tt.wantErr {
				t.Errorf("CheckAliases error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
