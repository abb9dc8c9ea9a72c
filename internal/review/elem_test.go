package review

import (
	"encoding/json"
	"os"
	"path/filepath"
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
