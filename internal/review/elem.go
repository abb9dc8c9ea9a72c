package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

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
	// marks, when known, are where the outer containers of b start and
	// end (lexer.marks), so that value passes over them in one step.
	marks []span
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

// value returns the raw bytes of the next value. The input is valid JSON
// (the lexer checked it while capturing), so a string is passed over by
// its quotes alone, found with bytes.IndexByte: this is what skips the
// before and after values of most changes at memory speed.
func (p *elemParser) value() ([]byte, error) {
	p.ws()
	b := p.b
	start := p.i
	if start >= len(b) {
		return nil, elemErr(start, "truncated value")
	}
	i := start
	switch b[i] {
	case '"':
		j := strEnd(b, i+1)
		if j < 0 {
			return nil, elemErr(start, "unterminated string")
		}
		p.i = j
		return b[start:j], nil
	case '{', '[':
		if end, ok := p.markedEnd(start); ok {
			p.i = end
			return b[start:end], nil
		}
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j := strEnd(b, i+1)
				if j < 0 {
					return nil, elemErr(i, "unterminated string")
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					p.i = i + 1
					return b[start:p.i], nil
				}
			}
			i++
		}
		return nil, elemErr(i, "truncated value")
	}
	for i < len(b) && !scalarEnd[b[i]] {
		i++
	}
	if i == start {
		return nil, elemErr(i, "expected a value")
	}
	p.i = i
	return b[start:i], nil
}

// markedEnd returns where the container starting at i ends, when marked.
func (p *elemParser) markedEnd(i int) (int, bool) {
	m := p.marks
	lo, hi := 0, len(m)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if m[h].start < int64(i) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	if lo < len(m) && m[lo].start == int64(i) && m[lo].end > int64(i) && m[lo].end <= int64(len(p.b)) {
		return int(m[lo].end), true
	}
	return 0, false
}

// scalarEnd marks the bytes that end a number or literal.
var scalarEnd = [256]bool{',': true, '}': true, ']': true, ':': true, ' ': true, '\t': true, '\n': true, '\r': true, '"': true, '{': true, '[': true}

// strEnd returns the offset just past the closing quote of the string
// whose content starts at i, or -1: the first quote not escaped, that is
// preceded by an even number of backslashes.
func strEnd(b []byte, i int) int {
	for i <= len(b) {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return -1
		}
		j := i + k
		n := 0
		for m := j - 1; m >= 0 && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		i = j + 1
	}
	return -1
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

// nameIn reads a string, or null as "", sharing the bytes of address
// when the name is its last step, as a resource's name is (a.b.NAME or
// a.b.NAME[key]): one allocation less per change.
func (p *elemParser) nameIn(address string) (string, error) {
	if p.peek() == '"' {
		start := p.i
		if k, err := p.key(); err == nil && p.i-start == len(k)+2 && len(k) > 0 {
			if j := strings.LastIndex(address, string(k)); j > 0 && address[j-1] == '.' &&
				(j+len(k) == len(address) || address[j+len(k)] == '[') {
				return address[j : j+len(k)], nil
			}
		}
		p.i = start
	}
	return p.strOrNull()
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
	return parseMarkedChange(raw, nil, rc, in)
}

// parseMarkedChange is parseResourceChange with the spans of raw's outer
// containers (lexer.marks).
func parseMarkedChange(raw []byte, marks []span, rc *lazyResourceChange, in interner) error {
	// rc is reused from change to change: keep its buffers only.
	chBuf, acts := rc.chBuf, rc.actBuf[:0]
	*rc = lazyResourceChange{}
	if chBuf == nil {
		chBuf = &lazyChange{}
	}
	p := &elemParser{b: raw, marks: marks}
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
			rc.Name, err = p.nameIn(rc.Address)
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
				*chBuf = lazyChange{Actions: acts}
				rc.Change = chBuf
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
	rc.chBuf, rc.actBuf = chBuf, acts
	if rc.Change != nil {
		rc.actBuf = rc.Change.Actions
	}
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
			// As json.Unmarshal into []any: null is none, anything
			// but a list is an error.
			c.ReplacePaths = nil
			v, err := decodeValue(raw)
			switch l, ok := v.([]any); {
			case err == nil && ok:
				c.ReplacePaths = l
			case err != nil || v != nil:
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
	c.Actions = c.Actions[:0] // a repeated key replaces, as in encoding/json
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

// valueDecoder decodes valid JSON (captured by the lexer, so checked) into
// the values encoding/json decodes into an `any`: map[string]any, []any,
// string, float64, bool and nil, with the same results (the last of
// repeated keys wins, invalid UTF-8 in a string becomes U+FFFD, a number
// out of float64's range is an error). It is several times faster than
// json.Unmarshal, which checks the whole value again and goes through
// reflection.
type valueDecoder struct {
	b []byte
	i int
}

// errBadValue is a value the decoder cannot take; with checked input only
// a number out of range.
var errBadValue = elemErr(-1, "a value in change cannot be decoded")

// decodeValue decodes raw; null or nothing is nil.
func decodeValue(raw []byte) (v any, err error) {
	if len(raw) == 0 {
		return nil, nil
	}
	defer func() {
		// Only input that is not valid JSON gets here (an index out of
		// range): the lexer never hands such over.
		if recover() != nil {
			v, err = nil, errBadValue
		}
	}()
	d := valueDecoder{b: raw}
	return d.value()
}

func (d *valueDecoder) ws() byte {
	for {
		switch c := d.b[d.i]; c {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return c
		}
	}
}

func (d *valueDecoder) value() (any, error) {
	switch d.ws() {
	case '{':
		d.i++
		m := map[string]any{}
		if d.ws() == '}' {
			d.i++
			return m, nil
		}
		for {
			d.ws()
			k := d.str()
			d.ws()
			d.i++ // ':'
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			m[k] = v
			c := d.ws()
			d.i++
			if c == '}' {
				return m, nil
			}
		}
	case '[':
		d.i++
		l := make([]any, 0)
		if d.ws() == ']' {
			d.i++
			return l, nil
		}
		for {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			c := d.ws()
			d.i++
			if c == ']' {
				return l, nil
			}
		}
	case '"':
		return d.str(), nil
	case 't':
		d.i += 4
		return true, nil
	case 'f':
		d.i += 5
		return false, nil
	case 'n':
		d.i += 4
		return nil, nil
	}
	start := d.i
	for d.i < len(d.b) && !scalarEnd[d.b[d.i]] {
		d.i++
	}
	f, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil {
		return nil, errBadValue
	}
	return f, nil
}

// str decodes the string at the cursor (at its opening quote).
func (d *valueDecoder) str() string {
	start := d.i
	end := strEnd(d.b, start+1)
	if end < 0 {
		panic("unterminated string")
	}
	d.i = end
	return unquote(d.b[start:end])
}

// keyIn reads the key at the cursor for a map lookup: without allocating
// when it needs no decoding.
func (d *valueDecoder) keyIn() string {
	start := d.i
	end := strEnd(d.b, start+1)
	if end < 0 {
		panic("unterminated string")
	}
	d.i = end
	if s := d.b[start+1 : end-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return unsafeString(s)
	}
	return unquote(d.b[start:end])
}

// unsafeString views b as a string, for a lookup that does not keep it.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unquote decodes a whole JSON string, quotes included, as encoding/json.
func unquote(q []byte) string {
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	var out string
	if json.Unmarshal(q, &out) != nil {
		panic("bad string")
	}
	return out
}

// skip passes over the value at the cursor.
func (d *valueDecoder) skip() {
	p := elemParser{b: d.b, i: d.i}
	if _, err := p.value(); err != nil {
		panic(err)
	}
	d.i = p.i
}
