package review

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// Terraform marks sensitive and unknown values in parallel structures:
// before_sensitive/after_sensitive/after_unknown mirror the value, with
// `true` where the value (or the whole subtree) is sensitive or unknown, and
// objects/arrays where only parts are. Everything here reads the value and
// its masks together so that a sensitive value is replaced before it is
// rendered; nothing returns or stores an unmasked sensitive value.

// containsTrue reports whether a mask marks anything.
func containsTrue(m any) bool {
	switch m := m.(type) {
	case bool:
		return m
	case map[string]any:
		for _, v := range m {
			if containsTrue(v) {
				return true
			}
		}
	case []any:
		for _, v := range m {
			if containsTrue(v) {
				return true
			}
		}
	}
	return false
}

// maskKey and maskIndex return the part of a mask for a member or element.
func maskKey(m any, k string) any {
	switch m := m.(type) {
	case bool:
		return m
	case map[string]any:
		return m[k]
	}
	return nil
}

func maskIndex(m any, i int) any {
	switch m := m.(type) {
	case bool:
		return m
	case []any:
		if i < len(m) {
			return m[i]
		}
	}
	return nil
}

// leafMasked reports whether v, a value at a leaf of the walk, is covered by
// mask: either the mask is true, or the mask has structure where the value
// has none (a shape mismatch is treated as sensitive, to be safe).
func leafMasked(mask any) bool { return containsTrue(mask) }

// secrets are the string values a plan marks sensitive somewhere. Terraform
// does not always carry a mark to every copy of a value (terraform_data's
// output repeats its input unmarked in the prior state), so a string that is
// sensitive in one place is masked everywhere it appears in the same plan,
// equal or embedded in a longer string. The set lives only while the plan is
// read.
//
// Embedded copies are found through windows: each secret is indexed by its
// first keyLen bytes (or all of it when shorter), and a value is scanned
// once per distinct window length, so the cost does not grow with the
// number of secrets.
type secrets struct {
	exact map[string]int     // secret -> learn order
	keys  map[string][]int32 // window -> learn orders of secrets starting so
	lens  []int              // distinct window lengths, ascending
	order []string           // secrets (raw) by learn order
}

const (
	minSecretLen = 6  // shorter strings are only masked when equal
	keyLen       = 16 // window length for longer secrets
	maxSecrets   = 1 << 16
)

func newSecrets() *secrets {
	return &secrets{exact: map[string]int{}, keys: map[string][]int32{}}
}

// learn records every string in v that mask marks sensitive.
func (s *secrets) learn(v, mask any) {
	if s == nil || mask == nil || mask == false {
		return
	}
	if mask == true {
		s.learnAll(v)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			s.learn(e, maskKey(mask, k))
		}
	case []any:
		for i, e := range v {
			s.learn(e, maskIndex(mask, i))
		}
	default:
		if containsTrue(mask) {
			s.learnAll(v)
		}
	}
}

func (s *secrets) learnAll(v any) {
	switch v := v.(type) {
	case map[string]any:
		// Keys are attribute names or map keys; a map key under a
		// sensitive mark is masked where it is rendered (replacePath).
		for _, e := range v {
			s.learnAll(e)
		}
	case []any:
		for _, e := range v {
			s.learnAll(e)
		}
	case string:
		s.add(v)
	case float64:
		s.add(strconv.FormatFloat(v, 'f', -1, 64))
	}
}

func (s *secrets) add(v string) {
	if v == "" {
		return
	}
	if _, ok := s.exact[v]; ok || len(s.order) >= maxSecrets {
		return
	}
	id := len(s.order)
	s.exact[v] = id
	s.order = append(s.order, v)
	if len(v) < minSecretLen {
		// Too short to look for inside text; but a rendered value
		// holding it as a whole JSON string ("bar" in ["bar"]) shows it.
		s.index(strconv.Quote(v), id)
		return
	}
	s.index(v, id)
	// Rendered values are quoted: index the escaped form too.
	if q := strconv.Quote(v); q[1:len(q)-1] != v {
		s.index(q[1:len(q)-1], id)
	}
}

func (s *secrets) index(v string, id int) {
	k := v[:min(len(v), keyLen)]
	if len(s.keys[k]) >= 64 {
		return // many secrets share this prefix: equal copies are still caught
	}
	s.keys[k] = append(s.keys[k], int32(id))
	for _, l := range s.lens {
		if l == len(k) {
			return
		}
	}
	s.lens = append(s.lens, len(k))
	sort.Ints(s.lens)
}

// find reports whether v contains a secret learned at or after from,
// starting within its first scan bytes.
func (s *secrets) find(v string, from, scan int) bool {
	if s == nil || len(s.order) <= from {
		return false
	}
	if id, ok := s.exact[v]; ok && id >= from {
		return true
	}
	if len(s.lens) == 0 || len(v) < s.lens[0] {
		return false
	}
	for i := 0; i < len(v) && i < scan; i++ {
		for _, l := range s.lens {
			if i+l > len(v) {
				break
			}
			for _, id := range s.keys[v[i:i+l]] {
				if int(id) < from {
					continue
				}
				sec := s.order[id]
				if len(sec) <= keyLen || strings.HasPrefix(v[i:], sec) || strings.HasPrefix(v[i:], strings.Trim(strconv.Quote(sec), `"`)) {
					return true
				}
			}
		}
	}
	return false
}

// hides reports whether v is or contains a known secret that would show in
// its rendering (which keeps the first ValueLimit bytes).
func (s *secrets) hides(v string) bool { return s.find(v, 0, ValueLimit) }

// hidesRendered reports whether a rendered value contains one of the
// secrets learned since the from'th, that is after the value was rendered.
func (s *secrets) hidesRendered(r string, from int) bool {
	if r == Sensitive || r == Unknown {
		return false
	}
	return s.find(r, from, len(r))
}

// renderValue renders v as compact JSON, with sensitive parts (per sens,
// or known secrets) as "(sensitive)" and unknown parts (per unk) as "(known
// after apply)", truncated to ValueLimit bytes.
func (s *secrets) renderValue(v, sens, unk any) string {
	var b strings.Builder
	s.writeValue(&b, v, sens, unk, 0)
	return mdtext.Truncate(b.String(), ValueLimit)
}

func (s *secrets) writeValue(b *strings.Builder, v, sens, unk any, depth int) {
	if b.Len() > ValueLimit+16 {
		return // truncated anyway
	}
	if sens == true {
		b.WriteString(Sensitive)
		return
	}
	if unk == true {
		b.WriteString(Unknown)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// Terraform leaves unknown members out of the value.
		if um, ok := unk.(map[string]any); ok {
			for k, u := range um {
				if _, in := v[k]; !in && u == true {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if s.hides(k) {
				b.WriteString(strconv.Quote(Sensitive))
			} else {
				b.WriteString(quote(k))
			}
			b.WriteByte(':')
			s.writeValue(b, v[k], maskKey(sens, k), maskKey(unk, k), depth+1)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			s.writeValue(b, e, maskIndex(sens, i), maskIndex(unk, i), depth+1)
		}
		b.WriteByte(']')
	default:
		if containsTrue(sens) {
			b.WriteString(Sensitive)
			return
		}
		b.WriteString(s.scalar(v))
	}
}

// scalar renders a scalar, or Sensitive when it is a known secret.
func (s *secrets) scalar(v any) string {
	switch x := v.(type) {
	case string:
		if s.hides(x) {
			return Sensitive
		}
	case float64:
		if s.hides(strconv.FormatFloat(x, 'f', -1, 64)) {
			return Sensitive
		}
	}
	return plainScalar(v)
}

func plainScalar(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return quote(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return "?"
}

func quote(s string) string {
	if len(s) > ValueLimit {
		s = mdtext.Truncate(s, ValueLimit)
	}
	return strconv.Quote(s)
}

// isIdent reports whether k matches ^[A-Za-z_][A-Za-z0-9_-]*$, as an
// attribute name does (a hand loop: this runs for every attribute diffed).
func isIdent(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' || k[0] == '-' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func pathKey(path, k string) string {
	if isIdent(k) {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	return path + "[" + quote(k) + "]"
}

func pathIndex(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// replacePath renders one replace_paths entry. Once the path enters a value
// marked sensitive on either side, the remaining steps (map keys that could
// be secret) are masked.
func (s *secrets) replacePath(rp any, bs, as any) string {
	steps, ok := rp.([]any)
	if !ok {
		return Sensitive
	}
	path := ""
	masked := false
	for _, st := range steps {
		if masked {
			path += "[" + Sensitive + "]"
			continue
		}
		switch st := st.(type) {
		case string:
			if s.hides(st) {
				path += "[" + Sensitive + "]"
				masked = true
				continue
			}
			path = pathKey(path, st)
			bs, as = maskKey(bs, st), maskKey(as, st)
		case float64:
			i := int(st)
			path = pathIndex(path, i)
			bs, as = maskIndex(bs, i), maskIndex(as, i)
		default:
			path += "[?]"
		}
		if bs == true || as == true {
			masked = true
		}
	}
	if path == "" {
		return "(whole resource)"
	}
	return path
}

// differ lists the changed leaf attributes of one change.
type differ struct {
	sec     *secrets
	limit   int
	out     []AttrDiff
	omitted int
}

func (d *differ) add(a AttrDiff) {
	if a.Path == "" {
		a.Path = "(value)"
	}
	if len(d.out) < d.limit {
		d.out = append(d.out, a)
	} else {
		d.omitted++
	}
}

// walk compares before and after at path. hb/ha say whether the value
// exists on that side (a missing list element or object member, or the
// whole object of a create).
func (d *differ) walk(path string, before, after, bs, as, au any, hb, ha bool) {
	if au == true {
		a := AttrDiff{Path: path, Before: d.side(before, bs, hb), After: Unknown, Unknown: true}
		if containsTrue(bs) {
			a.Sensitive = true
		}
		d.add(a)
		return
	}
	if bs == true || as == true {
		// Compare without rendering: a sensitive value that did not
		// change is no change.
		if hb == ha && reflect.DeepEqual(before, after) {
			return
		}
		d.add(AttrDiff{Path: path, Before: d.side(before, bs, hb), After: d.side(after, as, ha), Sensitive: true})
		return
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	switch {
	case (bIsMap || !hb || before == nil) && (aIsMap || !ha || after == nil) && (bIsMap || aIsMap) && !(len(bm) == 0 && len(am) == 0 && hb && ha):
		keys := make([]string, 0, len(bm)+len(am))
		seen := map[string]bool{}
		for k := range bm {
			keys = append(keys, k)
			seen[k] = true
		}
		for k := range am {
			if !seen[k] {
				keys = append(keys, k)
				seen[k] = true
			}
		}
		// Terraform leaves unknown attributes out of after.
		if um, ok := au.(map[string]any); ok {
			for k, u := range um {
				if !seen[k] && u == true {
					keys = append(keys, k)
					seen[k] = true
				}
			}
		}
		if len(keys) == 0 {
			if hb != ha || before == nil != (after == nil) {
				d.leaf(path, before, after, bs, as, hb, ha)
			}
			return
		}
		sort.Strings(keys)
		for _, k := range keys {
			bv, bok := bm[k]
			av, aok := am[k]
			if !aok && maskKey(au, k) == true {
				aok = true
			}
			d.walk(pathKey(path, k), bv, av, maskKey(bs, k), maskKey(as, k), maskKey(au, k), bok, aok)
		}
	case (bIsList || !hb || before == nil) && (aIsList || !ha || after == nil) && (bIsList || aIsList) && !(len(bl) == 0 && len(al) == 0 && hb && ha):
		n := len(bl)
		if len(al) > n {
			n = len(al)
		}
		if n == 0 {
			if hb != ha || before == nil != (after == nil) {
				d.leaf(path, before, after, bs, as, hb, ha)
			}
			return
		}
		for i := 0; i < n; i++ {
			var bv, av any
			bok, aok := i < len(bl), i < len(al)
			if bok {
				bv = bl[i]
			}
			if aok {
				av = al[i]
			}
			d.walk(pathIndex(path, i), bv, av, maskIndex(bs, i), maskIndex(as, i), maskIndex(au, i), bok, aok)
		}
	default:
		d.leaf(path, before, after, bs, as, hb, ha)
	}
}

func (d *differ) leaf(path string, before, after, bs, as any, hb, ha bool) {
	if hb == ha && reflect.DeepEqual(before, after) {
		return
	}
	if len(d.out) >= d.limit {
		d.omitted++ // counted, not rendered
		return
	}
	// A create lists its set attributes, not its nulls.
	if !hb && after == nil {
		return
	}
	a := AttrDiff{Path: path, Before: d.side(before, bs, hb), After: d.side(after, as, ha)}
	if leafMasked(bs) || leafMasked(as) {
		a.Sensitive = true
	}
	if a.Before == Sensitive || a.After == Sensitive {
		a.Sensitive = true
	}
	if path == "" {
		a.Path = "(value)"
	}
	d.add(a)
}

func (d *differ) side(v, sens any, has bool) string {
	if !has {
		return "null"
	}
	if sens == true {
		return Sensitive
	}
	switch v.(type) {
	case map[string]any, []any:
		return d.sec.renderValue(v, sens, nil)
	}
	if leafMasked(sens) {
		return Sensitive
	}
	return d.sec.scalar(v)
}

// learnRaw records, as learn does, the strings that mask marks sensitive
// in raw, a valid JSON value, decoding only the marked parts: a change
// whose attributes are not shown still teaches its secrets, without the
// cost of decoding its values.
func (s *secrets) learnRaw(raw []byte, mask any) (err error) {
	if s == nil || len(raw) == 0 || !containsTrue(mask) {
		return nil
	}
	defer func() {
		if recover() != nil {
			err = errBadValue
		}
	}()
	d := valueDecoder{b: raw}
	s.learnAt(&d, mask)
	return nil
}

// learnAt learns the value at the cursor under mask and moves past it.
func (s *secrets) learnAt(d *valueDecoder, mask any) {
	if mask == true {
		s.learnAllAt(d)
		return
	}
	switch d.ws() {
	case '{':
		m, ok := mask.(map[string]any)
		if !ok {
			d.skip()
			return
		}
		d.i++
		if d.ws() == '}' {
			d.i++
			return
		}
		for {
			d.ws()
			mk := m[d.keyIn()]
			d.ws()
			d.i++ // ':'
			if containsTrue(mk) {
				s.learnAt(d, mk)
			} else {
				d.skip()
			}
			c := d.ws()
			d.i++
			if c == '}' {
				return
			}
		}
	case '[':
		l, ok := mask.([]any)
		if !ok {
			d.skip()
			return
		}
		d.i++
		if d.ws() == ']' {
			d.i++
			return
		}
		for i := 0; ; i++ {
			if i < len(l) && containsTrue(l[i]) {
				s.learnAt(d, l[i])
			} else {
				d.skip()
			}
			c := d.ws()
			d.i++
			if c == ']' {
				return
			}
		}
	default:
		// A scalar under a structured mark: a shape mismatch, learnt
		// whole to be safe (as learn does).
		s.learnAllAt(d)
	}
}

// learnAllAt learns every string and number of the value at the cursor.
func (s *secrets) learnAllAt(d *valueDecoder) {
	switch d.ws() {
	case '{':
		d.i++
		if d.ws() == '}' {
			d.i++
			return
		}
		for {
			d.ws()
			d.skip() // the key
			d.ws()
			d.i++ // ':'
			s.learnAllAt(d)
			c := d.ws()
			d.i++
			if c == '}' {
				return
			}
		}
	case '[':
		d.i++
		if d.ws() == ']' {
			d.i++
			return
		}
		for {
			s.learnAllAt(d)
			c := d.ws()
			d.i++
			if c == ']' {
				return
			}
		}
	case '"':
		s.add(d.str())
	case 't', 'f', 'n':
		d.skip()
	default:
		start := d.i
		d.skip()
		text := string(d.b[start:d.i])
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			s.add(strconv.FormatFloat(f, 'f', -1, 64))
		} else {
			s.add(text) // out of float64's range: kept as written, to be safe
		}
	}
}
