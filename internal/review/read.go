package review

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	tfjson "github.com/hashicorp/terraform-json"
)

// Budgets that bound the memory ReadPlan uses on large plans.
const (
	AttrsPerChange = 50    // attribute diffs kept per change
	AttrBudget     = 10000 // attribute diffs kept per plan: more than a 1 MB job summary shows
	ValueLimit     = 200   // bytes of one rendered value
)

// ReadPlan reads the output of `terraform show -json PLANFILE` (Terraform
// >= 0.12, format 0.x and 1.x, and OpenTofu) from r, streaming: the text
// is never held whole, and the memory used while reading depends on the
// largest single resource change, not on the plan size; what stays is the
// Plan, a Change per resource change (see ReadOptions.Keep to keep fewer).
// source names the input in errors. UTF-16 (what Windows PowerShell's `>`
// writes) and gzip input are converted and named in Plan.Encoding.
// Sensitive values are masked while reading and variables are skipped
// unread. Errors are *PlanError naming source, never quoting the file. An
// errored plan is read and flagged (Plan.Errored), not rejected.
//
// The input must be valid JSON (RFC 8259, as encoding/json.Valid decides;
// a leading byte order mark is ignored, as RFC 8259 allows), skipped parts
// included; a syntax error names its byte offset, in the JSON text after
// any decoding, and the value it is in (resource_changes[3]). Valid JSON
// that encoding/json-based tools would read differently is refused too: a
// key tasuki reads that is repeated, or spelled in other letter case.
func ReadPlan(r io.Reader, source string) (*Plan, error) {
	return ReadPlanWith(r, source, ReadOptions{})
}

// ReadOptions tune ReadPlanWith to what the caller shows.
type ReadOptions struct {
	// NoAttrs leaves every Change.Attrs empty, for output that shows no
	// attribute (the CLI's --format json): values are then never
	// decoded, only the parts marked sensitive, and reading is mostly
	// scanning. Plan.ChangesWithoutAttrs stays 0.
	NoAttrs bool
	// Keep, when set, picks the resource changes kept in Plan.Changes
	// (it must not keep the pointer it is given); the others are only
	// counted (Plan.Unkept), so that memory follows the changes kept, not
	// the plan. For output built from counts and risks alone: see
	// RiskSample.
	Keep func(*Change) bool
}

// ReadPlanWith is ReadPlan with options.
func ReadPlanWith(r io.Reader, source string, o ReadOptions) (*Plan, error) {
	perr := func(format string, args ...any) error {
		return &PlanError{Source: source, Reason: fmt.Sprintf(format, args...)}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	p := &Plan{Source: source, Complete: true}
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || len(head) >= 2 && head[0] != 0 && head[1] == 0:
		if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) {
			_, _ = br.Discard(2)
		}
		p.Encoding = "UTF-16LE"
		br = bufio.NewReaderSize(&utf16Reader{r: br}, 64<<10)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}) || len(head) >= 2 && head[0] == 0 && head[1] != 0:
		if bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
			_, _ = br.Discard(2)
		}
		p.Encoding = "UTF-16BE"
		br = bufio.NewReaderSize(&utf16Reader{r: br, big: true}, 64<<10)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		// plan.json.gz, as some pipelines store artifacts.
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, perr("gzip-compressed but unreadable: %v", err)
		}
		defer zr.Close()
		p.Encoding = "gzip"
		br = bufio.NewReaderSize(zr, 64<<10)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return nil, perr("this is a binary plan file (terraform plan -out), not JSON: run terraform show -json PLANFILE > plan.json")
	}
	l := &lexer{r: br}
	c, err := l.ws()
	if err != nil {
		var te *truncatedError
		if errors.As(err, &te) && te.off == 0 {
			return nil, perr("empty file, not a plan: run terraform show -json PLANFILE > plan.json")
		}
		return nil, lexError(source, err)
	}
	if c != '{' {
		if kind := jsonKinds[c]; kind != "" {
			return nil, perr("a JSON %s, not a plan (terraform show -json PLANFILE writes an object)", kind)
		}
		return nil, perr("not JSON (a text plan? run terraform show -json PLANFILE)")
	}

	var (
		sawPlan, sawValues, sawRedacted, sawFormat, sawApplyable bool
		budget                                                   = AttrBudget
		seen                                                     uint32 // planKeys read so far
	)
	if o.NoAttrs {
		budget = 0
	}
	var changes changeList
	rd := &reader{in: interner{}, lex: l, plan: p, budget: &budget, sec: newSecrets(), noAttrs: o.NoAttrs}
	c, err = l.ws()
	if err != nil {
		return nil, lexError(source, err)
	}
	for c != '}' {
		if c != '"' {
			return nil, lexError(source, l.fail("expected a string key or '}' in the top-level object, found %s", found(c)))
		}
		keyAt := l.off - 1
		key, err := l.key(maxKeyLen)
		if err != nil {
			return nil, lexError(source, err)
		}
		if c, err = l.ws(); err != nil {
			return nil, lexError(source, err)
		}
		if c != ':' {
			return nil, lexError(source, l.fail("expected ':' after a top-level key, found %s", found(c)))
		}
		if c, err = l.ws(); err != nil {
			return nil, lexError(source, err)
		}
		if k := keyIndex(planKeys, key); k >= 0 {
			if seen&(1<<k) != 0 {
				return nil, perr("%s appears twice in the top-level object (again at byte %d): Terraform writes each key once, and JSON readers disagree on which one counts", key, keyAt)
			}
			seen |= 1 << k
		} else if w := foldMatch(key, planKeys); w != "" {
			return nil, perr("the top-level key at byte %d is %s in other letter case: Terraform writes %s exactly, and case-insensitive JSON readers (encoding/json, terraform-json) would read it as %s", keyAt, w, w, w)
		}
		switch key {
		case "format_version":
			sawFormat = true
			err = l.scalar(c, key, &p.FormatVersion)
		case "terraform_version":
			err = l.scalar(c, key, &p.TerraformVersion)
		case "errored":
			sawPlan = true
			err = l.scalar(c, key, &p.Errored)
		case "complete":
			sawPlan = true
			err = l.scalar(c, key, &p.Complete)
		case "applyable":
			sawPlan, sawApplyable = true, true
			err = l.scalar(c, key, &p.Applyable)
		case "resource_changes":
			sawPlan = true
			err = l.array(c, key, func(raw []byte, i int) error {
				ch, err := rd.resourceChange(raw, key, i)
				switch {
				case err != nil:
				case o.Keep != nil && !rd.keep(o.Keep, ch):
					p.unkeep(&ch)
				default:
					rd.seenChanges = rd.seen(rd.seenChanges, ch, changes.n)
					changes.add(ch)
				}
				return err
			})
			p.Changes = changes.slice()
		case "resource_drift":
			sawPlan = true
			err = l.array(c, key, func(raw []byte, i int) error {
				ch, err := rd.resourceChange(raw, key, i)
				if err == nil {
					rd.seenDrift = rd.seen(rd.seenDrift, ch, len(p.Drift))
					p.Drift = append(p.Drift, ch)
				}
				return err
			})
		case "deferred_changes":
			sawPlan = true
			err = l.array(c, key, func(raw []byte, i int) error {
				// encoding/json here, as in terraform-json: deferred
				// changes are few, and are only counted and listed.
				var d struct {
					Reason         string              `json:"reason"`
					ResourceChange *lazyResourceChange `json:"resource_change"`
				}
				if err := json.Unmarshal(raw, &d); err != nil {
					return decodeError(key, i, err, l.capStart)
				}
				if d.ResourceChange == nil {
					return nil
				}
				ch, err := rd.convert(d.ResourceChange)
				if err != nil {
					return decodeError(key, i, err, l.capStart)
				}
				ch.Reason = d.Reason
				rd.seenDeferred = rd.seen(rd.seenDeferred, ch, len(p.Deferred))
				p.Deferred = append(p.Deferred, ch)
				return nil
			})
		case "output_changes":
			sawPlan = true
			err = l.object(c, key, func(name string, raw []byte) error {
				var oc tfjson.Change
				if err := json.Unmarshal(raw, &oc); err != nil {
					return decodeError(memberPath(key, name, len(p.Outputs)), -1, err, l.capStart)
				}
				p.Outputs = append(p.Outputs, rd.outputChange(name, &oc))
				rd.seenOutputs = append(rd.seenOutputs, len(rd.sec.order))
				return nil
			})
		case "checks":
			sawPlan = true
			err = l.array(c, key, func(raw []byte, i int) error {
				var cr tfjson.CheckResultStatic
				if err := json.Unmarshal(raw, &cr); err != nil {
					return decodeError(key, i, err, l.capStart)
				}
				rd.check(&cr)
				return nil
			})
		case "action_invocations":
			sawPlan = true
			err = l.array(c, key, func([]byte, int) error { p.ActionInvocations++; return nil })
		case "values":
			sawValues = true
			err = within(l.skip(c, 1), key)
		case "plan_format_version", "provider_schemas_format_version":
			sawRedacted = true
			err = within(l.skip(c, 1), key)
		case "planned_values", "prior_state", "configuration", "relevant_attributes", "variables":
			// Variables may hold sensitive values and are never read.
			sawPlan = true
			err = within(l.skip(c, 1), key)
		default:
			err = l.skip(c, 1)
		}
		if err != nil {
			return nil, lexError(source, err)
		}
		if c, err = l.ws(); err != nil {
			return nil, lexError(source, err)
		}
		switch c {
		case ',':
			if c, err = l.ws(); err != nil {
				return nil, lexError(source, err)
			}
			if c == '}' {
				return nil, lexError(source, l.fail("trailing comma before '}' in the top-level object"))
			}
		case '}':
		default:
			return nil, lexError(source, l.fail("expected ',' or '}' after a top-level member, found %s (missing comma?)", found(c)))
		}
	}
	if end, err := l.atEnd(); err != nil {
		return nil, lexError(source, err)
	} else if !end {
		return nil, perr("unexpected data after the JSON document at byte %d (two documents concatenated, or stray braces?)", l.off)
	}

	switch {
	case sawRedacted && !sawFormat:
		return nil, perr("this is HCP Terraform's redacted plan (plan_format_version), not terraform show -json output: download the run's JSON plan (json-output) instead")
	case !sawPlan && sawValues:
		return nil, perr("this is a state file (terraform show -json without a plan file), not a plan: run terraform show -json PLANFILE")
	case !sawPlan && !sawFormat:
		return nil, perr("no plan in this JSON (no format_version, resource_changes or planned_values): run terraform show -json PLANFILE")
	case !sawPlan:
		return nil, perr("this is an empty state (terraform show -json without a plan file), not a plan: run terraform show -json PLANFILE")
	}
	if sawFormat {
		major, _, _ := strings.Cut(p.FormatVersion, ".")
		if major != "0" && major != "1" {
			return nil, perr("unsupported format_version %q (tasuki reads 0.x and 1.x)", mdSafeVersion(p.FormatVersion))
		}
	}
	if !sawApplyable {
		// Terraform before 1.7 does not say; an errored plan cannot be applied.
		p.Applyable = !p.Errored
	}
	p.AttrsOmitted = rd.omitted
	p.ChangesWithoutAttrs = rd.omittedChanges
	rd.scrub()
	sort.Slice(p.Outputs, func(i, j int) bool { return p.Outputs[i].Name < p.Outputs[j].Name })
	return p, nil
}

// mdSafeVersion keeps a format version short and printable for messages.
func mdSafeVersion(v string) string {
	if len(v) > 20 {
		v = v[:20]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, v)
}

func lexError(source string, err error) error {
	var pe *PlanError
	if errors.As(err, &pe) {
		pe.Source = source
		return pe
	}
	return &PlanError{Source: source, Reason: err.Error()}
}

// decodeError describes why a captured value, valid JSON, is not what a
// plan holds there, without quoting any value.
func decodeError(where string, i int, err error, base int64) error {
	if i >= 0 {
		where = fmt.Sprintf("%s[%d]", where, i)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the value"
		}
		return &PlanError{Reason: fmt.Sprintf("%s: %s has the wrong JSON type (want %s)", where, field, te.Type)}
	}
	var ee *elemError
	if errors.As(err, &ee) {
		if ee.off < 0 {
			return &PlanError{Reason: fmt.Sprintf("%s: %s", where, ee.what)}
		}
		return &PlanError{Reason: fmt.Sprintf("%s at byte %d: %s", where, base+int64(ee.off), ee.what)}
	}
	return &PlanError{Reason: fmt.Sprintf("%s: cannot decode", where)}
}

// jsonKinds names the JSON values that are not objects, by first byte.
var jsonKinds = [256]string{'{': "object", '[': "array", '"': "string", 't': "boolean", 'f': "boolean", 'n': "null",
	'-': "number", '0': "number", '1': "number", '2': "number", '3': "number", '4': "number",
	'5': "number", '6': "number", '7': "number", '8': "number", '9': "number"}

// maxKeyLen bounds the top-level keys kept while reading: longer ones are
// none that tasuki reads.
const maxKeyLen = 256

// planKeys are the top-level keys ReadPlan reads. Each must appear once and
// spelled exactly: encoding/json, and so terraform-json and most Go tools,
// matches keys whatever their letter case and lets the last of repeated
// keys win, so "Resource_changes" or a second resource_changes would make
// tasuki and those tools see different plans.
var planKeys = []string{"format_version", "terraform_version", "errored", "complete", "applyable",
	"resource_changes", "resource_drift", "deferred_changes", "output_changes", "checks", "action_invocations"}

func keyIndex(keys []string, k string) int {
	for i, w := range keys {
		if k == w {
			return i
		}
	}
	return -1
}

// foldMatch returns the key of keys that k matches under encoding/json's
// case folding, or "". Folding only shortens (K, the Kelvin sign, is three
// bytes; k one), which rules most keys out by length.
func foldMatch[S string | []byte](k S, keys []string) string {
	for _, w := range keys {
		if len(k) < len(w) || len(k) > 3*len(w) || k[0] < utf8.RuneSelf && k[0]|0x20 != w[0] {
			continue // all keys start with a lower-case ASCII letter
		}
		if strings.EqualFold(string(k), w) {
			return w
		}
	}
	return ""
}

// scalar decodes a small top-level value into dst.
func (l *lexer) scalar(c byte, key string, dst any) error {
	at := l.off - 1
	raw, err := l.capture(c, 1)
	if err != nil {
		return within(err, key)
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		want := "a string"
		if _, ok := dst.(*bool); ok {
			want = "true or false"
		}
		return &PlanError{Reason: fmt.Sprintf("%s at byte %d is a JSON %s, not %s", key, at, jsonKinds[c], want)}
	}
	return nil
}

// notA validates a value of the wrong kind and says what it should be: a
// value that is not even JSON gets the JSON error.
func (l *lexer) notA(c byte, key, want string) error {
	at := l.off - 1
	if err := l.skip(c, 1); err != nil {
		return within(err, key)
	}
	return &PlanError{Reason: fmt.Sprintf("%s at byte %d is a JSON %s, not %s", key, at, jsonKinds[c], want)}
}

// memberPath names member i of the top-level object key: by its name when
// that is a plain identifier, as Terraform's output names are, otherwise
// by its position, so that no odd text from the file reaches a message.
func memberPath(key, name string, i int) string {
	ok := name != "" && len(name) <= 64
	for j := 0; ok && j < len(name); j++ {
		c := name[j]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if ok {
		return key + "." + name
	}
	return fmt.Sprintf("%s (member %d)", key, i)
}

// array calls fn with the raw bytes of each element of the top-level array
// that starts with c (null is an empty array).
func (l *lexer) array(c byte, key string, fn func(raw []byte, i int) error) error {
	if c == 'n' {
		return within(l.literal("ull"), key)
	}
	if c != '[' {
		return l.notA(c, key, "an array")
	}
	c, err := l.ws()
	if err != nil {
		return within(err, key)
	}
	if c == ']' {
		return nil
	}
	for i := 0; ; i++ {
		raw, err := l.capture(c, 2)
		if err != nil {
			return within(err, fmt.Sprintf("%s[%d]", key, i))
		}
		if err := fn(raw, i); err != nil {
			return err
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return l.fail("expected ',' or ']' after %s[%d], found %s (missing comma?)", key, i, found(c))
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		if c == ']' {
			return l.fail("trailing comma before ']' in %s", key)
		}
	}
}

// object calls fn with each member of the top-level object that starts
// with c (null is an empty object).
func (l *lexer) object(c byte, key string, fn func(name string, raw []byte) error) error {
	if c == 'n' {
		return within(l.literal("ull"), key)
	}
	if c != '{' {
		return l.notA(c, key, "an object")
	}
	c, err := l.ws()
	if err != nil {
		return within(err, key)
	}
	if c == '}' {
		return nil
	}
	for i := 0; ; i++ {
		if c != '"' {
			return l.fail("expected a string key in %s, found %s", key, found(c))
		}
		name, err := l.key(-1)
		if err != nil {
			return within(err, key)
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		if c != ':' {
			return l.fail("expected ':' after a key in %s, found %s", key, found(c))
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		raw, err := l.capture(c, 2)
		if err != nil {
			return within(err, memberPath(key, name, i))
		}
		if err := fn(name, raw); err != nil {
			return err
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		switch c {
		case '}':
			return nil
		case ',':
		default:
			return l.fail("expected ',' or '}' after a member of %s, found %s (missing comma?)", key, found(c))
		}
		if c, err = l.ws(); err != nil {
			return within(err, key)
		}
		if c == '}' {
			return l.fail("trailing comma before '}' in %s", key)
		}
	}
}

// changeList collects changes in fixed chunks, then hands them over in one
// slice of the exact length: appending to one slice would copy the list
// again and again as it grows, and leave 1.25 times the copies' worth of
// garbage, which is most of the memory a big plan costs.
type changeList struct {
	chunks [][]Change
	n      int
}

const changeChunk = 2048

func (cl *changeList) add(ch Change) {
	if cl.n%changeChunk == 0 {
		cl.chunks = append(cl.chunks, make([]Change, 0, changeChunk))
	}
	last := &cl.chunks[len(cl.chunks)-1]
	*last = append(*last, ch)
	cl.n++
}

// slice returns the changes in one slice (nil for none) and empties cl.
func (cl *changeList) slice() []Change {
	if cl.n == 0 {
		return nil
	}
	out := make([]Change, 0, cl.n)
	for i, c := range cl.chunks {
		out = append(out, c...)
		cl.chunks[i] = nil
	}
	*cl = changeList{}
	return out
}

// reader converts terraform-json values into tasuki's masked types.
type reader struct {
	in      interner
	lex     *lexer
	sec     *secrets
	plan    *Plan
	budget  *int
	omitted int
	// omittedChanges counts changes read after AttrBudget ran out.
	omittedChanges int
	noAttrs        bool
	// seen* record, per change and output, how many secrets were known
	// when it was rendered: scrub checks it against the later ones only.
	// Only changes that hold rendered text (attribute diffs, an import
	// ID) are recorded, so that a big plan costs nothing here.
	seenChanges, seenDrift, seenDeferred []seenAt
	seenOutputs                          []int
	// rc is the scratch resource change that each one is parsed into.
	rc lazyResourceChange
	// kept is the change a Keep filter looks at: a copy, so that the
	// change itself does not escape to the heap.
	kept Change
}

func (rd *reader) keep(f func(*Change) bool, ch Change) bool {
	rd.kept = ch
	ok := f(&rd.kept)
	rd.kept = Change{}
	return ok
}

// seenAt is the index of a change and how many secrets were known when it
// was rendered.
type seenAt struct{ i, from int }

// seen records change i in list when it holds rendered text.
func (rd *reader) seen(list []seenAt, ch Change, i int) []seenAt {
	if len(ch.Attrs) == 0 && ch.ImportID == "" {
		return list
	}
	return append(list, seenAt{i, len(rd.sec.order)})
}

// lazyResourceChange is tfjson.ResourceChange with the values left raw:
// a change whose attribute diff is over budget and that marks nothing
// sensitive is never decoded into maps, which is most of the work on a big
// plan.
type lazyResourceChange struct {
	Address         string              `json:"address"`
	PreviousAddress string              `json:"previous_address"`
	ModuleAddress   string              `json:"module_address"`
	Mode            tfjson.ResourceMode `json:"mode"`
	Type            string              `json:"type"`
	Name            string              `json:"name"`
	DeposedKey      string              `json:"deposed"`
	ActionReason    tfjson.ActionReason `json:"action_reason"`
	Change          *lazyChange         `json:"change"`
	// conflict is the first key read here, or in change, that is repeated
	// or spelled in other letter case (see planKeys).
	conflict error
	// chBuf and actBuf are kept from one parse to the next (see
	// parseResourceChange) so that a change costs no allocation here.
	chBuf  *lazyChange
	actBuf tfjson.Actions
}

type lazyChange struct {
	Actions         tfjson.Actions    `json:"actions"`
	Before          json.RawMessage   `json:"before"`
	After           json.RawMessage   `json:"after"`
	AfterUnknown    json.RawMessage   `json:"after_unknown"`
	BeforeSensitive json.RawMessage   `json:"before_sensitive"`
	AfterSensitive  json.RawMessage   `json:"after_sensitive"`
	Importing       *tfjson.Importing `json:"importing"`
	ReplacePaths    []any             `json:"replace_paths"`
}

func decodeAny(raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	// raw was checked by the lexer (or by encoding/json, for deferred
	// changes): decodeValue decodes it as json.Unmarshal would.
	return decodeValue(raw)
}

// decodeMask decodes a sensitivity or unknown mask; a mask that marks
// nothing (no `true` anywhere) means the same as none and is not decoded.
func decodeMask(raw json.RawMessage) (any, error) {
	if !bytes.Contains(raw, []byte("true")) {
		return nil, nil
	}
	return decodeAny(raw)
}

func (rd *reader) resourceChange(raw []byte, key string, i int) (Change, error) {
	rc := &rd.rc
	if err := parseMarkedChange(raw, rd.lex.marks, rc, rd.in); err != nil {
		return Change{}, decodeError(key, i, err, rd.lex.capStart)
	}
	if rc.conflict != nil {
		return Change{}, decodeError(key, i, rc.conflict, rd.lex.capStart)
	}
	if rc.Address == "" {
		return Change{}, &PlanError{Reason: fmt.Sprintf("%s[%d]: no address", key, i)}
	}
	ch, err := rd.convert(rc)
	if err != nil {
		return Change{}, decodeError(key, i, err, rd.lex.capStart)
	}
	return ch, nil
}

func (rd *reader) convert(rc *lazyResourceChange) (Change, error) {
	ch := Change{
		Address:     rc.Address,
		PrevAddress: rc.PreviousAddress,
		Module:      rc.ModuleAddress,
		Type:        rc.Type,
		Name:        rc.Name,
		Mode:        string(rc.Mode),
		Deposed:     rc.DeposedKey,
		Reason:      string(rc.ActionReason),
	}
	if ch.Mode == "" {
		ch.Mode = "managed"
	}
	c := rc.Change
	if c == nil {
		ch.Action = ActionNoOp
		return ch, nil
	}
	ch.Action, ch.ReplaceOrder = action(c.Actions)
	var err error
	var bs, as, au, before, after any
	if bs, err = decodeMask(c.BeforeSensitive); err != nil {
		return ch, err
	}
	if as, err = decodeMask(c.AfterSensitive); err != nil {
		return ch, err
	}
	diff := (ch.Action == ActionCreate || ch.Action == ActionUpdate || ch.Action == ActionReplace || ch.Action == ActionDelete) && *rd.budget > 0
	// Learn this change's secrets before rendering any of its values;
	// values that are not shown are not decoded, only their marked parts.
	if diff {
		if before, err = decodeAny(c.Before); err != nil {
			return ch, err
		}
		if after, err = decodeAny(c.After); err != nil {
			return ch, err
		}
		rd.sec.learn(before, bs)
		rd.sec.learn(after, as)
	} else {
		if err = rd.sec.learnRaw(c.Before, bs); err != nil {
			return ch, err
		}
		if err = rd.sec.learnRaw(c.After, as); err != nil {
			return ch, err
		}
	}
	if c.Importing != nil {
		ch.Importing = true
		switch {
		case c.Importing.Unknown:
			ch.ImportID = Unknown
		default:
			ch.ImportID = c.Importing.ID
		}
		if rd.sec.hides(ch.ImportID) {
			ch.ImportID = Sensitive
		}
	}
	for _, rp := range c.ReplacePaths {
		ch.ReplacePaths = append(ch.ReplacePaths, rd.sec.replacePath(rp, bs, as))
	}
	switch {
	case diff:
		if au, err = decodeMask(c.AfterUnknown); err != nil {
			return ch, err
		}
		d := differ{sec: rd.sec, limit: AttrsPerChange}
		if *rd.budget < d.limit {
			d.limit = *rd.budget
		}
		d.walk("", before, after, bs, as, au, before != nil, after != nil || au == true)
		ch.Attrs = d.out
		ch.AttrsOmitted = d.omitted
		if ch.Action == ActionDelete {
			// Only what identifies the destroyed object is shown.
			ch.Attrs, ch.AttrsOmitted = identifyingAttrs(ch.Attrs), 0
		}
		*rd.budget -= len(ch.Attrs)
		rd.omitted += ch.AttrsOmitted
	case !rd.noAttrs && (ch.Action == ActionCreate || ch.Action == ActionUpdate || ch.Action == ActionReplace):
		rd.omittedChanges++
	}
	return ch, nil
}

// action maps Terraform's action list to one Action.
func action(as tfjson.Actions) (Action, string) {
	switch {
	case as.Replace():
		if as.DestroyBeforeCreate() {
			return ActionReplace, DeleteThenCreate
		}
		return ActionReplace, CreateThenDelete
	case as.Create():
		return ActionCreate, ""
	case as.Update():
		return ActionUpdate, ""
	case as.Delete():
		return ActionDelete, ""
	case as.Read():
		return ActionRead, ""
	case as.NoOp():
		return ActionNoOp, ""
	case as.Forget():
		return ActionForget, ""
	}
	var has = map[tfjson.Action]bool{}
	for _, a := range as {
		has[a] = true
	}
	switch {
	case has[tfjson.ActionDelete] && has[tfjson.ActionCreate]:
		return ActionReplace, DeleteThenCreate
	case has[tfjson.ActionForget] && has[tfjson.ActionCreate]:
		// Forget the old object, create a new one: the old one stays in
		// the cloud, a new one appears.
		return ActionCreate, ""
	case has[tfjson.ActionDelete]:
		return ActionDelete, ""
	case has[tfjson.ActionForget]:
		return ActionForget, ""
	case has[tfjson.ActionCreate]:
		return ActionCreate, ""
	case has[tfjson.ActionUpdate]:
		return ActionUpdate, ""
	case has[tfjson.ActionRead]:
		return ActionRead, ""
	}
	return ActionNoOp, ""
}

func (rd *reader) outputChange(name string, c *tfjson.Change) OutputChange {
	rd.sec.learn(c.Before, c.BeforeSensitive)
	rd.sec.learn(c.After, c.AfterSensitive)
	o := OutputChange{Name: name}
	o.Action, _ = action(c.Actions)
	if o.Action == ActionReplace {
		o.Action = ActionUpdate
	}
	bs, as := containsTrue(c.BeforeSensitive), containsTrue(c.AfterSensitive)
	o.Sensitive = bs || as
	switch {
	case o.Action == ActionCreate:
		o.Before = "null"
	case bs:
		o.Before = Sensitive
	default:
		o.Before = rd.sec.renderValue(c.Before, nil, nil)
	}
	switch {
	case as:
		o.After = Sensitive
	case c.AfterUnknown == true:
		o.After, o.Unknown = Unknown, true
	default:
		o.After = rd.sec.renderValue(c.After, nil, c.AfterUnknown)
		o.Unknown = containsTrue(c.AfterUnknown)
	}
	if o.Action == ActionDelete {
		o.After = "null"
	}
	return o
}

func (rd *reader) check(cr *tfjson.CheckResultStatic) {
	kind := string(cr.Address.Kind)
	if len(cr.Instances) == 0 {
		switch cr.Status {
		case tfjson.CheckStatusFail, tfjson.CheckStatusError:
			rd.plan.Checks = append(rd.plan.Checks, CheckResult{Address: cr.Address.ToDisplay, Kind: kind, Status: string(cr.Status)})
		case tfjson.CheckStatusPass:
			rd.plan.ChecksPassed++
		}
		return
	}
	for _, in := range cr.Instances {
		switch in.Status {
		case tfjson.CheckStatusFail, tfjson.CheckStatusError:
			r := CheckResult{Address: in.Address.ToDisplay, Kind: kind, Status: string(in.Status)}
			if r.Address == "" {
				r.Address = cr.Address.ToDisplay
			}
			for _, pr := range in.Problems {
				r.Problems = append(r.Problems, pr.Message)
			}
			rd.plan.Checks = append(rd.plan.Checks, r)
		case tfjson.CheckStatusPass:
			rd.plan.ChecksPassed++
		}
	}
}

// scrub masks rendered values that contain a secret learned after they were
// rendered (a later change or output marked the same value sensitive).
func (rd *reader) scrub() {
	fix := func(chs []Change, seen []seenAt) {
		for _, s := range seen {
			i, from := s.i, s.from
			if from >= len(rd.sec.order) {
				continue
			}
			for j := range chs[i].Attrs {
				a := &chs[i].Attrs[j]
				if rd.sec.hidesRendered(a.Before, from) {
					a.Before, a.Sensitive = Sensitive, true
				}
				if rd.sec.hidesRendered(a.After, from) {
					a.After, a.Sensitive = Sensitive, true
				}
			}
			if rd.sec.hides(chs[i].ImportID) {
				chs[i].ImportID = Sensitive
			}
		}
	}
	// Check messages are written by module authors; Terraform refuses
	// sensitive values in them, but a copy of a secret may still slip in.
	for i := range rd.plan.Checks {
		for j, msg := range rd.plan.Checks[i].Problems {
			if rd.sec.find(msg, 0, len(msg)) {
				rd.plan.Checks[i].Problems[j] = "(message hidden: it contains a sensitive value)"
			}
		}
	}
	fix(rd.plan.Changes, rd.seenChanges)
	fix(rd.plan.Drift, rd.seenDrift)
	fix(rd.plan.Deferred, rd.seenDeferred)
	for i := range rd.plan.Outputs {
		o := &rd.plan.Outputs[i]
		if rd.sec.hidesRendered(o.Before, rd.seenOutputs[i]) {
			o.Before, o.Sensitive = Sensitive, true
		}
		if rd.sec.hidesRendered(o.After, rd.seenOutputs[i]) {
			o.After, o.Sensitive = Sensitive, true
		}
	}
}
