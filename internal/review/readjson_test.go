package review

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	tfjson "github.com/hashicorp/terraform-json"
)

// mark is where a case in TestReadPlanInvalidJSON expects the error: it is
// cut out of the input, and the byte it stood before is the one named.
const mark = "§"

// plan wraps one resource change's JSON in a plan.
func plan(rc string) string {
	return `{"format_version":"1.2","resource_changes":[` + rc + `]}`
}

func TestReadPlanInvalidJSON(t *testing.T) {
	const ok = `{"address":"a.b","change":{"actions":["create"],"after":{"x":1}}}`
	for _, c := range []struct {
		name, in, where, what string
	}{
		// Trailing commas, all accepted before.
		{"trailing comma in resource_changes", plan(ok + `,§`), "", "trailing comma before ']' in resource_changes"},
		{"trailing comma at the top level", `{"format_version":"1.2","resource_changes":[],§}`, "", "trailing comma before '}' in the top-level object"},
		{"trailing comma in output_changes", `{"format_version":"1.2","output_changes":{"a":{"actions":["create"]},§}}`, "", "trailing comma before '}' in output_changes"},
		{"trailing comma in a change", plan(`{"address":"a.b","change":{"actions":["create"],§}}`), "resource_changes[0]", "trailing comma before '}'"},
		{"trailing comma in a value", plan(`{"address":"a.b","change":{"actions":["create"],"after":{"x":[1,§]}}}`), "resource_changes[0]", "trailing comma before ']'"},
		{"trailing comma in skipped prior_state", `{"format_version":"1.2","prior_state":{"values":{"a":1,§}},"resource_changes":[]}`, "prior_state", "trailing comma before '}'"},
		// Numbers.
		{"leading zero", plan(`{"address":"a.b","change":{"actions":["create"],"after":{"x":0§1}}}`), "resource_changes[0]", "leading zero in number"},
		{"leading zero negative", `{"format_version":"1.2","planned_values":{"a":-0§7},"resource_changes":[]}`, "planned_values", "leading zero in number"},
		{"leading zero unknown key", `{"format_version":"1.2","x":0§0,"resource_changes":[]}`, "", "leading zero in number"},
		{"minus alone", plan(`{"address":"a.b","index":-§}`), "resource_changes[0]", "expected a digit after '-', found '}'"},
		{"plus sign", plan(`{"address":"a.b","index":§+1}`), "resource_changes[0]", "expected a value, found '+'"},
		{"dot without digits", plan(`{"address":"a.b","index":1.§}`), "resource_changes[0]", "expected a digit after the decimal point, found '}'"},
		{"leading dot", plan(`{"address":"a.b","index":§.5}`), "resource_changes[0]", "expected a value, found '.'"},
		{"empty exponent", plan(`{"address":"a.b","index":1e§}`), "resource_changes[0]", "expected a digit in the exponent, found '}'"},
		{"exponent sign alone", plan(`{"address":"a.b","index":1E+§}`), "resource_changes[0]", "expected a digit in the exponent, found '}'"},
		{"hex number", plan(`{"address":"a.b","index":0§x1F}`), "resource_changes[0]", "expected ',' or '}' after an object member, found 'x'"},
		{"two dots", plan(`{"address":"a.b","index":1.5§.2}`), "resource_changes[0]", "expected ',' or '}' after an object member, found '.'"},
		// Strings.
		{"bad escape", plan(`{"address":"a.b","name":"x\§q"}`), "resource_changes[0]", `bad escape \q in string`},
		{"bad escape in skipped value", `{"format_version":"1.2","configuration":{"a":"\§x41"},"resource_changes":[]}`, "configuration", `bad escape \x in string`},
		{"bad escape in a top-level key", `{"format_version":"1.2","re\§'":1}`, "", `bad escape \' in string`},
		{"short unicode escape", plan(`{"address":"a.b","name":"\u12§"}`), "resource_changes[0]", `bad \u escape in string: want 4 hex digits, found '"'`},
		{"non-hex unicode escape", `{"format_version":"1.2","variables":{"v":"\u0§g00"},"resource_changes":[]}`, "variables", `bad \u escape in string: want 4 hex digits, found 'g'`},
		{"newline in string", plan(`{"address":"a.§` + "\n" + `b"}`), "resource_changes[0]", `control character '\x0a' in string (must be escaped)`},
		{"tab in key", `{"format_version":"1.2","a§` + "\t" + `":1}`, "", `control character '\x09' in string (must be escaped)`},
		{"NUL in skipped string", `{"format_version":"1.2","prior_state":{"a":"§` + "\x00" + `"},"resource_changes":[]}`, "prior_state", `control character '\x00' in string (must be escaped)`},
		{"single quotes", plan(`{"address":§'a.b'}`), "resource_changes[0]", `expected a value, found ''' (strings need double quotes)`},
		{"unterminated string", plan(`{"address":"a.b}]}§`), "resource_changes[0]", "truncated"},
		// Separators.
		{"two commas in an array", plan(ok + `,§,` + ok), "resource_changes[1]", "expected a value, found ','"},
		{"two commas in a value", `{"format_version":"1.2","planned_values":[1,§,2],"resource_changes":[]}`, "planned_values", "expected a value, found ',' (two commas, or a comma after '['?)"},
		{"two commas at the top level", `{"format_version":"1.2",§,"resource_changes":[]}`, "", "expected a string key or '}' in the top-level object, found ','"},
		{"comma first in an array", `{"format_version":"1.2","resource_changes":[§,]}`, "resource_changes[0]", "expected a value, found ','"},
		{"comma alone in a value", `{"format_version":"1.2","planned_values":[§,],"resource_changes":[]}`, "planned_values", "expected a value, found ','"},
		{"comma alone in an object", `{"format_version":"1.2","planned_values":{§,},"resource_changes":[]}`, "planned_values", "expected a string key or '}', found ','"},
		{"missing comma between changes", plan(ok + ` §` + ok), "", "expected ',' or ']' after resource_changes[0], found '{' (missing comma?)"},
		{"missing comma in a change", plan(`{"address":"a.b" §"name":"b"}`), "resource_changes[0]", "expected ',' or '}' after an object member, found '\"' (missing comma?)"},
		{"missing comma in an array", `{"format_version":"1.2","planned_values":[1 §2],"resource_changes":[]}`, "planned_values", "expected ',' or ']' after an array element, found '2' (missing comma?)"},
		{"missing comma at the top level", `{"format_version":"1.2" §"resource_changes":[]}`, "", "expected ',' or '}' after a top-level member, found '\"' (missing comma?)"},
		{"missing colon", plan(`{"address" §"a.b"}`), "resource_changes[0]", "expected ':' after an object key, found '\"'"},
		{"double colon", `{"format_version":§:"1.2"}`, "format_version", "expected a value, found ':'"},
		{"unquoted key", plan(`{§address:"a.b"}`), "resource_changes[0]", "expected a string key or '}', found 'a' (a bare word?"},
		{"mismatched brackets", `{"format_version":"1.2","planned_values":[1§},"resource_changes":[]}`, "planned_values", "'}' closes '['"},
		// Bare words and literals.
		{"bare word", `{"format_version":"1.2","planned_values":[§abc],"resource_changes":[]}`, "planned_values", "expected a value, found 'a' (a bare word?"},
		{"capitalised literal", plan(`{"address":"a.b","index":§True}`), "resource_changes[0]", "expected a value, found 'T' (a bare word?"},
		{"short literal", plan(`{"address":"a.b","index":tru§}`), "resource_changes[0]", "invalid literal: want true, false or null"},
		{"misspelt null", `{"format_version":"1.2","resource_changes":nu§ul}`, "resource_changes", "invalid literal: want true, false or null"},
		{"NaN", `{"format_version":"1.2","planned_values":§NaN,"resource_changes":[]}`, "planned_values", "expected a value, found 'N' (a bare word?"},
		// Whitespace JSON does not allow.
		{"vertical tab", `{"format_version":"1.2",§` + "\v" + `"resource_changes":[]}`, "", `expected a string key or '}' in the top-level object, found '\x0b'`},
		{"no-break space", `{"format_version":"1.2","planned_values":[1,§` + "\u00a0" + `2],"resource_changes":[]}`, "planned_values", `expected a value, found '\xc2'`},
		// What follows the document.
		{"garbage after the document", `{"format_version":"1.2","resource_changes":[]} §x`, "", ""},
		{"second document", `{"format_version":"1.2","resource_changes":[]}§{}`, "", ""},
		{"comma after the document", `{"format_version":"1.2","resource_changes":[]}§,`, "", ""},
		// Truncation.
		{"truncated after a comma", `{"format_version":"1.2","resource_changes":[` + ok + `,§`, "resource_changes", "truncated"},
		{"truncated number", `{"format_version":"1.2","planned_values":[1§`, "planned_values", "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := strings.Index(c.in, mark)
			if at < 0 {
				t.Fatal("case has no mark")
			}
			in := strings.Replace(c.in, mark, "", 1)
			if json.Valid([]byte(in)) {
				t.Fatal("case is valid JSON")
			}
			if c.what == "truncated" {
				at = len(in) // the mark only says where the text stops making sense
			}
			_, err := ReadPlan(strings.NewReader(in), "plan.json")
			var pe *PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *PlanError", err, err)
			}
			var want string
			switch {
			case c.what == "":
				want = fmt.Sprintf("plan.json: unexpected data after the JSON document at byte %d", at)
			case c.what == "truncated":
				want = fmt.Sprintf("plan.json: truncated JSON at byte %d", at)
				if c.where != "" {
					want += " in " + c.where
				}
			case c.where != "":
				want = fmt.Sprintf("plan.json: invalid JSON at byte %d in %s: %s", at, c.where, c.what)
			default:
				want = fmt.Sprintf("plan.json: invalid JSON at byte %d: %s", at, c.what)
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error\n %s\nwant prefix\n %s", err, want)
			}
			// encoding/json agrees on where the first error is.
			var se *json.SyntaxError
			if errors.As(json.Unmarshal([]byte(in), new(any)), &se) && c.what != "truncated" && int(se.Offset)-1 != at {
				t.Errorf("encoding/json places the error at byte %d, ReadPlan at %d", se.Offset-1, at)
			}
		})
	}
}

// TestReadPlanValidJSONEdges checks valid JSON the grammar allows and a
// hand-written scanner could refuse.
func TestReadPlanValidJSONEdges(t *testing.T) {
	for _, c := range []struct{ name, in string }{
		{"numbers", `{"format_version":"1.2","planned_values":[0,-0,1.5e10,-2E-3,0.0e+0,123456789012345678901234567890],"resource_changes":[]}`},
		{"escapes", plan(`{"address":"a\"\\\/\b\f\n\r\t\u00e9b","change":{"actions":["cr\u0065ate"]}}`)},
		{"unpaired surrogates", plan(`{"address":"a\ud800b\udc00","name":"\udbff\u0041","change":{"actions":["create"]}}`)},
		{"surrogate pair in a top-level key", `{"format_version":"1.2","\ud83d\ude00":1,"resource_changes":[]}`},
		{"invalid UTF-8 in strings", plan("{\"address\":\"a\xff\xfe\",\"change\":{\"actions\":[\"create\"]}}")},
		{"whitespace everywhere", " \t\r\n{ \"format_version\" : \"1.2\" , \"resource_changes\" : [ { \"address\" : \"a\" , \"change\" : { \"actions\" : [ \"create\" ] } } ] } \n"},
		{"empty containers", `{"format_version":"1.2","planned_values":{"a":[],"b":{},"c":[[]],"d":[{}]},"resource_changes":[],"output_changes":{},"checks":[]}`},
		{"literals", `{"format_version":"1.2","errored":false,"complete":true,"applyable":null,"planned_values":[true,false,null],"resource_changes":null}`},
		{"deep but allowed", `{"format_version":"1.2","planned_values":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `,"resource_changes":[]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !json.Valid([]byte(c.in)) {
				t.Fatal("case is not valid JSON")
			}
			if _, err := ReadPlan(strings.NewReader(c.in), "plan.json"); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("too deep", func(t *testing.T) {
		in := `{"format_version":"1.2","planned_values":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `,"resource_changes":[]}`
		if json.Valid([]byte(in)) {
			t.Fatal("encoding/json takes it")
		}
		_, err := ReadPlan(strings.NewReader(in), "plan.json")
		want := fmt.Sprintf("plan.json: invalid JSON at byte %d in planned_values: nested more than %d deep", len(`{"format_version":"1.2","planned_values":`)+maxDepth-1, maxDepth)
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	})
}

// TestReadPlanAmbiguousKeys checks that valid JSON that tasuki and
// encoding/json-based tools would read differently is refused, saying why.
func TestReadPlanAmbiguousKeys(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"repeated resource_changes", `{"format_version":"1.2","resource_changes":[],§"resource_changes":[]}`,
			"resource_changes appears twice in the top-level object (again at byte %d): Terraform writes each key once"},
		{"resource_changes in other case", `{"format_version":"1.2",§"Resource_Changes":[]}`,
			"the top-level key at byte %d is resource_changes in other letter case: Terraform writes resource_changes exactly"},
		{"Kelvin sign", `{"format_version":"1.2",§"chec\u212as":[]}`,
			"the top-level key at byte %d is checks in other letter case"},
		{"repeated change", plan(`{"address":"a.b","change":{"actions":["create"]},§"change":{"actions":["delete"]}}`),
			"resource_changes[0] at byte %d: key change appears twice"},
		{"repeated actions", plan(`{"address":"a.b","change":{"actions":["create"],§"actions":["delete"]}}`),
			"resource_changes[0] at byte %d: key actions appears twice"},
		{"Actions", plan(`{"address":"a.b","change":{"actions":["create"],§"Actions":["delete"]}}`),
			"resource_changes[0] at byte %d: a key is actions in other letter case"},
		{"ADDRESS", plan(`{§"ADDRESS":"a.b","address":"c.d"}`),
			"resource_changes[0] at byte %d: a key is address in other letter case"},
		{"wrong type", `{"format_version":"1.2","resource_changes":§{}}`,
			"resource_changes at byte %d is a JSON object, not an array"},
		{"wrong scalar type", `{"format_version":§1.2,"resource_changes":[]}`,
			"format_version at byte %d is a JSON number, not a string"},
		{"not an object", plan(`§[]`), "resource_changes[0] at byte %d: not an object"},
		{"address not a string", plan(`{"address":§5}`), "resource_changes[0] at byte %d: address is not a string"},
		{"change not an object", plan(`{"address":"a","change":§"create"}`), "resource_changes[0] at byte %d: change is not an object"},
		{"a number", `§42`, "a JSON number, not a plan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := strings.Replace(c.in, mark, "", 1)
			if !json.Valid([]byte(in)) {
				t.Fatal("case is not valid JSON")
			}
			want := "plan.json: " + c.want
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, strings.Index(c.in, mark))
			}
			_, err := ReadPlan(strings.NewReader(in), "plan.json")
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error\n %v\nwant prefix\n %s", err, want)
			}
		})
	}
}

func TestReadPlanUTF16Edges(t *testing.T) {
	le := func(units ...uint16) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range units {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	doc := utf16.Encode([]rune(plan(`{"address":"a.b","change":{"actions":["create"]}}`)))
	t.Run("odd length", func(t *testing.T) {
		_, err := ReadPlan(bytes.NewReader(append(le(doc...), '\n')), "plan.json")
		if err == nil || !strings.Contains(err.Error(), "UTF-16 input ends in the middle of a character") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unpaired surrogate keeps the next character", func(t *testing.T) {
		// `{"a":"` HIGH `"` ...: the quote after the surrogate must not
		// be swallowed into it.
		in := append(utf16.Encode([]rune(`{"x":"`)), 0xD800, '"', ',')
		in = append(in, doc[1:]...) // `"format_version":...`
		p, err := ReadPlan(bytes.NewReader(le(in...)), "plan.json")
		if err != nil {
			t.Fatal(err)
		}
		if p.Counts().Create != 1 {
			t.Errorf("counts %+v", p.Counts())
		}
	})
	t.Run("FF 00 is not a byte order mark", func(t *testing.T) {
		in := append([]uint16{0x00FF}, doc...)
		b := le(in...)[2:]
		if _, err := ReadPlan(bytes.NewReader(b), "plan.json"); err == nil || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("error %v, want not JSON", err)
		}
	})
}

// jsonText undoes what ReadPlan undoes before reading JSON (enc is
// Plan.Encoding): gzip, UTF-16 and a UTF-8 byte order mark.
func jsonText(t *testing.T, in []byte, enc string) []byte {
	t.Helper()
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("accepted gzip that gzip refuses: %v", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("accepted gzip that gzip refuses: %v", err)
		}
		return out
	case "UTF-16LE", "UTF-16BE":
		big := enc == "UTF-16BE"
		if bytes.HasPrefix(in, []byte{0xFF, 0xFE}) && !big || bytes.HasPrefix(in, []byte{0xFE, 0xFF}) && big {
			in = in[2:]
		}
		if len(in)%2 != 0 {
			t.Fatalf("accepted UTF-16 of odd length %d", len(in))
		}
		u := make([]uint16, len(in)/2)
		for i := range u {
			if big {
				u[i] = uint16(in[2*i])<<8 | uint16(in[2*i+1])
			} else {
				u[i] = uint16(in[2*i+1])<<8 | uint16(in[2*i])
			}
		}
		return []byte(string(utf16.Decode(u)))
	case "":
		// RFC 8259 lets a reader ignore a byte order mark.
		return bytes.TrimPrefix(in, []byte{0xEF, 0xBB, 0xBF})
	}
	t.Fatalf("unknown encoding %q", enc)
	return nil
}

// tfjsonPlan is what terraform-json reads of the parts of a plan that
// ReadPlan counts, with tfjson's types and keys; for when tfjson.Plan
// refuses the whole (no format_version, or a wrong type in a section
// tasuki never reads).
type tfjsonPlan struct {
	ResourceDrift   []*tfjson.ResourceChange         `json:"resource_drift,omitempty"`
	ResourceChanges []*tfjson.ResourceChange         `json:"resource_changes,omitempty"`
	DeferredChanges []*tfjson.DeferredResourceChange `json:"deferred_changes,omitempty"`
}

// tfAction classifies actions as terraform-json's helpers can; ok is false
// for lists they do not name (such as ["create","forget"]).
func tfAction(c *tfjson.Change) (Action, bool) {
	if c == nil {
		return "", false
	}
	as := c.Actions
	switch {
	case as.Replace():
		return ActionReplace, true
	case as.Create():
		return ActionCreate, true
	case as.Update():
		return ActionUpdate, true
	case as.Delete():
		return ActionDelete, true
	case as.Read():
		return ActionRead, true
	case as.NoOp():
		return ActionNoOp, true
	case as.Forget():
		return ActionForget, true
	}
	return "", false
}

func bump(c *Counts, a Action) {
	switch a {
	case ActionCreate:
		c.Create++
	case ActionUpdate:
		c.Update++
	case ActionDelete:
		c.Delete++
	case ActionReplace:
		c.Replace++
	case ActionRead:
		c.Read++
	case ActionNoOp:
		c.NoOp++
	case ActionForget:
		c.Forget++
	}
}

// checkTFJSON compares what ReadPlan read of text with what terraform-json
// decodes from it: the same changes at the same addresses, and the same
// counts wherever tfjson's helpers can classify the actions.
func checkTFJSON(t *testing.T, text []byte, p *Plan) {
	t.Helper()
	var v tfjsonPlan
	var whole tfjson.Plan
	if err := json.Unmarshal(text, &whole); err == nil {
		v = tfjsonPlan{whole.ResourceDrift, whole.ResourceChanges, whole.DeferredChanges}
	} else if err := json.Unmarshal(text, &v); err != nil {
		// encoding/json goes on past a value of the wrong type, such
		// as a provider_name that is a number, which tasuki never reads.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Fatalf("terraform-json cannot decode a plan ReadPlan read: %v", err)
		}
	}
	for _, s := range []struct {
		name string
		tf   []*tfjson.ResourceChange
		got  []Change
	}{{"resource_changes", v.ResourceChanges, p.Changes}, {"resource_drift", v.ResourceDrift, p.Drift}} {
		if len(s.tf) != len(s.got) {
			t.Fatalf("%s: terraform-json reads %d changes, ReadPlan %d", s.name, len(s.tf), len(s.got))
		}
		var want, got Counts
		for i, rc := range s.tf {
			g := s.got[i]
			if rc == nil || rc.Address != g.Address {
				t.Fatalf("%s[%d]: terraform-json reads %+v, ReadPlan address %q", s.name, i, rc, g.Address)
			}
			if rc.Change != nil && rc.Change.Importing != nil {
				want.Import++
			}
			if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
				want.Move++
			}
			if g.Importing {
				got.Import++
			}
			if g.Moved() {
				got.Move++
			}
			if a, ok := tfAction(rc.Change); ok {
				bump(&want, a)
				bump(&got, g.Action)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: counts differ from terraform-json's (-tfjson +ReadPlan):\n%s", s.name, diff)
		}
	}
	deferred := 0
	for _, d := range v.DeferredChanges {
		if d != nil && d.ResourceChange != nil {
			deferred++
		}
	}
	if deferred != len(p.Deferred) {
		t.Fatalf("deferred_changes: terraform-json reads %d, ReadPlan %d", deferred, len(p.Deferred))
	}
}

// syntaxReason matches the reasons that say the input is not valid JSON.
var syntaxReason = regexp.MustCompile(`invalid JSON|truncated JSON|not JSON|unexpected data after`)

// fuzzSeeds are hand-made inputs for FuzzReadPlan besides the fixtures.
func fuzzSeeds() [][]byte {
	rc := `{"address":"a.b","previous_address":"a.c","change":{"actions":["delete","create"],"importing":{"id":"i"},"before":{"x":1},"after":{"x":2}}}`
	seeds := []string{
		plan(rc),
		plan(rc + `,`),
		plan(rc + `,` + rc + `,`),
		`{"format_version":"1.2","resource_changes":[],}`,
		`{"format_version":"1.2","resource_changes":[` + rc + `],"output_changes":{"o":{"actions":["create"],"after":1},},}`,
		`{"format_version":"1.2","planned_values":{"a":[1,{"b":0.5e-3}],},"resource_changes":[,]}`,
		`{"format_version":"1.2","deferred_changes":[{"reason":"r","resource_change":` + rc + `}],"resource_drift":[` + rc + `]}`,
		plan(`{"address":"a\ud800","change":{"actions":["forget"]}},{"address":"b","change":{"actions":["create","forget"]}}`),
	}
	var out [][]byte
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(plan(rc)))
	zw.Close()
	out = append(out, z.Bytes())
	u := []byte{0xFF, 0xFE}
	for _, x := range utf16.Encode([]rune(plan(rc))) {
		u = append(u, byte(x), byte(x>>8))
	}
	out = append(out, u, append([]byte{0xEF, 0xBB, 0xBF}, plan(rc)...))
	return out
}

// fuzzCheck is FuzzReadPlan's oracle for one input.
func fuzzCheck(t *testing.T, b []byte) {
	p, err := ReadPlan(bytes.NewReader(b), "fuzz.json")
	if err != nil {
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "fuzz.json: ") {
			t.Fatalf("error %v (%T) is not a *PlanError naming the source", err, err)
		}
		// Valid JSON (in UTF-8, as is) refused must be refused for what
		// it holds, not called invalid.
		if json.Valid(b) && syntaxReason.MatchString(pe.Reason) {
			t.Fatalf("valid JSON refused as invalid: %v", err)
		}
		return
	}
	text := jsonText(t, b, p.Encoding)
	if !json.Valid(text) {
		if len(text) > 300 {
			text = append(text[:300:300], "..."...)
		}
		t.Fatalf("ReadPlan accepted invalid JSON (encoding %q): %q", p.Encoding, text)
	}
	checkTFJSON(t, text, p)
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{})
	body := RenderComment(s, v, Meta{}, CommentLimit)
	if len(body) > CommentLimit {
		t.Fatalf("comment %d bytes", len(body))
	}
	want, err := RenderJSON(s, v)
	if err != nil {
		t.Fatal(err)
	}
	// The CLI's --format json reads through a RiskSample without
	// attributes: it must accept the plan too and say the same.
	rs := NewRiskSample(DefaultConfig())
	sp, err := ReadPlanWith(bytes.NewReader(b), "fuzz.json", ReadOptions{NoAttrs: true, Keep: rs.Keep})
	if err != nil {
		t.Fatalf("read in full but not through a RiskSample: %v", err)
	}
	ss := Summarize([]*Plan{sp}, DefaultConfig())
	rs.Apply(&ss)
	got, err := RenderJSON(ss, Evaluate(ss, DefaultConfig(), ApprovalFacts{}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("JSON output differs through a RiskSample:\nfull:    %s\nsampled: %s", want, got)
	}
	// The comment path reads through a CommentKeep: under its caps the
	// comment is the very same, over them (2 and 3 here) the counts are.
	for _, caps := range [][2]int{{KeptDestroys, KeptOthers}, {2, 3}} {
		ck := NewCommentKeep(DefaultConfig())
		ck.maxDestroys, ck.maxOthers = caps[0], caps[1]
		kp, err := ReadPlanWith(bytes.NewReader(b), "fuzz.json", ReadOptions{Keep: ck.Keep})
		if err != nil {
			t.Fatalf("read in full but not through a CommentKeep: %v", err)
		}
		ks := Summarize([]*Plan{kp}, DefaultConfig())
		ck.Apply(&ks)
		if ks.Counts != s.Counts {
			t.Fatalf("counts through a CommentKeep %+v, in full %+v", ks.Counts, s.Counts)
		}
		kbody := RenderComment(ks, Evaluate(ks, DefaultConfig(), ApprovalFacts{}), Meta{}, CommentLimit)
		if len(kbody) > CommentLimit {
			t.Fatalf("comment through a CommentKeep: %d bytes", len(kbody))
		}
		if caps[0] == KeptDestroys && kbody != body {
			t.Fatalf("comment differs through a CommentKeep under its caps:\n%s", firstDiff(body, kbody))
		}
	}
}

// TestScannerTables checks the fast paths against what they stand for.
func TestScannerTables(t *testing.T) {
	for i, k := range rcKeys {
		if rcKey([]byte(k)) != i {
			t.Errorf("rcKey(%q) != %d", k, i)
		}
	}
	for i, k := range changeKeys {
		if changeKey([]byte(k)) != i {
			t.Errorf("changeKey(%q) != %d", k, i)
		}
	}
	for _, k := range []string{"", "index", "provider_name", "Address"} {
		if rcKey([]byte(k)) >= 0 || changeKey([]byte(k)) >= 0 {
			t.Errorf("%q taken for a known key", k)
		}
	}
	// Every byte value in every lane, against a background of each
	// plain byte in turn.
	for bg := 0; bg < 256; bg++ {
		if strStop[bg] {
			continue
		}
		for c := 0; c < 256; c++ {
			for lane := 0; lane < 8; lane++ {
				w := bytes.Repeat([]byte{byte(bg)}, 8)
				w[lane] = byte(c)
				m := stops(binary.LittleEndian.Uint64(w))
				if got := m != 0; got != strStop[c] {
					t.Fatalf("stops(%x) = %x, want a mark: %v", w, m, strStop[c])
				}
				if m != 0 && bits.TrailingZeros64(m)>>3 != lane {
					t.Fatalf("stops(%x) = %x, first mark not at byte %d", w, m, lane)
				}
			}
		}
	}
	// Words of bytes near the boundaries, several stops among them.
	near := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '#', '\\', ']', 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	rnd := uint64(1)
	for n := 0; n < 200000; n++ {
		var w [8]byte
		first := 8
		for j := range w {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			w[j] = near[rnd>>33%uint64(len(near))]
			if strStop[w[j]] && first == 8 {
				first = j
			}
		}
		m := stops(binary.LittleEndian.Uint64(w[:]))
		if got := bits.TrailingZeros64(m) >> 3; got != first {
			t.Fatalf("stops(%x) = %x: first stop at %d, want %d", w, m, got, first)
		}
	}
}

// repeated reads chunk n times without holding more than chunk.
type repeated struct {
	chunk []byte
	n     int
	off   int
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.chunk[r.off:])
	if r.off += k; r.off == len(r.chunk) {
		r.off, r.n = 0, r.n-1
	}
	return k, nil
}

// TestReadPlanMemory checks that validating what is skipped holds no more
// memory than before: a 64 MB planned_values and a 16 MB top-level key are
// read in a few hundred kilobytes.
func TestReadPlanMemory(t *testing.T) {
	chunk := []byte(`{"a":[1,-2.5e3,true,null,"xyz\"\u00e9",[[{}]]],"b":{"c":"` + strings.Repeat("s", 200) + `"}},`)
	in := io.MultiReader(
		strings.NewReader(`{"format_version":"1.2","planned_values":[`),
		&repeated{chunk: chunk, n: 64 << 20 / len(chunk)},
		strings.NewReader(`0],"`),
		&repeated{chunk: []byte("k"), n: 16 << 20},
		strings.NewReader(`":1,"resource_changes":[{"address":"a.b","change":{"actions":["create"]}}]}`),
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := ReadPlan(in, "plan.json")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts().Create != 1 {
		t.Errorf("counts %+v", p.Counts())
	}
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes", got)
	if got > 1<<20 {
		t.Errorf("allocated %d bytes reading 80 MB, want under 1 MB", got)
	}
}

// genStream streams a plan of n resource changes shaped like genplan's
// (every action, sensitive and unknown marks, a prior_state as big as the
// changes) without holding its text.
func genStream(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		types := []string{"aws_instance", "aws_s3_bucket", "aws_iam_role", "aws_security_group", "aws_lambda_function"}
		acts := []string{`["create"]`, `["delete"]`, `["delete","create"]`, `["no-op"]`, `["update"]`, `["update"]`}
		val := func(i int, v string) string {
			return fmt.Sprintf(`{"name":"r%d","ami":"ami-%s","tags":{"env":"%s"},"password":"pw-%d-%s","ports":[443,80]}`, i, v, v, i%7, v)
		}
		w.WriteString(`{"format_version":"1.2","prior_state":{"values":{"root_module":{"resources":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, `{"address":"module.m%d.%s.r%d","values":%s}`, i%50, types[i%5], i, val(i, "old"))
		}
		w.WriteString(`]}}},"resource_changes":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			sens := `{}`
			if i%10 == 9 {
				sens = `{"password":true}`
			}
			fmt.Fprintf(w, `{"address":"module.m%d.%s.r%d","module_address":"module.m%d","mode":"managed","type":"%s","name":"r%d",`+
				`"change":{"actions":%s,"before":%s,"after":%s,"after_unknown":{"id":true},"before_sensitive":%s,"after_sensitive":%s}}`,
				i%50, types[i%5], i, i%50, types[i%5], i, acts[i%6], val(i, "old"), val(i, "new"), sens, sens)
		}
		w.WriteString(`]}`)
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// retained is the heap that reading a plan of n changes leaves in use
// while the plan is alive.
func retained(t *testing.T, n int, o func() ReadOptions) (int64, *Plan) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := ReadPlanWith(genStream(n), "plan.json", o())
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), p
}

// TestReadPlanRetainedMemory bounds what a plan costs once read: reading
// through a RiskSample (the CLI's --format json) keeps the same few
// kilobytes whatever the plan size, and a full read keeps a Change per
// resource change and nothing of the text or of the values read.
func TestReadPlanRetainedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2 x 25,000 generated changes")
	}
	const small, big = 5000, 20000
	sample := func() ReadOptions {
		rs := NewRiskSample(DefaultConfig())
		return ReadOptions{NoAttrs: true, Keep: rs.Keep}
	}
	rs, ps := retained(t, small, sample)
	rb, pb := retained(t, big, sample)
	t.Logf("sampled read: %d bytes retained at %d changes, %d at %d", rs, small, rb, big)
	if ps.Counts() == pb.Counts() || pb.Counts().Delete != big/6+1 && pb.Counts().Delete != big/6 {
		t.Fatalf("counts %+v and %+v", ps.Counts(), pb.Counts())
	}
	if rb > rs+64<<10 || rb > 256<<10 {
		t.Errorf("sampled read retains %d bytes at %d changes, %d at %d: it must not grow with the plan", rb, big, rs, small)
	}
	full, p := retained(t, big, func() ReadOptions { return ReadOptions{} })
	per := full / big
	t.Logf("full read: %d bytes retained at %d changes, %d per change", full, big, per)
	// A Change is 240 bytes; its address and the attribute diffs read
	// while AttrBudget lasts come on top.
	if per > 450 || len(p.Changes) != big {
		t.Errorf("full read retains %d bytes per change (%d changes)", per, len(p.Changes))
	}
	runtime.KeepAlive(ps)
	runtime.KeepAlive(pb)
}
