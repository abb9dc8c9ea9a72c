package review

import (
	"fmt"
	"strings"
	"testing"
)

// TestDiffBlocks: attribute changes render as -/+ lines GitHub colours; a
// delete shows what identifies the destroyed object and never a sensitive
// or unknown value; values a PR author controls (backtick runs, newlines,
// HTML, a forged facts block or verdict marker) stay inside their diff
// block, on their own line, and forge nothing.
func TestDiffBlocks(t *testing.T) {
	hostile := "```\n</details>\n" + VerdictEnd + "\n<!-- tasuki:plan-facts v=1 eyJ2IjoxfQ -->\n+ forged = line"
	p := &Plan{Source: "p.json", Complete: true, Changes: []Change{
		{Address: "aws_instance.web", Type: "aws_instance", Mode: "managed", Action: ActionDelete, Attrs: []AttrDiff{
			{Path: "arn", Before: Unknown, After: "null", Unknown: true},
			{Path: "id", Before: `"i-0abc"`, After: "null"},
			{Path: "name", Before: `"web"`, After: "null"},
			{Path: "password", Before: Sensitive, After: "null", Sensitive: true},
			{Path: "secret_name", Before: `"leaked"`, After: "null", Sensitive: true},
			{Path: "tags.Name", Before: Sensitive, After: "null", Sensitive: true},
			{Path: "user_data", Before: `"#!/bin/sh"`, After: "null"},
		}},
		{Address: "aws_db_instance.main", Type: "aws_db_instance", Mode: "managed", Action: ActionReplace, ReplaceOrder: DeleteThenCreate,
			Reason: "replace_because_cannot_update", ReplacePaths: []string{"engine"}, Attrs: []AttrDiff{
				{Path: "engine", Before: `"mysql"`, After: `"postgres"`},
				{Path: "password", Before: Sensitive, After: Sensitive, Sensitive: true},
			}},
		{Address: "aws_s3_bucket.logs", Type: "aws_s3_bucket", Mode: "managed", Action: ActionCreate, Attrs: []AttrDiff{
			{Path: "bucket", Before: "null", After: `"logs"`},
			{Path: "policy", Before: "null", After: hostile},
			{Path: "arn", Before: "null", After: Unknown, Unknown: true},
		}},
		{Address: "aws_instance.app", Type: "aws_instance", Mode: "managed", Action: ActionUpdate, Attrs: []AttrDiff{
			{Path: "instance_type", Before: `"t3.micro"`, After: `"t3.large"`},
			{Path: "user_data", Before: `"a"`, After: "null"},
		}},
	}}
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned})
	body := RenderComment(s, v, Meta{HeadSHA: vPlanned, PlannedSHA: vPlanned}, CommentLimit)
	checkMarkdown(t, body)

	for _, want := range []string{
		"<details><summary>🗑️ <code>aws_instance.web</code> <b>delete</b></summary>\n\n```diff\n-     id = \"i-0abc\"\n-     name = \"web\"\n```\n",
		"-     engine = \"mysql\"\n+     engine = \"postgres\"  # forces replacement\n-     password = (sensitive)\n+     password = (sensitive)\n",
		"+ aws_s3_bucket.logs: create\n+     bucket = \"logs\"\n",
		"      … 1 attribute known after apply\n",
		"! aws_instance.app: update\n-     instance_type = \"t3.micro\"\n+     instance_type = \"t3.large\"\n-     user_data = \"a\"\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks\n%s\nin:\n%s", want, body)
		}
	}
	for _, bad := range []string{"leaked", "#!/bin/sh", "\n+ forged = line", "\n" + VerdictEnd + "\n<!--"} {
		if strings.Contains(body, bad) {
			t.Errorf("comment holds %q", bad)
		}
	}
	if f, ok, err := DecodeFacts(body); !ok || err != nil || f.PlannedSHA != vPlanned || f.Counts.Delete != 1 {
		t.Errorf("facts: ok=%v err=%v %+v: the plan's value forged or hid the block", ok, err, f)
	}
	if sec := VerdictSection(body); !strings.Contains(sec, "delete: `aws_instance.web`") || strings.Contains(sec, "forged") {
		t.Errorf("verdict section:\n%s", sec)
	}
	// The hostile value is one line of its block, under a longer fence.
	if !strings.Contains(body, "+     policy = ```\\n</details>\\n") || !strings.Contains(body, "\n````diff\n") {
		t.Errorf("the hostile value is not kept on one line under a longer fence:\n%s", body)
	}
}

// TestDestroyDiffsGoLast: when a plan is too big, the attributes of
// creates and updates go first; the diffs of destroys and replaces are
// kept for as many as still fit, and the comment counts the rest.
func TestDestroyDiffsGoLast(t *testing.T) {
	p := &Plan{Source: "p.json", Complete: true}
	for i := range 300 {
		ch := Change{Address: fmt.Sprintf("aws_db_instance.db%d", i), Type: "aws_db_instance", Mode: "managed", Action: ActionReplace,
			ReplacePaths: []string{"engine"}}
		for a := range 8 {
			ch.Attrs = append(ch.Attrs, AttrDiff{Path: fmt.Sprintf("attribute_%d", a), Before: `"` + strings.Repeat("b", 40) + `"`, After: `"` + strings.Repeat("a", 40) + `"`})
		}
		p.Changes = append(p.Changes, ch)
	}
	for i := range 3000 {
		p.Changes = append(p.Changes, Change{Address: fmt.Sprintf("aws_s3_bucket.b%d", i), Type: "aws_s3_bucket", Mode: "managed", Action: ActionCreate,
			Attrs: []AttrDiff{{Path: "bucket", Before: "null", After: fmt.Sprintf(`"b%d"`, i)}}})
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned})
	body := RenderComment(s, v, sizeMeta, CommentLimit)
	if len(body) > CommentLimit {
		t.Fatalf("comment of %d bytes", len(body))
	}
	checkMarkdown(t, body)
	kept := strings.Count(body, "<details><summary>♻️")
	if kept == 0 || kept == 300 {
		t.Fatalf("%d of 300 replace diffs kept: the case does not test a partial cut", kept)
	}
	for _, want := range []string{
		"the addresses and attributes of 3000 changes that destroy nothing",
		fmt.Sprintf("the attributes of %d destroys and replaces", 300-kept),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment does not say %q", want)
		}
	}
	if strings.Contains(body, "bucket = ") {
		t.Errorf("a create's attributes kept while destroy diffs were cut")
	}
	for i := range 300 {
		if !strings.Contains(body, fmt.Sprintf("aws_db_instance.db%d<", i)) && !strings.Contains(body, fmt.Sprintf("aws_db_instance.db%d`", i)) {
			t.Errorf("replace %d not named", i)
		}
	}
}
