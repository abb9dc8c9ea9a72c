package review

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	tfjson "github.com/hashicorp/terraform-json"
)

// elemParser picks the fields tasuki needs out of one captured resource
// change without encoding/json's reflection: on big plans that pass is most
// of the reading time. Values it returns raw are decoded (and so validated)
// by encoding/json only when needed.
type elemParser struct {
	b     []byte
	i     int
	keyAt int // where the key of the member being read starts
}

// elemError is a problem at an offset inside one captured value.
type elemError struct {
	off  int // -1: no particular place
	what string
}

func (e *elemError) Error() string { return e.what }

func elemErr(off int, format string, args ...any) error {
	return &elemError{off: off, what: fmt.Sprintf(format, args...)}
}

func (p *elemParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *elemParser) peek() byte {
	p.ws()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

func (p *elemParser) expect(c byte) error {
	if p.peek() != c {
		return elemErr(p.i, "expected %q", c)
	}
	p.i++
	return nil
}

// str reads a string value.
func (p *elemParser) str() (string, error) {
	if p.peek() != '"' {
		return "", elemErr(p.i, "expected a string")
	}
	start := p.i
	p.i++
	plain := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if plain && utf8.Valid(p.b[start+1:p.i-1]) {
				return string(p.b[start+1 : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", elemErr(start, "bad string")
			}
			return s, nil
		case c == '\\':
			plain = false
			p.i += 2
			continue
		case c < 0x20:
			return "", elemErr(p.i, "control character in string")
		}
		p.i++
	}
	return "", elemErr(p.i, "unterminated string")
}

// value returns the raw bytes of the next value.
func (p *elemParser) value() ([]byte, error) {
	p.ws()
	start := p.i
	depth := 0
	inStr := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		if inStr {
			switch c {
			case '\\':
				p.i++
			case '"':
				inStr = false
				if depth == 0 {
					return p.b[start:p.i], nil
				}
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return nil, elemErr(p.i-1, "unbalanced")
			}
			if depth == 0 {
				return p.b[start:p.i], nil
			}
		case ',':
			if depth == 0 {
				p.i--
				return p.b[start:p.i], nil
			}
		default:
			if depth == 0 && p.i < len(p.b) && (p.b[p.i] == '}' || p.b[p.i] == ']' || p.b[p.i] == ',') {
				return p.b[start:p.i], nil
			}
		}
	}
	if depth == 0 && !inStr && p.i > start {
		return p.b[start:p.i], nil
	}
	return nil, elemErr(p.i, "truncated value")
}

// key reads an object key without allocating when it has no escapes.
func (p *elemParser) key() ([]byte, error) {
	if p.peek() != '"' {
		return nil, elemErr(p.i, "expected a string")
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], nil
		case c == '\\' || c < 0x20:
			s, err := p.str()
			return []byte(s), err
		}
	}
	return nil, elemErr(p.i, "unterminated string")
}

// object calls fn for each member of the object at the cursor.
func (p *elemParser) object(fn func(key []byte) error) error {
	if p.peek() == 'n' {
		_, err := p.value()
		return err
	}
	if err := p.expect('{'); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		p.keyAt = p.i
		k, err := p.key()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return elemErr(p.i, "expected ',' or '}'")
		}
	}
}

// strOrNull reads a string, or null as "".
func (p *elemParser) strOrNull() (string, error) {
	if p.peek() == 'n' {
		_, err := p.value()
		return "", err
	}
	return p.str()
}

// interner shares the few distinct module addresses, types, modes and
// reasons of a plan instead of allocating them per change.
type interner map[string]string

func (p *elemParser) interned(in interner) (string, error) {
	if p.peek() == '"' {
		start := p.i
		if k, err := p.key(); err == nil && p.i-start == len(k)+2 && utf8.Valid(k) {
			if s, ok := in[string(k)]; ok {
				return s, nil
			}
			s := string(k)
			if len(in) < 10000 {
				in[s] = s
			}
			return s, nil
		}
		p.i = start
	}
	return p.strOrNull()
}

// rcKeys and changeKeys are the keys read in a resource change and in its
// change, in the order of the constants below; see planKeys for why each
// must appear once and spelled exactly.
var (
	rcKeys     = []string{"address", "previous_address", "module_address", "mode", "type", "name", "deposed", "action_reason", "change"}
	changeKeys = []string{"actions", "before", "after", "after_unknown", "before_sensitive", "after_sensitive", "importing", "replace_paths"}
)

const (
	rcAddress = iota
	rcPrevAddress
	rcModule
	rcMode
	rcType
	rcName
	rcDeposed
	rcReason
	rcChange
)

const (
	chActions = iota
	chBefore
	chAfter
	chAfterUnknown
	chBeforeSensitive
	chAfterSensitive
	chImporting
	chReplacePaths
)

// rcKey and changeKey return the constant for k, or -1; a switch on the
// string is much faster than a search of the lists.
func rcKey(k []byte) int {
	switch string(k) {
	case "address":
		return rcAddress
	case "previous_address":
		return rcPrevAddress
	case "module_address":
		return rcModule
	case "mode":
		return rcMode
	case "type":
		return rcType
	case "name":
		return rcName
	case "deposed":
		return rcDeposed
	case "action_reason":
		return rcReason
	case "change":
		return rcChange
	}
	return -1
}

func changeKey(k []byte) int {
	switch string(k) {
	case "actions":
		return chActions
	case "before":
		return chBefore
	case "after":
		return chAfter
	case "after_unknown":
		return chAfterUnknown
	case "before_sensitive":
		return chBeforeSensitive
	case "after_sensitive":
		return chAfterSensitive
	case "importing":
		return chImporting
	case "replace_paths":
		return chReplacePaths
	}
	return -1
}

// keys tracks the keys read in one object, to find the first repeated or
// miscased one.
type keys struct {
	seen     uint16
	conflict *error
}

func (ks *keys) read(p *elemParser, k []byte, bit int, known []string) {
	if *ks.conflict != nil {
		return
	}
	switch {
	case bit >= 0 && ks.seen&(1<<bit) != 0:
		*ks.conflict = elemErr(p.keyAt, "key %s appears twice: Terraform writes each key once, and JSON readers disagree on which one counts", known[bit])
	case bit >= 0:
		ks.seen |= 1 << bit
	default:
		if w := foldMatch(k, known); w != "" {
			*ks.conflict = elemErr(p.keyAt, "a key is %s in other letter case: Terraform writes %s exactly, and case-insensitive JSON readers (encoding/json, terraform-json) would read it as %s", w, w, w)
		}
	}
}

// parseResourceChange fills rc from the raw JSON of one resource change,
// valid JSON. A repeated key replaces the earlier value, as in
// encoding/json into a map (so only the last value of a key must have the
// right type); the first repeated or miscased key tasuki reads is recorded
// in rc.conflict.
func parseResourceChange(raw []byte, rc *lazyResourceChange, in interner) error {
	p := &elemParser{b: raw}
	if c := p.peek(); c != '{' && c != 'n' {
		return elemErr(p.i, "not an object")
	}
	ks := keys{conflict: &rc.conflict}
	var bad [rcChange + 1]error // the type error of each key's last value
	err := p.object(func(k []byte) error {
		bit := rcKey(k)
		ks.read(p, k, bit, rcKeys)
		if bit < 0 {
			_, err := p.value()
			return err
		}
		p.ws()
		at := p.i
		var err error
		switch bit {
		case rcAddress:
			rc.Address, err = p.strOrNull()
		case rcPrevAddress:
			rc.PreviousAddress, err = p.strOrNull()
		case rcModule:
			rc.ModuleAddress, err = p.interned(in)
		case rcMode:
			var s string
			s, err = p.interned(in)
			rc.Mode = tfjson.ResourceMode(s)
		case rcType:
			rc.Type, err = p.interned(in)
		case rcName:
			rc.Name, err = p.strOrNull()
		case rcDeposed:
			rc.DeposedKey, err = p.strOrNull()
		case rcReason:
			var s string
			s, err = p.interned(in)
			rc.ActionReason = tfjson.ActionReason(s)
		case rcChange:
			switch p.peek() {
			case 'n':
				rc.Change = nil
				_, err = p.value()
			case '{':
				rc.Change = &lazyChange{}
				err = p.change(rc.Change, &rc.conflict)
			default:
				err = elemErr(at, "change is not an object")
			}
		}
		bad[bit] = nil
		if err != nil {
			if bit != rcChange {
				err = elemErr(at, "%s is not a string", rcKeys[bit])
			}
			bad[bit] = err
			p.i = at
			_, err = p.value()
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, err := range bad {
		if err != nil {
			return err
		}
	}
	if p.peek() != 0 {
		return elemErr(p.i, "data after the object")
	}
	return nil
}

func (p *elemParser) change(c *lazyChange, conflict *error) error {
	ks := keys{conflict: conflict}
	var bad [chReplacePaths + 1]error // the type error of each key's last value
	err := p.object(func(k []byte) error {
		bit := changeKey(k)
		ks.read(p, k, bit, changeKeys)
		p.ws()
		at := p.i
		if bit == chActions {
			bad[bit] = p.actions(c)
			if bad[bit] != nil {
				p.i = at
				_, err := p.value()
				return err
			}
			return nil
		}
		raw, err := p.value()
		if err != nil || bit < 0 {
			return err
		}
		bad[bit] = nil
		switch bit {
		case chBefore:
			c.Before = raw
		case chAfter:
			c.After = raw
		case chAfterUnknown:
			c.AfterUnknown = raw
		case chBeforeSensitive:
			c.BeforeSensitive = raw
		case chAfterSensitive:
			c.AfterSensitive = raw
		case chImporting:
			c.Importing = nil
			if string(raw) != "null" {
				c.Importing = &tfjson.Importing{}
				if err := json.Unmarshal(raw, c.Importing); err != nil {
					bad[bit] = elemErr(-1, "change.importing is not an object")
				}
			}
		case chReplacePaths:
			if err := json.Unmarshal(raw, &c.ReplacePaths); err != nil {
				bad[bit] = elemErr(-1, "change.replace_paths is not a list")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, err := range bad {
		if err != nil {
			return err
		}
	}
	return nil
}

// knownActions avoids allocating a string per action.
var knownActions = map[string]tfjson.Action{}

func init() {
	for _, a := range []tfjson.Action{tfjson.ActionNoop, tfjson.ActionCreate, tfjson.ActionRead, tfjson.ActionUpdate, tfjson.ActionDelete, tfjson.ActionForget} {
		knownActions[string(a)] = a
	}
}

func (p *elemParser) actions(c *lazyChange) error {
	c.Actions = nil // a repeated key replaces, as in encoding/json
	if p.peek() == 'n' {
		_, err := p.value()
		return err
	}
	if p.peek() != '[' {
		return elemErr(-1, "change.actions is not a list of strings")
	}
	p.i++
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for {
		if p.peek() != '"' {
			return elemErr(-1, "change.actions is not a list of strings")
		}
		raw, err := p.value()
		if err != nil {
			return err
		}
		if a, ok := knownActions[string(raw[1:len(raw)-1])]; ok {
			c.Actions = append(c.Actions, a)
		} else {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return elemErr(-1, "change.actions is not a list of strings")
			}
			c.Actions = append(c.Actions, tfjson.Action(s))
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return elemErr(p.i, "expected ',' or ']'")
		}
	}
}
