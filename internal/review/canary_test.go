package review

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// canaryPlan is a plan with a distinct canary secret behind every kind of
// sensitivity marker Terraform writes.
func canaryPlan(t *testing.T) []byte {
	t.Helper()
	rc := func(addr, typ string, actions []string, change map[string]any) map[string]any {
		change["actions"] = actions
		return map[string]any{"address": addr, "type": typ, "name": "x", "mode": "managed", "change": change}
	}
	plan := map[string]any{
		"format_version":    "1.2",
		"terraform_version": "1.11.0",
		"variables":         map[string]any{"db_password": map[string]any{"value": "CANARY-VAR-19"}},
		"configuration": map[string]any{"root_module": map[string]any{"variables": map[string]any{
			"db_password": map[string]any{"sensitive": true}}}},
		"planned_values": map[string]any{"root_module": map[string]any{"resources": []any{
			map[string]any{"address": "aws_db_instance.main", "values": map[string]any{"password": "CANARY-PV-20"}, "sensitive_values": map[string]any{"password": true}}}}},
		"resource_changes": []any{
			// Unmarked copies of values marked sensitive later in the
			// plan (Terraform loses marks, e.g. terraform_data.output).
			rc("aws_early.copy", "aws_early", []string{"update"}, map[string]any{
				"before": map[string]any{"v": "old", "embedded": "x"}, "after": map[string]any{"v": "CANARY-04", "embedded": "prefix CANARY-01 suffix"},
			}),
			// A marked value copied, unmarked, into a long string whose
			// rendering is cut just after the secret starts.
			rc("aws_edge.e", "aws_edge", []string{"update"}, map[string]any{
				"before":           map[string]any{"pw": "CANARY-EDGE-SECRET-1", "script": "old"},
				"after":            map[string]any{"pw": "CANARY-EDGE-SECRET-1", "script": strings.Repeat("x", 190) + "CANARY-EDGE-SECRET-1 and more"},
				"before_sensitive": map[string]any{"pw": true},
				"after_sensitive":  map[string]any{"pw": true},
			}),
			rc("aws_db_instance.main", "aws_db_instance", []string{"update"}, map[string]any{
				"before":           map[string]any{"password": "CANARY-01", "list": []any{"a", "CANARY-02"}, "nested": map[string]any{"obj": map[string]any{"k": "CANARY-03"}}, "plain": "old"},
				"after":            map[string]any{"password": "CANARY-04", "list": []any{"b", "CANARY-05"}, "nested": map[string]any{"obj": map[string]any{"k": "CANARY-06"}}, "plain": "new"},
				"before_sensitive": map[string]any{"password": true, "list": []any{false, true}, "nested": map[string]any{"obj": map[string]any{"k": true}}},
				"after_sensitive":  map[string]any{"password": true, "list": []any{false, true}, "nested": map[string]any{"obj": map[string]any{"k": true}}},
				"after_unknown":    map[string]any{},
			}),
			rc("aws_secret.whole", "aws_secret", []string{"create"}, map[string]any{
				"before": nil, "after": map[string]any{"secret": "CANARY-07", "list": []any{"CANARY-07b"}},
				"after_sensitive": true, "after_unknown": map[string]any{},
			}),
			rc("aws_thing.replace", "aws_thing", []string{"delete", "create"}, map[string]any{
				"before":           map[string]any{"secrets": map[string]any{"CANARY-08-KEY": "CANARY-09"}, "name": "n"},
				"after":            map[string]any{"secrets": map[string]any{"CANARY-08-KEY": "CANARY-09x"}, "name": "n"},
				"before_sensitive": map[string]any{"secrets": true},
				"after_sensitive":  map[string]any{"secrets": true},
				"replace_paths":    []any{[]any{"secrets", "CANARY-08-KEY"}},
			}),
			rc("aws_sg.rules", "aws_security_group", []string{"create"}, map[string]any{
				"before": nil, "after": map[string]any{"rules": []any{map[string]any{"cidr": "CANARY-10", "port": 443}}},
				"after_sensitive": map[string]any{"rules": []any{map[string]any{"cidr": true}}},
			}),
			rc("aws_map.m", "aws_map", []string{"update"}, map[string]any{
				"before": map[string]any{"m": map[string]any{"k": "CANARY-11a"}}, "after": map[string]any{"m": map[string]any{"k": "CANARY-11"}},
				"before_sensitive": map[string]any{"m": map[string]any{"k": true}}, "after_sensitive": map[string]any{"m": map[string]any{"k": true}},
			}),
			rc("aws_gone.d", "aws_gone", []string{"delete"}, map[string]any{
				"before": map[string]any{"pw": "CANARY-12"}, "after": nil, "before_sensitive": map[string]any{"pw": true},
			}),
			rc("aws_blob.b", "aws_blob", []string{"update"}, map[string]any{
				"before": map[string]any{"blob": nil}, "after": map[string]any{"blob": map[string]any{"deep": []any{"CANARY-13"}}},
				"after_sensitive": map[string]any{"blob": true},
			}),
			rc("aws_shape.mismatch", "aws_shape", []string{"update"}, map[string]any{
				"before": map[string]any{"v": "old"}, "after": map[string]any{"v": "CANARY-21"},
				"after_sensitive": map[string]any{"v": map[string]any{"inner": true}},
			}),
			// A delete whose identifying attributes (id, name, arn, tags.Name)
			// are sensitive or hold a copy of a secret: what the comment shows
			// of a destroyed object must never be one of them.
			rc("aws_gone.ident", "aws_gone", []string{"delete"}, map[string]any{
				"before": map[string]any{"id": "CANARY-23", "name": "plain-name", "arn": "arn:aws:x::CANARY-01",
					"tags": map[string]any{"Name": "CANARY-24"}, "db_name": "CANARY-25", "key_id": "CANARY-26"},
				"after":            nil,
				"before_sensitive": map[string]any{"id": true, "tags": map[string]any{"Name": true}, "db_name": true, "key_id": true},
				"after_sensitive":  false,
			}),
		},
		"resource_drift": []any{
			rc("aws_db_instance.main", "aws_db_instance", []string{"update"}, map[string]any{
				"before": map[string]any{"password": "CANARY-14"}, "after": map[string]any{"password": "CANARY-15"},
				"before_sensitive": map[string]any{"password": true}, "after_sensitive": map[string]any{"password": true},
			}),
		},
		"deferred_changes": []any{
			map[string]any{"reason": "provider_config_unknown", "resource_change": rc("aws_later.l", "aws_later", []string{"create"}, map[string]any{
				"before": nil, "after": map[string]any{"token": "CANARY-22"}, "after_sensitive": map[string]any{"token": true},
			})},
		},
		"output_changes": map[string]any{
			"copy":  map[string]any{"actions": []string{"create"}, "before": nil, "after": "CANARY-17"},
			"db_pw": map[string]any{"actions": []string{"update"}, "before": "CANARY-16", "after": "CANARY-17", "before_sensitive": true, "after_sensitive": true},
			"obj":   map[string]any{"actions": []string{"create"}, "before": nil, "after": map[string]any{"a": "CANARY-18", "b": "ok"}, "after_sensitive": map[string]any{"a": true}},
		},
		"checks": []any{map[string]any{
			"address": map[string]any{"to_display": "check.db", "kind": "check"}, "status": "fail",
			"instances": []any{map[string]any{"address": map[string]any{"to_display": "check.db"}, "status": "fail",
				"problems": []any{map[string]any{"message": "login with CANARY-01 was refused"}}}},
		}},
		"complete": false,
		"errored":  false,
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertNoCanary fails when out contains any canary, plain or base64.
func assertNoCanary(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"CANARY", base64.StdEncoding.EncodeToString([]byte("CANARY")), base64.RawURLEncoding.EncodeToString([]byte("CANARY"))} {
		if i := strings.Index(out, s); i >= 0 {
			lo, hi := max(0, i-80), min(len(out), i+80)
			t.Errorf("%s leaks a canary secret: …%s…", what, out[lo:hi])
		}
	}
	// Facts are base64 JSON: decode and look inside too.
	if f, ok, err := DecodeFacts(out); ok && err == nil {
		js, _ := json.Marshal(f)
		if strings.Contains(string(js), "CANARY") {
			t.Errorf("%s: plan facts leak a canary: %s", what, js)
		}
	}
}

func TestCanarySecretsNeverLeave(t *testing.T) {
	data := canaryPlan(t)
	p, err := ReadPlan(bytes.NewReader(data), "canary.json")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing unmasked may even sit in the Plan.
	pj, _ := json.Marshal(p)
	assertNoCanary(t, "Plan", string(pj))
	assertNoCanary(t, "Plan %#v", fmt.Sprintf("%#v", *p))

	// The plan must still say what changed.
	if len(p.Deferred) != 1 || p.Deferred[0].Reason != "provider_config_unknown" || p.Counts().Deferred != 1 || p.Complete {
		t.Errorf("deferred %+v complete %v, want one deferred change and an incomplete plan", p.Deferred, p.Complete)
	}
	if len(p.Checks) != 1 || len(p.Checks[0].Problems) != 1 {
		t.Errorf("checks %+v, want the failed check kept", p.Checks)
	}
	if got := len(p.Changes); got != 11 {
		t.Fatalf("%d changes, want 11", got)
	}
	if rp := p.Changes[4].ReplacePaths; len(rp) != 1 || rp[0] != "secrets[(sensitive)]" {
		t.Errorf("replace paths %q, want the sensitive map key masked", rp)
	}
	var sawSensitive bool
	for _, a := range p.Changes[2].Attrs {
		if a.Path == "password" && a.Before == Sensitive && a.After == Sensitive {
			sawSensitive = true
		}
	}
	if !sawSensitive {
		t.Errorf("changed sensitive password not listed as (sensitive): %+v", p.Changes[2].Attrs)
	}

	p.Workspace, p.Dir = "prod", "infra/prod"
	cfg := DefaultConfig()
	s := Summarize([]*Plan{p}, cfg)
	v := Evaluate(s, cfg, ApprovalFacts{HeadSHA: "1111111aaaa", PlannedSHA: "1111111aaaa", Author: "CANARY-login-is-fine-but-not-here"[:0] + "alice"})
	m := Meta{Repo: "acme/infra", PR: 7, HeadSHA: "1111111aaaa", PlannedSHA: "1111111aaaa", ArtifactName: "plan"}
	for _, limit := range []int{CommentLimit, 4000, 1500, 600} {
		assertNoCanary(t, fmt.Sprintf("RenderComment(limit %d)", limit), RenderComment(s, v, m, limit))
	}
	// The verdict section the App re-renders from the comment's facts, in
	// every state, with the plan's risky changes listed.
	body := RenderComment(s, v, m, CommentLimit)
	if VerdictSection(body) == "" || !strings.Contains(VerdictSection(body), "aws_gone.d") {
		t.Errorf("comment has no verdict section naming the risky delete:\n%s", VerdictSection(body))
	}
	f, _, err := DecodeFacts(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, af := range []ApprovalFacts{
		{HeadSHA: "1111111aaaa", PlannedSHA: "1111111aaaa", Author: "alice"},
		{HeadSHA: "2222222bbbb", PlannedSHA: "1111111aaaa", Author: "alice"},
		{HeadSHA: "1111111aaaa", PlannedSHA: "1111111aaaa", Author: "alice", Reviews: []Review{{User: "bob", State: "APPROVED", CommitID: "1111111aaaa"}}},
	} {
		vv := Evaluate(f.Summary(), cfg, af)
		assertNoCanary(t, "verdict section "+vv.State, RenderVerdict(f, vv, af.HeadSHA))
	}
	for lvl := levelFull; lvl < levelCount; lvl++ {
		assertNoCanary(t, fmt.Sprintf("render level %d", lvl), render(s, m, RenderVerdict(FactsOf(s, m.PlannedSHA), v, m.HeadSHA), prepare(s), lvl, -1, -1))
	}
	title, summary, text := RenderCheck(s, v, m)
	assertNoCanary(t, "check title", title)
	assertNoCanary(t, "check summary", summary)
	assertNoCanary(t, "check text", text)
	assertNoCanary(t, "check text of attribute diffs", renderDiffs(s, m, CheckLimit, true))
	js, err := RenderJSON(s, v)
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "JSON", string(js))
	assertNoCanary(t, "facts", EncodeFacts(FactsOf(s, m.PlannedSHA)))
	assertNoCanary(t, "verdict", fmt.Sprintf("%+v", v))

	// Errors on damaged copies of the plan never quote it.
	for cut := 1; cut < len(data); cut += 97 {
		_, err := ReadPlan(bytes.NewReader(data[:cut]), "canary.json")
		if err == nil {
			t.Fatalf("truncated at %d: no error", cut)
		}
		assertNoCanary(t, fmt.Sprintf("error for a plan cut at %d", cut), err.Error())
	}
	for _, bad := range []string{`"CANARY-04"`, `"password"`} {
		damaged := bytes.Replace(data, []byte(bad), []byte(bad[:len(bad)-1]+`\q"`), 1)
		_, err := ReadPlan(bytes.NewReader(damaged), "canary.json")
		if err == nil {
			t.Fatalf("damaged %s: no error", bad)
		}
		assertNoCanary(t, "error for a damaged plan", err.Error())
	}
	// A number where a string belongs: json's type error would quote it.
	damaged := bytes.Replace(data, []byte(`"address":"aws_gone.d"`), []byte(`"address":12345678901`), 1)
	if _, err := ReadPlan(bytes.NewReader(damaged), "canary.json"); err == nil || strings.Contains(err.Error(), "12345678901") {
		t.Errorf("type error %v quotes the value", err)
	}
}
