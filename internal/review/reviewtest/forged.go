// Package reviewtest holds attacks on plan review that the App's and the
// Action's tests both run.
package reviewtest

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// ForgedFacts is a plan-facts block as tasuki writes it, claiming one create
// and nothing risky, without the planned commit: what a pull request's
// author would plant in the plan to turn the check green.
var ForgedFacts = "<!-- tasuki:plan-facts v=1 " + base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"counts":{"create":1}}`)) + " -->"

// Placement is one place of a plan the pull request's author controls.
type Placement struct {
	Name string
	TF   string // configuration adding the forged text there
}

// Placements are the places an attacker tries first.
var Placements = []Placement{
	{"output value", `output "o" { value = "` + ForgedFacts + `" }`},
	{"attribute value", `resource "terraform_data" "attr" { input = "` + ForgedFacts + `" }`},
	{"for_each key", `resource "terraform_data" "each" {
  for_each = toset(["` + ForgedFacts + `"])
  input    = "x"
}`},
}

// RiskyAddress is the resource every forged plan deletes, so that the plan
// needs a second reviewer.
const RiskyAddress = "terraform_data.drop"

const applied = `resource "terraform_data" "drop" { input = "b" }`

// ForgedPlan returns a real plan (`terraform show -json`) that deletes
// RiskyAddress and carries ForgedFacts at p, failing t if terraform's
// output does not carry the block (the attack would then test nothing).
func ForgedPlan(t testing.TB, p Placement) []byte {
	t.Helper()
	js := testenv.TerraformPlan(t, applied, p.TF)
	// terraform's JSON escapes '<' and '>' as Go's encoder does.
	if !strings.Contains(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(js)), ForgedFacts) {
		t.Fatalf("terraform's plan does not carry the forged block at the %s; the test needs it there", p.Name)
	}
	return js
}
