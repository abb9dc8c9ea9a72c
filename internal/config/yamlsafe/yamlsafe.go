// Package yamlsafe guards YAML read from repositories (tasuki.yml,
// catalog-info.yaml) against documents built to exhaust a worker: nested
// aliases ("billion laughs") that make a small file decode into millions of
// values.
package yamlsafe

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// MaxAliasExpansion is how many values aliases may add on top of the values
// written out. Anchors keep a file DRY; legitimate files stay far below.
const MaxAliasExpansion = 10000

// CheckAliases returns an error when the aliases in n expand it by more
// than MaxAliasExpansion values.
func CheckAliases(n ast.Node) error {
	written, expanded := CountValues(n)
	if expanded-written > MaxAliasExpansion {
		return fmt.Errorf("aliases expand the file to %d values (%d written out); at most %d more are allowed", expanded, written, MaxAliasExpansion)
	}
	return nil
}

// CountValues returns how many values n holds as written and once its
// aliases are expanded (capped, so that the count itself cannot overflow).
// Anchors are resolved in document order, as the decoder does.
func CountValues(n ast.Node) (written, expanded int) {
	const limit = 1 << 40
	anchors := map[string]int{}
	var walk func(n ast.Node) (int, int)
	walk = func(n ast.Node) (int, int) {
		switch n := n.(type) {
		case nil:
			return 0, 0
		case *ast.AnchorNode:
			w, e := walk(n.Value)
			if n.Name != nil {
				if tk := n.Name.GetToken(); tk != nil {
					anchors[tk.Value] = e
				}
			}
			return w, e
		case *ast.AliasNode:
			if n.Value != nil {
				if tk := n.Value.GetToken(); tk != nil {
					if e, ok := anchors[tk.Value]; ok {
						return 1, e
					}
				}
			}
			return 1, 1
		case *ast.DocumentNode:
			return walk(n.Body)
		case *ast.TagNode:
			return walk(n.Value)
		case *ast.MappingKeyNode:
			return walk(n.Value)
		case *ast.MappingValueNode:
			kw, ke := walk(n.Key)
			vw, ve := walk(n.Value)
			return kw + vw, min(ke+ve, limit)
		case *ast.MappingNode:
			w, e := 1, 1
			for _, v := range n.Values {
				vw, ve := walk(v)
				w, e = w+vw, min(e+ve, limit)
			}
			return w, e
		case *ast.SequenceNode:
			w, e := 1, 1
			for _, v := range n.Values {
				vw, ve := walk(v)
				w, e = w+vw, min(e+ve, limit)
			}
			return w, e
		}
		return 1, 1
	}
	return walk(n)
}
