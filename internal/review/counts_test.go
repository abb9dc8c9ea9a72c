package review

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// genPlans builds n changes spread over plans in three workspaces, with
// deletes, replaces and IAM, database and security group types mixed in.
func genPlans(n int) []*Plan {
	types := []string{"aws_instance", "aws_iam_role", "aws_db_instance", "aws_security_group", "aws_s3_bucket", "aws_rds_cluster"}
	actions := []Action{ActionCreate, ActionUpdate, ActionDelete, ActionReplace, ActionUpdate, ActionNoOp, ActionCreate}
	var plans []*Plan
	for i := 0; i < n; i++ {
		if i%700 == 0 {
			ws := []string{"prod", "staging", "prod-eu"}[len(plans)%3]
			plans = append(plans, &Plan{Source: fmt.Sprintf("p%d.json", len(plans)), Workspace: ws, Dir: fmt.Sprintf("infra/%s-%d", ws, len(plans))})
		}
		p := plans[len(plans)-1]
		typ := types[(i*7)%len(types)]
		p.Changes = append(p.Changes, Change{
			Address: fmt.Sprintf("module.m%d.%s.r[%d]", i%13, typ, i),
			Type:    typ, Mode: "managed", Action: actions[(i*3)%len(actions)],
		})
	}
	return plans
}

// truth counts, straight from the plans, what each verdict line must say
// under DefaultConfig.
func truth(plans []*Plan) map[string]int {
	out := map[string]int{}
	dbRe := regexp.MustCompile(`(?i)(^|_)(db|rds|sql|database)`)
	ws := map[string]bool{}
	for _, p := range plans {
		if strings.Contains(p.Workspace, "prod") && !ws[p.Workspace] {
			ws[p.Workspace] = true
			out["production workspace"]++
		}
		if strings.Contains(p.Dir, "prod") {
			out["production directory"]++
		}
		for _, ch := range p.Changes {
			switch ch.Action {
			case ActionDelete:
				out["delete"]++
			case ActionReplace:
				out["replace"]++
			}
			if ch.Action == ActionNoOp {
				continue
			}
			switch {
			case strings.Contains(ch.Type, "iam"):
				out["IAM"]++
			case strings.Contains(ch.Type, "security_group"):
				out["security group"]++
			case dbRe.MatchString(ch.Type):
				out["database"]++
			}
		}
	}
	return out
}

var (
	verdictReason = regexp.MustCompile("^- ([^:`]+?)(?::| `)")
	codeSpan      = regexp.MustCompile("`[^`]*`")
	moreCount     = regexp.MustCompile(`(?: and |: )(\d+)(?: more| changes?| plans?)?$`)
)

// verdictCounts reads each reason line of a verdict section: its reason
// and how many changes (or plans) it lists plus says are more.
func verdictCounts(t *testing.T, sec string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(sec, "\n") {
		m := verdictReason.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, "not named here") || strings.Contains(line, "not listed here") {
			continue
		}
		rest := strings.TrimPrefix(line, m[0])
		listed := len(codeSpan.FindAllString(line[len("- "+m[1]):], -1))
		more := 0
		if mm := moreCount.FindStringSubmatch(codeSpan.ReplaceAllString(":"+rest, "")); mm != nil {
			more, _ = strconv.Atoi(mm[1])
		}
		out[m[1]] = listed + more
	}
	return out
}

// TestVerdictCountsAreTrue: on plans of up to 20,000 changes, every reason
// line of the verdict, in the comment and as the App renders it again from
// the hidden block, names or counts exactly as many changes as the plans
// hold for that reason, and says where the unnamed ones are.
func TestVerdictCountsAreTrue(t *testing.T) {
	cfg := DefaultConfig()
	m := Meta{Repo: "acme/infra", PR: 7, HeadSHA: vPlanned, PlannedSHA: vPlanned,
		JobSummaryURL: "https://github.com/acme/infra/actions/runs/1", ArtifactName: "tasuki-plans"}
	for _, n := range []int{10, 300, 2000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			plans := genPlans(n)
			s := Summarize(plans, cfg)
			v := Evaluate(s, cfg, ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned})
			body := RenderComment(s, v, m, CommentLimit)
			f, _, err := DecodeFacts(body)
			if err != nil {
				t.Fatal(err)
			}
			sec := VerdictSection(body)
			if again := RenderVerdict(f, v, vPlanned); again != sec {
				t.Fatalf("the App's section differs from the comment's:\n%s\n---\n%s", again, sec)
			}
			want := truth(plans)
			if got := verdictCounts(t, sec); !mapsEqual(got, want) {
				t.Errorf("verdict counts %v, plans hold %v:\n%s", got, want, sec)
			}
			if f.RiskyOmitted > 0 {
				for _, w := range []string{fmt.Sprintf("%d risky changes not named here: all are in the [job summary](%s)", f.RiskyOmitted, m.JobSummaryURL), "`tasuki-plans`"} {
					if !strings.Contains(sec, w) {
						t.Errorf("section lacks %q:\n%s", w, sec)
					}
				}
			}
			if n == 20000 && f.RiskyOmitted == 0 {
				t.Errorf("20,000 changes fit the hidden block: the case does not test cut facts")
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRuleNames: the verdict names rules in words: default patterns by
// their names, configured names as given, unnamed patterns by their words.
func TestRuleNames(t *testing.T) {
	cfg := DefaultConfig()
	tr := &cfg.RequireSecondReviewerFor
	tr.ResourceTypePatterns = append(tr.ResourceTypePatterns, `(?i)(^|_)(kms|acm)`, `^aws_secret.*version$`, `(?i)route53`)
	tr.Names = map[string]string{`(?i)route53`: "DNS"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := &Plan{Workspace: "prod", Changes: []Change{
		{Address: "aws_db_instance.main", Type: "aws_db_instance", Mode: "managed", Action: ActionDelete},
		{Address: "aws_kms_key.k", Type: "aws_kms_key", Mode: "managed", Action: ActionUpdate},
		{Address: "aws_secretsmanager_secret_version.s", Type: "aws_secretsmanager_secret_version", Mode: "managed", Action: ActionUpdate},
		{Address: "aws_route53_record.www", Type: "aws_route53_record", Mode: "managed", Action: ActionUpdate},
	}}
	got := riskReasons(Summarize([]*Plan{p}, cfg))
	want := []string{
		"delete: aws_db_instance.main",
		"database: aws_db_instance.main",
		"production workspace prod",
		"kms or acm: aws_kms_key.k",
		"pattern ^aws_secret.*version$: aws_secretsmanager_secret_version.s",
		"DNS: aws_route53_record.www",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reasons:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	bad := DefaultConfig()
	bad.RequireSecondReviewerFor.Names = map[string]string{`(?i)nope`: "x", `(?i)iam`: "a, b"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "not one of the patterns") || !strings.Contains(err.Error(), "is not a name") {
		t.Errorf("Validate = %v, want both names refused", err)
	}
}
