// Command genplan writes a synthetic `terraform show -json` plan with many
// resource changes, shaped like a real one (prior_state, planned_values,
// configuration and resource_changes all present, every kind of action,
// sensitive and unknown marks), for the plan review benchmark.
//
//	go run ./internal/review/bench/genplan -n 20000 > plan.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 20000, "number of resource changes")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	if err := write(w, *n); err != nil {
		fmt.Fprintln(os.Stderr, "genplan:", err)
		os.Exit(1)
	}
}

// sensitive says which changes carry a sensitive attribute: one in ten,
// as in a typical cloud estate (database passwords, function secrets).
func sensitive(i int) bool { return i%10 == 9 }

type rc struct {
	addr, module, typ, name string
	actions                 []string
	before, after           map[string]any
	reason                  string
}

func change(i int) rc {
	mod := fmt.Sprintf("module.svc_%d", i%50)
	typ := []string{"aws_instance", "aws_s3_bucket", "aws_iam_role", "aws_security_group", "aws_lambda_function"}[i%5]
	name := fmt.Sprintf("r%d", i)
	attrs := func(v string) map[string]any {
		return map[string]any{
			"name": name, "ami": "ami-" + v, "instance_type": "t3.micro",
			"tags":      map[string]any{"Name": name, "team": "payments", "env": v},
			"password":  "not-really-secret-" + v,
			"ingress":   []any{map[string]any{"from_port": 443, "to_port": 443, "cidr_blocks": []any{"10.0.0.0/8"}}},
			"user_data": "#!/bin/bash\necho hello " + v + "\n",
		}
	}
	c := rc{addr: fmt.Sprintf("%s.%s.%s", mod, typ, name), module: mod, typ: typ, name: name}
	switch i % 10 {
	case 0:
		c.actions, c.after = []string{"create"}, attrs("new")
	case 1:
		c.actions, c.before, c.reason = []string{"delete"}, attrs("old"), "delete_because_no_resource_config"
	case 2:
		c.actions, c.before, c.after, c.reason = []string{"delete", "create"}, attrs("old"), attrs("new"), "replace_because_cannot_update"
	case 3:
		c.actions, c.before, c.after = []string{"no-op"}, attrs("same"), attrs("same")
	default:
		c.actions, c.before, c.after = []string{"update"}, attrs("old"), attrs("new")
	}
	return c
}

func write(w *bufio.Writer, n int) error {
	enc := func(v any) {
		b, _ := json.Marshal(v)
		w.Write(b)
	}
	w.WriteString(`{"format_version":"1.2","terraform_version":"1.11.0","variables":{"region":{"value":"eu-west-1"}},`)
	// planned_values and prior_state: one resource per change, as Terraform writes.
	for _, section := range []string{"planned_values", "prior_state"} {
		fmt.Fprintf(w, `%q:{`, section)
		if section == "prior_state" {
			w.WriteString(`"format_version":"1.0","terraform_version":"1.11.0","values":{`)
		}
		w.WriteString(`"root_module":{"resources":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			c := change(i)
			vals := c.after
			if section == "prior_state" || vals == nil {
				vals = c.before
			}
			enc(map[string]any{"address": c.addr, "mode": "managed", "type": c.typ, "name": c.name,
				"provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1,
				"values": vals, "sensitive_values": map[string]any{}})
		}
		w.WriteString(`]}}`)
		if section == "prior_state" {
			w.WriteString(`}`)
		}
		w.WriteByte(',')
	}
	w.WriteString(`"resource_changes":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		c := change(i)
		sens := func(m map[string]any) any {
			if m == nil {
				return false
			}
			if !sensitive(i) {
				return map[string]any{}
			}
			return map[string]any{"password": true}
		}
		ch := map[string]any{
			"actions": c.actions, "before": c.before, "after": c.after,
			"after_unknown":    map[string]any{"id": c.after != nil, "arn": c.after != nil},
			"before_sensitive": sens(c.before), "after_sensitive": sens(c.after),
		}
		if c.actions[0] == "delete" && len(c.actions) == 2 {
			ch["replace_paths"] = []any{[]any{"ami"}}
		}
		m := map[string]any{"address": c.addr, "module_address": c.module, "mode": "managed", "type": c.typ, "name": c.name,
			"provider_name": "registry.terraform.io/hashicorp/aws", "change": ch}
		if c.reason != "" {
			m["action_reason"] = c.reason
		}
		enc(m)
	}
	w.WriteString(`],"output_changes":{"count":{"actions":["update"],"before":1,"after":2,"after_unknown":false,"before_sensitive":false,"after_sensitive":false}},`)
	w.WriteString(`"configuration":{"root_module":{"module_calls":{}}},"timestamp":"2026-11-25T12:00:00Z","applyable":true,"complete":true,"errored":false}`)
	w.WriteByte('\n')
	return nil
}
