package review

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// notPlans are the fixtures that are not plans, with what the error must say.
var notPlans = map[string]string{
	"checkov-state-not-plan.json":                   "this is a state file",
	"tfjson-invalid-malformed-json.json":            "unexpected data after the JSON document at byte 15543",
	"tofu-cloud-redacted-renderer-format-full.json": "HCP Terraform's redacted plan",
}

// rawCounts counts a plan's resource changes straight from the JSON,
// independently of ReadPlan.
func rawCounts(t *testing.T, data []byte) Counts {
	t.Helper()
	var raw struct {
		ResourceChanges []struct {
			PreviousAddress string `json:"previous_address"`
			Address         string `json:"address"`
			Change          struct {
				Actions   []string        `json:"actions"`
				Importing json.RawMessage `json:"importing"`
			} `json:"change"`
		} `json:"resource_changes"`
		DeferredChanges []json.RawMessage `json:"deferred_changes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("independent decode: %v", err)
	}
	var c Counts
	for _, rc := range raw.ResourceChanges {
		switch strings.Join(rc.Change.Actions, ",") {
		case "create":
			c.Create++
		case "update":
			c.Update++
		case "delete":
			c.Delete++
		case "delete,create", "create,delete":
			c.Replace++
		case "read":
			c.Read++
		case "no-op":
			c.NoOp++
		case "forget":
			c.Forget++
		default:
			t.Fatalf("%s: unexpected actions %v", rc.Address, rc.Change.Actions)
		}
		if len(rc.Change.Importing) > 0 && string(rc.Change.Importing) != "null" {
			c.Import++
		}
		if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
			c.Move++
		}
	}
	c.Deferred = len(raw.DeferredChanges)
	return c
}

func TestReadPlanFixtures(t *testing.T) {
	dir := testenv.Fixtures(t, "tfplan")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		testenv.Missing(t, "no plan fixtures in "+dir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ReadPlan(bytes.NewReader(data), name)
			if want, bad := notPlans[name]; bad {
				var pe *PlanError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), name+": ") {
					t.Fatalf("ReadPlan error = %v, want a *PlanError naming %s and saying %q", err, name, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadPlan: %v", err)
			}
			if name == "checkov-utf16-encoded.json" {
				if p.Encoding != "UTF-16LE" {
					t.Errorf("Encoding = %q, want UTF-16LE", p.Encoding)
				}
				data = utf16ToUTF8(t, data)
			}
			if diff := cmp.Diff(rawCounts(t, data), p.Counts()); diff != "" {
				t.Errorf("counts differ from the raw JSON (-raw +ReadPlan):\n%s", diff)
			}
			if p.FormatVersion == "" {
				t.Errorf("FormatVersion empty")
			}
		})
	}
}

func utf16ToUTF8(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xFE {
		t.Fatal("fixture is not UTF-16LE with a BOM")
	}
	b = b[2:]
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return []byte(string(utf16.Decode(u)))
}

// TestReadPlanDetails checks what ReadPlan keeps of specific fixtures.
func TestReadPlanDetails(t *testing.T) {
	dir := testenv.Fixtures(t, "tfplan")
	read := func(t *testing.T, name string) *Plan {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p, err := ReadPlan(f, name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("replace with paths and reason", func(t *testing.T) {
		p := read(t, "tofu-showjson-requires-replace.json")
		want := Change{Address: "test_instance.test", Type: "test_instance", Name: "test", Mode: "managed",
			Action: ActionReplace, ReplaceOrder: DeleteThenCreate, Reason: "replace_because_cannot_update",
			ReplacePaths: []string{"ami"},
			Attrs: []AttrDiff{
				{Path: "ami", Before: `"bar"`, After: `"force-replace"`},
				{Path: "id", Before: `"placeholder"`, After: Unknown, Unknown: true},
			}}
		if diff := cmp.Diff([]Change{want}, p.Changes); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("create before destroy", func(t *testing.T) {
		p := read(t, "checkov-create-before-destroy.json")
		if got := p.Changes[0]; got.Action != ActionReplace || got.ReplaceOrder != CreateThenDelete {
			t.Errorf("got %s %s, want replace create-then-delete", got.Action, got.ReplaceOrder)
		}
	})
	t.Run("tainted", func(t *testing.T) {
		p := read(t, "tfjson-replace-because-tainted.json")
		if got := p.Changes[0].Reason; got != "replace_because_tainted" {
			t.Errorf("Reason = %q", got)
		}
	})
	t.Run("moved no-op", func(t *testing.T) {
		p := read(t, "tfjson-moved-block-noop.json")
		c := p.Changes[0]
		if !c.Moved() || c.Action != ActionNoOp || c.PrevAddress == "" {
			t.Errorf("got %+v, want a moved no-op", c)
		}
	})
	t.Run("import", func(t *testing.T) {
		p := read(t, "tofu-cloud-import-generated-config.json")
		c := p.Changes[0]
		if !c.Importing || c.ImportID == "" {
			t.Errorf("got %+v, want an import with an id", c)
		}
	})
	t.Run("forget", func(t *testing.T) {
		p := read(t, "checkov-forget-action.json")
		if c := p.Changes[0]; c.Action != ActionForget || c.Reason != "delete_because_no_resource_config" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("errored", func(t *testing.T) {
		p := read(t, "tofu-showjson-plan-error-errored.json")
		if !p.Errored || p.Applyable {
			t.Errorf("Errored=%v Applyable=%v, want errored and not applyable", p.Errored, p.Applyable)
		}
		s := Summarize([]*Plan{p}, DefaultConfig())
		if v := Evaluate(s, DefaultConfig(), ApprovalFacts{}); v.State != StateError {
			t.Errorf("errored plan verdict %q, want error", v.State)
		}
	})
	t.Run("drift", func(t *testing.T) {
		p := read(t, "tfsummarize-example-drift-modules.json")
		if len(p.Drift) != 3 || p.Drift[0].Action != ActionDelete {
			t.Errorf("drift = %+v, want 3 deletes outside Terraform", p.Drift)
		}
	})
	t.Run("unknown outputs", func(t *testing.T) {
		p := read(t, "tofu-showjson-unknown-outputs-only.json")
		want := []OutputChange{
			{Name: "bar", Action: ActionCreate, Before: "null", After: `["hello",(known after apply),"world"]`, Unknown: true},
			{Name: "baz", Action: ActionCreate, Before: "null", After: `{"greeting":"hello","subject":"world","time":(known after apply)}`, Unknown: true},
			{Name: "foo", Action: ActionCreate, Before: "null", After: `"hello"`},
		}
		if diff := cmp.Diff(want, p.Outputs); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("sensitive", func(t *testing.T) {
		p := read(t, "tofu-showjson-sensitive-values.json")
		if diff := cmp.Diff([]AttrDiff{
			{Path: "ami", Before: "null", After: Sensitive, Sensitive: true},
			{Path: "id", Before: "null", After: Unknown, Unknown: true},
		}, p.Changes[0].Attrs); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if o := p.Outputs[0]; o.After != Sensitive || !o.Sensitive {
			t.Errorf("output %+v, want sensitive", o)
		}
	})
	t.Run("data read", func(t *testing.T) {
		p := read(t, "checkov-read-dependency-pending.json")
		n := 0
		for _, c := range p.Changes {
			if c.Action == ActionRead {
				n++
				if c.Mode != "data" || !strings.HasPrefix(c.Reason, "read_because_") {
					t.Errorf("read %+v", c)
				}
			}
		}
		if n != 4 {
			t.Errorf("%d reads, want 4", n)
		}
	})
}

func TestReadPlanErrors(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", "plan.json: empty file, not a plan"},
		{"text plan", "Terraform will perform the following actions:\n", "plan.json: not JSON (a text plan? run terraform show -json PLANFILE)"},
		{"binary plan", "PK\x03\x04rest", "plan.json: this is a binary plan file"},
		{"array", "[1,2]", "plan.json: a JSON array, not a plan"},
		{"truncated", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["cre`, "plan.json: truncated JSON at byte 86"},
		{"future format", `{"format_version":"2.0","resource_changes":[]}`, `plan.json: unsupported format_version "2.0" (tasuki reads 0.x and 1.x)`},
		{"state", `{"format_version":"1.0","terraform_version":"1.9.0","values":{"root_module":{}}}`, "plan.json: this is a state file (terraform show -json without a plan file), not a plan"},
		{"empty state", `{"format_version":"1.0"}`, "plan.json: this is an empty state"},
		{"syntax", `{"format_version":"1.2","resource_changes":[{"address" "a"}]}`, "plan.json: invalid JSON at byte 55 in resource_changes[0]: expected ':'"},
		{"trailing", `{"format_version":"1.2","resource_changes":[]}}`, "plan.json: unexpected data after the JSON document at byte 46"},
		{"no address", `{"format_version":"1.2","resource_changes":[{"change":{"actions":["create"]}}]}`, "plan.json: resource_changes[0]: no address"},
		{"wrong type", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":[7]}}]}`, "plan.json: resource_changes[0]: change.actions is not a list of strings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadPlan(strings.NewReader(c.in), "plan.json")
			var pe *PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *PlanError", err, err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error\n %s\nwant prefix\n %s", err, c.want)
			}
		})
	}
}

func TestReadPlanGzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","type":"a","change":{"actions":["create"],"after":{"x":1}}}]}`))
	zw.Close()
	p, err := ReadPlan(&b, "plan.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if p.Encoding != "gzip" || p.Counts().Create != 1 {
		t.Errorf("Encoding %q counts %+v", p.Encoding, p.Counts())
	}
	_, err = ReadPlan(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), "bad.gz")
	if err == nil || !strings.HasPrefix(err.Error(), "bad.gz: gzip-compressed but unreadable") {
		t.Errorf("damaged gzip: %v", err)
	}
}

func TestReadPlanUTF16BigEndian(t *testing.T) {
	in := `{"format_version":"1.2","resource_changes":[{"address":"a.b","type":"a","change":{"actions":["delete"]}}]}`
	u := utf16.Encode([]rune(in))
	b := []byte{0xFE, 0xFF}
	for _, x := range u {
		b = append(b, byte(x>>8), byte(x))
	}
	p, err := ReadPlan(bytes.NewReader(b), "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if p.Encoding != "UTF-16BE" || p.Counts().Delete != 1 {
		t.Errorf("Encoding %q counts %+v", p.Encoding, p.Counts())
	}
}

// FuzzReadPlan checks ReadPlan against encoding/json and terraform-json:
// what it accepts is valid JSON (json.Valid, after the gzip, UTF-16 or byte
// order mark it undoes) holding the changes terraform-json decodes, with
// the same counts; valid JSON it refuses is refused with a reason other
// than invalid JSON; nothing crashes, and what is read renders in bounds.
func FuzzReadPlan(f *testing.F) {
	dir := testenv.Fixtures(f, "tfplan")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		testenv.Missing(f, "no plan fixtures in "+dir)
	}
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["update"],"before":{"x":[1,{"s":"secret"}]},"after":{"x":[2,{"s":"canary"}]},"after_sensitive":{"x":[false,{"s":true}]},"before_sensitive":{"x":[false,true]}}}]}`))
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(fuzzCheck)
}

// planJSON writes plans as `terraform show -json` text: every action,
// moves, imports and data sources, in modules.
func planJSON(p *Plan) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format_version":"1.2","resource_changes":[`)
	for i, ch := range p.Changes {
		if i > 0 {
			b.WriteByte(',')
		}
		acts := map[Action]string{ActionCreate: `["create"]`, ActionUpdate: `["update"]`, ActionDelete: `["delete"]`,
			ActionReplace: `["delete","create"]`, ActionNoOp: `["no-op"]`, ActionRead: `["read"]`, ActionForget: `["forget"]`}[ch.Action]
		rc := map[string]any{"address": ch.Address, "type": ch.Type, "name": "r", "mode": ch.Mode, "module_address": ch.Module,
			"change": json.RawMessage(`{"actions":` + acts + `,"before":{"a":1},"after":{"a":2}` +
				map[bool]string{true: `,"importing":{"id":"x"}`}[ch.Importing] + `}`)}
		if ch.PrevAddress != "" {
			rc["previous_address"] = ch.PrevAddress
		}
		js, _ := json.Marshal(rc)
		b.Write(js)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestRiskSampleSameJSON checks that reading through a RiskSample, which
// keeps a few risky changes per reason, gives the same JSON output as
// reading every change, for several policies and plan sizes.
func TestRiskSampleSameJSON(t *testing.T) {
	all := DefaultConfig()
	all.RequireSecondReviewerFor.Actions = []string{"create", "update", "delete", "replace", "read", "forget", "import", "move"}
	none := DefaultConfig()
	none.RequireSecondReviewerFor = Triggers{}
	typesOnly := DefaultConfig()
	typesOnly.RequireSecondReviewerFor.Actions = nil
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"default", DefaultConfig()}, {"every action", all}, {"nothing risky", none}, {"types only", typesOnly}} {
		for _, n := range []int{0, 3, 40, 2100} {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				plans := genPlans(n)
				for i, p := range plans {
					for j := range p.Changes {
						ch := &p.Changes[j]
						ch.Importing = j%11 == 3
						if j%17 == 5 {
							ch.PrevAddress = ch.Address + "_old"
						}
						if j%19 == 7 {
							ch.Mode, ch.Action = "data", ActionRead
						}
						ch.Module = fmt.Sprintf("module.m%d", (i+j)%13)
					}
				}
				var full, sampled []*Plan
				rs := NewRiskSample(c.cfg)
				for _, p := range plans {
					text := planJSON(p)
					fp, err := ReadPlan(bytes.NewReader(text), p.Source)
					if err != nil {
						t.Fatal(err)
					}
					sp, err := ReadPlanWith(bytes.NewReader(text), p.Source, ReadOptions{NoAttrs: true, Keep: rs.Keep})
					if err != nil {
						t.Fatal(err)
					}
					for _, q := range []*Plan{fp, sp} {
						q.Workspace, q.Dir = p.Workspace, p.Dir
					}
					if fp.Counts() != sp.Counts() {
						t.Fatalf("counts %+v, sampled %+v", fp.Counts(), sp.Counts())
					}
					if len(sp.Changes) > 0 && n > 1000 && len(sp.Changes) >= len(fp.Changes)/2 {
						t.Errorf("sample kept %d of %d changes", len(sp.Changes), len(fp.Changes))
					}
					full, sampled = append(full, fp), append(sampled, sp)
				}
				fs := Summarize(full, c.cfg)
				ss := Summarize(sampled, c.cfg)
				rs.Apply(&ss)
				want, err := RenderJSON(fs, Evaluate(fs, c.cfg, ApprovalFacts{}))
				if err != nil {
					t.Fatal(err)
				}
				got, err := RenderJSON(ss, Evaluate(ss, c.cfg, ApprovalFacts{}))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(want, got) {
					t.Errorf("JSON differs:\nall changes: %s\nsampled:     %s", want, got)
				}
			})
		}
	}
}

// TestReadPlanLearnsUnshownSecrets checks that a secret marked in a change
// whose values are not decoded (a delete, or any change once AttrBudget is
// used up or with NoAttrs) still masks its copies in the changes shown.
func TestReadPlanLearnsUnshownSecrets(t *testing.T) {
	const secret = "canary-s3cr3t-value"
	shown := `{"address":"b.shown","change":{"actions":["update"],"before":{"note":"x"},"after":{"note":"prefix ` + secret + ` suffix"}}}`
	for _, c := range []struct {
		name                string
		before, sensitivity string
	}{
		{"marked whole", `{"db":{"password":"` + secret + `"}}`, `{"db":true}`},
		{"marked member", `{"db":{"password":"` + secret + `","user":"u"}}`, `{"db":{"password":true}}`},
		{"marked list element", `{"list":["a","` + secret + `"]}`, `{"list":[false,true]}`},
		{"escaped in the value", `{"db":{"password":"canary-s3cr3t-v\u0061lue"}}`, `{"db":{"password":true}}`},
		{"escaped key in the mask", `{"db":{"password":"` + secret + `"}}`, `{"db":{"p\u0061ssword":true}}`},
		{"whole value", `"` + secret + `"`, `true`},
		{"scalar under a structured mark", `{"db":"` + secret + `"}`, `{"db":{"x":true}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			del := `{"address":"a.deleted","change":{"actions":["delete"],"before":` + c.before + `,"after":null,"before_sensitive":` + c.sensitivity + `,"after_sensitive":false}}`
			p, err := ReadPlan(strings.NewReader(plan(del+","+shown)), "plan.json")
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range p.Changes {
				for _, a := range ch.Attrs {
					if strings.Contains(a.Before+a.After, "s3cr3t") {
						t.Fatalf("%s %s shows the secret: %+v", ch.Address, a.Path, a)
					}
				}
			}
			if got := p.Changes[1].Attrs; len(got) != 1 || got[0].After != Sensitive {
				t.Errorf("shown change: %+v, want note masked", got)
			}
		})
	}
}
