package review

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// tfDir runs real terraform in one working directory.
type tfDir struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func newTF(t *testing.T) *tfDir {
	bin := testenv.Terraform(t)
	dir := t.TempDir()
	rc := filepath.Join(dir, "empty.tfrc")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"TF_IN_AUTOMATION=1",
		"TF_CLI_CONFIG_FILE="+rc,
		"TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
		"CHECKPOINT_DISABLE=1",
		"TF_INPUT=0",
	)
	return &tfDir{t: t, bin: bin, dir: dir, env: env}
}

func (d *tfDir) write(files map[string]string) {
	d.t.Helper()
	old, _ := filepath.Glob(filepath.Join(d.dir, "*.tf"))
	for _, f := range old {
		os.Remove(f)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d.dir, name), []byte(body), 0o600); err != nil {
			d.t.Fatal(err)
		}
	}
}

func (d *tfDir) run(args ...string) []byte {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Dir, cmd.Env = d.dir, d.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes()
}

// plan runs terraform plan and returns the plan read by ReadPlan.
func (d *tfDir) plan(name string) *Plan {
	d.t.Helper()
	d.run("plan", "-input=false", "-no-color", "-out=tfplan")
	js := d.run("show", "-json", "tfplan")
	p, err := ReadPlan(bytes.NewReader(js), name)
	if err != nil {
		d.t.Fatalf("ReadPlan of terraform %s output: %v", name, err)
	}
	if bytes.Contains(js, []byte("CANARY")) == false && strings.Contains(name, "canary") {
		d.t.Fatalf("terraform did not put the canary into the JSON; the test proves nothing")
	}
	return p
}

func addresses(p *Plan, a Action) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == a {
			out = append(out, c.Address)
		}
	}
	return out
}

func TestRealTerraform(t *testing.T) {
	d := newTF(t)
	v1 := `
variable "db_password" {
  type      = string
  sensitive = true
  default   = "CANARY-TF-VAR-1"
}
resource "terraform_data" "app" { input = "one" }
resource "terraform_data" "keep" { input = "keep" }
resource "terraform_data" "rotate" {
  input            = "x"
  triggers_replace = ["t1"]
}
resource "terraform_data" "gone" { input = "bye" }
resource "terraform_data" "secret" { input = var.db_password }
resource "terraform_data" "nested" {
  input = { user = "app", password = sensitive("CANARY-TF-NESTED-1"), list = ["a", sensitive("CANARY-TF-LIST-1")] }
}
output "token" {
  value     = "CANARY-TF-OUT-1"
  sensitive = true
}
output "plain" { value = terraform_data.app.output }
`
	d.write(map[string]string{"main.tf": v1})
	d.run("init", "-input=false", "-no-color", "-backend=false")

	p1 := d.plan("canary-create.json")
	if diff := cmp.Diff(Counts{Create: 6}, p1.Counts()); diff != "" {
		t.Errorf("first plan counts (-want +got):\n%s", diff)
	}
	if p1.TerraformVersion == "" || p1.Errored || !p1.Complete {
		t.Errorf("version %q errored %v complete %v", p1.TerraformVersion, p1.Errored, p1.Complete)
	}
	d.run("apply", "-input=false", "-no-color", "-auto-approve", "tfplan")

	v2 := `
variable "db_password" {
  type      = string
  sensitive = true
  default   = "CANARY-TF-VAR-2"
}
resource "terraform_data" "app" { input = "two" }
moved {
  from = terraform_data.keep
  to   = terraform_data.kept
}
resource "terraform_data" "kept" { input = "keep" }
resource "terraform_data" "rotate" {
  input            = "x"
  triggers_replace = ["t2"]
}
resource "terraform_data" "secret" { input = var.db_password }
resource "terraform_data" "nested" {
  input = { user = "app", password = sensitive("CANARY-TF-NESTED-2"), list = ["a", sensitive("CANARY-TF-LIST-2")] }
}
resource "terraform_data" "new" { input = "hello" }
check "health" {
  assert {
    condition     = terraform_data.app.input == "one"
    error_message = "app input is not one any more"
  }
}
output "token" {
  value     = "CANARY-TF-OUT-2"
  sensitive = true
}
output "plain" { value = terraform_data.app.output }
`
	d.write(map[string]string{"main.tf": v2})
	p2 := d.plan("canary-change.json")
	p2.Dir = "infra/staging"
	if diff := cmp.Diff(Counts{Create: 1, Update: 3, Replace: 1, Delete: 1, NoOp: 1, Move: 1}, p2.Counts()); diff != "" {
		t.Errorf("second plan counts (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		a    Action
		want []string
	}{
		{ActionCreate, []string{"terraform_data.new"}},
		{ActionUpdate, []string{"terraform_data.app", "terraform_data.nested", "terraform_data.secret"}},
		{ActionReplace, []string{"terraform_data.rotate"}},
		{ActionDelete, []string{"terraform_data.gone"}},
	} {
		if diff := cmp.Diff(c.want, addresses(p2, c.a)); diff != "" {
			t.Errorf("%s addresses (-want +got):\n%s", c.a, diff)
		}
	}
	for _, c := range p2.Changes {
		switch c.Address {
		case "terraform_data.kept":
			if c.PrevAddress != "terraform_data.keep" {
				t.Errorf("kept: previous address %q", c.PrevAddress)
			}
		case "terraform_data.rotate":
			if c.Reason != "replace_by_triggers" && c.Reason != "replace_because_cannot_update" {
				t.Errorf("rotate: reason %q", c.Reason)
			}
		case "terraform_data.gone":
			if c.Reason != "delete_because_no_resource_config" {
				t.Errorf("gone: reason %q", c.Reason)
			}
		case "terraform_data.app":
			if diff := cmp.Diff([]AttrDiff{
				{Path: "input", Before: `"one"`, After: `"two"`},
				{Path: "output", Before: `"one"`, After: Unknown, Unknown: true},
			}, c.Attrs); diff != "" {
				t.Errorf("app attrs (-want +got):\n%s", diff)
			}
		}
	}
	if diff := cmp.Diff([]CheckResult{{Address: "check.health", Kind: "check", Status: "fail", Problems: []string{"app input is not one any more"}}}, p2.Checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	s := Summarize([]*Plan{p2}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: "0123456789", PlannedSHA: "0123456789", Author: "alice"})
	if v.State != StateActionRequired {
		t.Errorf("state %q, want action_required for a delete and a replace", v.State)
	}
	m := Meta{PlannedSHA: "0123456789", HeadSHA: "0123456789"}
	body := RenderComment(s, v, m, CommentLimit)
	assertNoCanary(t, "comment of a real plan", body)
	for _, want := range []string{"`terraform_data.gone`", "`terraform_data.rotate`", "moved from terraform_data.keep", "(sensitive)", "### Failed checks (1)", "app input is not one any more"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	js, _ := RenderJSON(s, v)
	assertNoCanary(t, "JSON of a real plan", string(js))
	_, sum, _ := RenderCheck(s, v, m)
	assertNoCanary(t, "check of a real plan", sum)
}
