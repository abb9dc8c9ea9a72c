package review

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// FuzzParseResourceChange checks the hand-written field picker against
// encoding/json: whenever encoding/json decodes a resource change, the
// picker must find the same fields.
func FuzzParseResourceChange(f *testing.F) {
	dir := filepath.Join(testenv.ModuleRoot(), "..", "shared", "fixtures", "tfplan")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			continue
		}
		var plan struct {
			ResourceChanges []json.RawMessage `json:"resource_changes"`
		}
		if json.Unmarshal(b, &plan) != nil {
			continue
		}
		for i, rc := range plan.ResourceChanges {
			if i < 3 && len(rc) < 8000 {
				f.Add([]byte(rc))
			}
		}
	}
	f.Add([]byte(`{"address":"a\u002eb","type":"t","mode":"data","change":{"actions":["delete","create"],"importing":{"id":"x"},"replace_paths":[["a",0]]},"address":"dup.wins"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// The oracle is encoding/json into maps: exact (case-sensitive)
		// keys, the last of repeated keys wins.
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return
		}
		type fields struct {
			Address, Prev, Module, Mode, Type, Name, Deposed, Reason string
			Actions                                                  []string
			ImportID                                                 string
			Importing                                                bool
			ReplacePaths                                             []any
		}
		var w fields
		str := func(m map[string]any, k string, dst *string) bool {
			switch v := m[k].(type) {
			case nil:
				return true
			case string:
				*dst = v
				return true
			}
			return false // a type the picker rejects
		}
		for k, dst := range map[string]*string{"address": &w.Address, "previous_address": &w.Prev, "module_address": &w.Module,
			"mode": &w.Mode, "type": &w.Type, "name": &w.Name, "deposed": &w.Deposed, "action_reason": &w.Reason} {
			if !str(m, k, dst) {
				return
			}
		}
		if ch, ok := m["change"].(map[string]any); ok {
			if as, ok := ch["actions"].([]any); ok {
				for _, a := range as {
					s, ok := a.(string)
					if !ok {
						return
					}
					w.Actions = append(w.Actions, s)
				}
			} else if ch["actions"] != nil {
				return
			}
			if im, ok := ch["importing"].(map[string]any); ok {
				var imp tfjson.Importing
				b, _ := json.Marshal(im)
				if json.Unmarshal(b, &imp) != nil {
					return
				}
				w.Importing, w.ImportID = true, imp.ID
			} else if ch["importing"] != nil {
				return
			}
			if rp, ok := ch["replace_paths"].([]any); ok {
				w.ReplacePaths = rp
			} else if ch["replace_paths"] != nil {
				return
			}
		} else if m["change"] != nil {
			return
		}
		var got lazyResourceChange
		if err := parseResourceChange(raw, &got, interner{}); err != nil {
			t.Fatalf("encoding/json reads it but the picker fails: %v", err)
		}
		// Captured by the lexer, with the spans it records, the picker
		// must find the very same bytes.
		l := &lexer{r: bufio.NewReader(bytes.NewReader(raw))}
		c, err := l.ws()
		if err != nil {
			t.Fatal(err)
		}
		captured, err := l.capture(c, 1)
		if err != nil {
			t.Fatalf("encoding/json reads it but the lexer fails: %v", err)
		}
		var marked lazyResourceChange
		if err := parseMarkedChange(captured, l.marks, &marked, interner{}); err != nil {
			t.Fatalf("picker fails with the lexer's spans: %v", err)
		}
		if diff := cmp.Diff(got, marked, cmp.AllowUnexported(lazyResourceChange{}), cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
			t.Fatalf("picker differs with the lexer's spans (-without +with):\n%s", diff)
		}
		g := fields{Address: got.Address, Prev: got.PreviousAddress, Module: got.ModuleAddress, Mode: string(got.Mode), Type: got.Type,
			Name: got.Name, Deposed: got.DeposedKey, Reason: string(got.ActionReason)}
		if got.Change != nil {
			for _, a := range got.Change.Actions {
				g.Actions = append(g.Actions, string(a))
			}
			if got.Change.Importing != nil {
				g.Importing, g.ImportID = true, got.Change.Importing.ID
			}
			g.ReplacePaths = got.Change.ReplacePaths
		}
		if len(w.ReplacePaths) == 0 {
			w.ReplacePaths = nil
		}
		if len(g.ReplacePaths) == 0 {
			g.ReplacePaths = nil
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Fatalf("picker differs from encoding/json (-json +picker):\n%s", diff)
		}
	})
}

// TestCaptureSpansBounded checks that a resource change full of small
// containers is still read right once capture stops recording their spans,
// and that the spans it keeps stay bounded.
func TestCaptureSpansBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"address":"a.b"`)
	for i := 0; i < 3*maxMarks; i++ {
		fmt.Fprintf(&b, `,"x%d":[{}]`, i)
	}
	b.WriteString(`,"change":{"actions":["delete","create"],"before":{"k":"v"},"after":{"k":"w"},"replace_paths":[["k"]]}}`)
	raw := []byte(b.String())
	l := &lexer{r: bufio.NewReader(bytes.NewReader(raw))}
	c, _ := l.ws()
	captured, err := l.capture(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.marks) > maxMarks {
		t.Errorf("%d spans kept, want at most %d", len(l.marks), maxMarks)
	}
	var rc lazyResourceChange
	if err := parseMarkedChange(captured, l.marks, &rc, interner{}); err != nil {
		t.Fatal(err)
	}
	if rc.Address != "a.b" || rc.Change == nil || string(rc.Change.After) != `{"k":"w"}` || len(rc.Change.ReplacePaths) != 1 {
		t.Errorf("read %+v, change %+v", rc, rc.Change)
	}
	p, err := ReadPlan(strings.NewReader(plan(string(raw))), "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c.Replace != 1 || len(p.Changes[0].Attrs) != 1 || p.Changes[0].Attrs[0].After != `"w"` {
		t.Errorf("counts %+v, attrs %+v", c, p.Changes[0].Attrs)
	}
}
