package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/golden"
)

// sizeChange is what sizePlan makes of change i: a delete, a replace, an
// update or (mostly) a create, spread over modules.
func sizeChange(i, n int) (module, typ, name string, action Action) {
	types := []string{"aws_instance", "aws_s3_bucket", "aws_iam_role", "aws_security_group", "aws_lambda_function", "aws_db_instance"}
	typ, name = types[i%len(types)], fmt.Sprintf("r%d", i)
	if k := i % min(max(2, n/25), 80); k > 0 {
		module = fmt.Sprintf("module.svc_%d", k)
	}
	switch i % 20 {
	case 7:
		action = ActionDelete
	case 13:
		action = ActionReplace
	case 0, 4, 17:
		action = ActionUpdate
	default:
		action = ActionCreate
	}
	return module, typ, name, action
}

func sizeAddress(module, typ, name string) string {
	if module == "" {
		return typ + "." + name
	}
	return module + "." + typ + "." + name
}

// sizePlan writes a `terraform show -json` plan of n changes shaped like a
// cloud estate's: every resource with a sensitive password, tags, ids and
// ARNs known only after apply for creates.
func sizePlan(n int) []byte {
	type obj = map[string]any
	var rcs []obj
	for i := 0; i < n; i++ {
		module, typ, name, action := sizeChange(i, n)
		attrs := func(size, team string) obj {
			return obj{"id": "i-0" + strconv.Itoa(100000+i), "arn": "arn:aws:svc:eu-west-1:123456789012:" + name, "name": name,
				"instance_type": size, "ami": "ami-old", "password": fmt.Sprintf("pw-%d", i), "tags": obj{"Name": name, "team": team}}
		}
		rc := obj{"address": sizeAddress(module, typ, name), "mode": "managed", "type": typ, "name": name}
		if module != "" {
			rc["module_address"] = module
		}
		sens := obj{"password": true}
		ch := obj{"before_sensitive": sens, "after_sensitive": sens, "after_unknown": obj{}}
		switch action {
		case ActionCreate:
			a := attrs("t3.micro", "payments")
			delete(a, "id")
			delete(a, "arn")
			ch["actions"], ch["before"], ch["after"], ch["before_sensitive"] = []string{"create"}, nil, a, false
			ch["after_unknown"] = obj{"id": true, "arn": true}
		case ActionUpdate:
			ch["actions"], ch["before"], ch["after"] = []string{"update"}, attrs("t3.micro", "payments"), attrs("t3.large", "checkout")
		case ActionDelete:
			ch["actions"], ch["before"], ch["after"], ch["after_sensitive"] = []string{"delete"}, attrs("t3.micro", "payments"), nil, false
			rc["action_reason"] = "delete_because_no_resource_config"
		case ActionReplace:
			after := attrs("t3.micro", "payments")
			after["ami"] = "ami-new"
			delete(after, "id")
			delete(after, "arn")
			ch["actions"], ch["before"], ch["after"] = []string{"delete", "create"}, attrs("t3.micro", "payments"), after
			ch["after_unknown"] = obj{"id": true, "arn": true}
			ch["replace_paths"] = []any{[]any{"ami"}}
			rc["action_reason"] = "replace_because_cannot_update"
		}
		rc["change"] = ch
		rcs = append(rcs, rc)
	}
	b, err := json.Marshal(obj{"format_version": "1.2", "terraform_version": "1.11.0", "resource_changes": rcs, "complete": true, "applyable": true})
	if err != nil {
		panic(err)
	}
	return b
}

var sizeMeta = Meta{Repo: "acme/infra", PR: 42, HeadSHA: vPlanned, PlannedSHA: vPlanned,
	RunURL: "https://github.com/acme/infra/actions/runs/123", JobSummaryURL: "https://github.com/acme/infra/actions/runs/123#summary",
	ArtifactName: "tasuki-plan-42"}

// sizeComment renders the comment a reviewer gets for plans, waiting for
// an approval under the default policy.
func sizeComment(plans []*Plan) (Summary, string) {
	s := Summarize(plans, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned, Author: "alice", Requested: []string{"bob"}})
	return s, RenderComment(s, v, sizeMeta, CommentLimit)
}

var (
	detailsBodyRe = regexp.MustCompile(`(?s)</summary>.*?</details>`)
	factsLineRe   = regexp.MustCompile(`(?m)^<!-- tasuki:plan-facts .*$`)
)

// firstScreen is what a reviewer sees with every block collapsed.
func firstScreen(body string) string {
	return detailsBodyRe.ReplaceAllString(factsLineRe.ReplaceAllString(body, ""), "</summary></details>")
}

// mentions counts the places below the verdict section where addr stands
// as a whole address.
func mentions(body, addr string) int {
	below := body[strings.Index(body, VerdictEnd):]
	n := 0
	for i := 0; ; {
		j := strings.Index(below[i:], addr)
		if j < 0 {
			return n
		}
		at := i + j
		end := at + len(addr)
		if at > 0 && strings.ContainsRune(" `>", rune(below[at-1])) && end < len(below) && strings.ContainsRune(":`<", rune(below[end])) {
			n++
		}
		i = end
	}
}

// TestCommentSizes renders the comment for plans of 1, 10, 55 (a real
// plan), 500 and 2,000 changes into golden files, reviewed as a reviewer
// reads them, and checks what the issue asks of each: under GitHub's
// limit; the first screen (every block collapsed) shows the verdict, the
// counts and every destroy and replace; below the verdict each address
// appears once, while it fits; one collapsed block per module (plus one
// per destroy with a diff); and what is left out is counted.
func TestCommentSizes(t *testing.T) {
	for _, c := range []struct {
		name  string
		n     int // 0: the real 55-create plan
		whole bool
	}{
		{"size-1", 1, true}, {"size-10", 10, true}, {"size-55-creates-checkov", 0, true}, {"size-500", 500, false}, {"size-2000", 2000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p *Plan
			if c.n == 0 {
				p = readFixture(t, "checkov-55-creates-tf012.json")
				p.Dir = "infra/app"
			} else {
				var err error
				if p, err = ReadPlan(bytes.NewReader(sizePlan(c.n)), "plan.json"); err != nil {
					t.Fatal(err)
				}
				p.Dir = "infra/app"
			}
			s, body := sizeComment([]*Plan{p})
			if len(body) > CommentLimit {
				t.Fatalf("comment of %d bytes", len(body))
			}
			checkMarkdown(t, body)
			screen := firstScreen(body)
			for _, want := range []string{"Plan review: ", "| `infra/app` | " + strconv.Itoa(s.Counts.Create) + " | " + strconv.Itoa(s.Counts.Update)} {
				if !strings.Contains(screen, want) {
					t.Errorf("first screen lacks %q", want)
				}
			}
			modules := map[string]bool{}
			destroysWithDiff := 0
			for _, ch := range p.Changes {
				if isDestroy(&ch) {
					if !strings.Contains(screen, "`"+ch.Address+"`") && !strings.Contains(screen, "<code>"+ch.Address+"</code>") {
						t.Errorf("first screen lacks destroy %s", ch.Address)
					}
					if len(ch.Attrs) > 0 {
						destroysWithDiff++
					}
				} else {
					modules[ch.Module] = true
				}
				if c.whole {
					if n := mentions(body, ch.Address); n != 1 {
						t.Errorf("%s appears %d times below the verdict", ch.Address, n)
					}
				}
			}
			if c.whole {
				if got, want := strings.Count(body, "<details>"), len(modules)+destroysWithDiff; got != want {
					t.Errorf("%d collapsed blocks, want %d (one per module, one per destroy with a diff)", got, want)
				}
			} else if !strings.Contains(body, "_Not shown here, to fit GitHub's size limit: ") || !strings.Contains(body, "All of it is in the [job summary]") {
				t.Errorf("a cut comment does not say what it left out and where it is")
			}
			golden.Assert(t, filepath.Join("testdata", "golden", c.name+".golden.md"), body)
			t.Logf("%d changes: %d bytes, %d collapsed blocks", len(p.Changes), len(body), strings.Count(body, "<details>"))
		})
	}
}

var (
	tableRowRe   = regexp.MustCompile("(?m)^\\| `[^`]+` \\| (\\d+) \\| (\\d+) \\| (\\d+) \\| (\\d+) \\|")
	destroysRe   = regexp.MustCompile(`(?m)^### Destroy and replace \((\d+)\)$`)
	otherRe      = regexp.MustCompile(`(?m)^### (?:Other changes|Changes) \((\d+)\)$`)
	notShownRe   = regexp.MustCompile(`the addresses and attributes of (\d+) changes? that destroys? nothing`)
	createAttrRe = regexp.MustCompile(`the attributes of (\d+) creates?`)
)

// TestCommentCountsAreTrue: on generated plans up to 20,000 changes, every
// number the comment states (the counts table, the destroy and other
// change headings, what it left out) is the plan's, and the comment stays
// under GitHub's limit.
func TestCommentCountsAreTrue(t *testing.T) {
	for _, n := range []int{1, 10, 55, 500, 2000, 20000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			p, err := ReadPlan(bytes.NewReader(sizePlan(n)), "plan.json")
			if err != nil {
				t.Fatal(err)
			}
			var want [4]int // create, update, replace, delete
			for i := 0; i < n; i++ {
				switch _, _, _, a := sizeChange(i, n); a {
				case ActionCreate:
					want[0]++
				case ActionUpdate:
					want[1]++
				case ActionReplace:
					want[2]++
				case ActionDelete:
					want[3]++
				}
			}
			_, body := sizeComment([]*Plan{p})
			if len(body) > CommentLimit {
				t.Fatalf("comment of %d bytes", len(body))
			}
			m := tableRowRe.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no counts row")
			}
			for i := range want {
				if got, _ := strconv.Atoi(m[i+1]); got != want[i] {
					t.Errorf("counts row %q, plan holds create/update/replace/delete %v", m[0], want)
				}
			}
			num := func(re *regexp.Regexp) int {
				if m := re.FindStringSubmatch(body); m != nil {
					v, _ := strconv.Atoi(m[1])
					return v
				}
				return -1
			}
			if got, w := num(destroysRe), want[2]+want[3]; w > 0 && got != w {
				t.Errorf("destroy heading says %d, plan holds %d", got, w)
			}
			if got, w := num(otherRe), want[0]+want[1]; got != w {
				t.Errorf("other changes heading says %d, plan holds %d", got, w)
			}
			if got := num(notShownRe); got >= 0 && got != want[0]+want[1] {
				t.Errorf("says %d changes are not shown, plan holds %d", got, want[0]+want[1])
			}
			if got := num(createAttrRe); got >= 0 && got != want[0] {
				t.Errorf("says the attributes of %d creates are not shown, plan holds %d", got, want[0])
			}
		})
	}
}
