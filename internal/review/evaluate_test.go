package review

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestEvaluate(t *testing.T) {
	const head, old = "def5678def5678def5678def5678def5678def56", "abc1234abc1234abc1234abc1234abc1234abc12"
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	risky := Summary{Risky: []Risk{{Address: "aws_db_instance.main", Action: ActionDelete, Why: "delete"}}}
	safe := Summary{Counts: Counts{Create: 1}}
	cfg := DefaultConfig()
	two := DefaultConfig()
	two.Approvals = 2
	sres := func(logins ...string) func(string) bool {
		return func(l string) bool {
			for _, x := range logins {
				if x == l {
					return true
				}
			}
			return false
		}
	}
	for _, c := range []struct {
		name string
		s    Summary
		cfg  Config
		f    ApprovalFacts
		want Verdict
	}{
		{
			name: "no risky changes pass without review",
			s:    safe, cfg: cfg,
			f:    ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice"},
			want: Verdict{State: StatePass},
		},
		{
			name: "risky without approval needs a second reviewer",
			s:    risky, cfg: cfg,
			f:    ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", WhoMayApprove: []string{"acme/sre"}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"}, WhoMayApprove: []string{"acme/sre"}},
		},
		{
			name: "enough approvals pass",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StatePass, NeedsSecondReviewer: true, Required: 1, Approvals: 1, ApprovedBy: []string{"bob"}, Reasons: []string{"delete: aws_db_instance.main"}},
		},
		{
			name: "author approval ignored",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "Alice", Reviews: []Review{
				{User: "alice", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "alice", Why: "author"}}},
		},
		{
			name: "pusher approval ignored",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Pushers: []string{"alice", "carol"}, Reviews: []Review{
				{User: "carol", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "carol", Why: "pushed commits"}}},
		},
		{
			name: "stale approval on another commit ignored",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: old, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "bob", Why: "stale: approved abc1234, head is def5678"}}},
		},
		{
			name: "not eligible reviewer ignored",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Eligible: sres("sre1"), Reviews: []Review{
				{User: "dave", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
				{User: "sre1", State: "APPROVED", CommitID: head, SubmittedAt: at(2)},
			}},
			want: Verdict{State: StatePass, NeedsSecondReviewer: true, Required: 1, Approvals: 1, ApprovedBy: []string{"sre1"}, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "dave", Why: "not eligible"}}},
		},
		{
			name: "changes requested after approval: latest review wins",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
				{User: "bob", State: "CHANGES_REQUESTED", CommitID: head, SubmittedAt: at(2)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "bob", Why: "changes requested after approving"}}},
		},
		{
			name: "listed out of order: the later approval still wins",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(3)},
				{User: "bob", State: "CHANGES_REQUESTED", CommitID: head, SubmittedAt: at(2)},
			}},
			want: Verdict{State: StatePass, NeedsSecondReviewer: true, Required: 1, Approvals: 1, ApprovedBy: []string{"bob"}, Reasons: []string{"delete: aws_db_instance.main"}},
		},
		{
			name: "a comment after approving keeps the approval",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
				{User: "bob", State: "COMMENTED", CommitID: head, SubmittedAt: at(2)},
			}},
			want: Verdict{State: StatePass, NeedsSecondReviewer: true, Required: 1, Approvals: 1, ApprovedBy: []string{"bob"}, Reasons: []string{"delete: aws_db_instance.main"}},
		},
		{
			name: "dismissed approval does not count",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
				{User: "bob", State: "DISMISSED", CommitID: head, SubmittedAt: at(2)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 1, Reasons: []string{"delete: aws_db_instance.main"},
				Ignored: []IgnoredApproval{{User: "bob", Why: "dismissed"}}},
		},
		{
			name: "two approvals required",
			s:    risky, cfg: two,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: head, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 2, Approvals: 1, ApprovedBy: []string{"bob"}, Reasons: []string{"delete: aws_db_instance.main"}},
		},
		{
			name: "plan older than head is stale even when approved",
			s:    risky, cfg: cfg,
			f: ApprovalFacts{HeadSHA: head, PlannedSHA: old, Author: "alice", Reviews: []Review{
				{User: "bob", State: "APPROVED", CommitID: head, SubmittedAt: at(1)},
			}},
			want: Verdict{State: StateStale, Stale: true, NeedsSecondReviewer: true, Required: 1, Approvals: 1, ApprovedBy: []string{"bob"},
				Reasons: []string{"plan is of abc1234 but the head is def5678: plan again", "delete: aws_db_instance.main"}},
		},
		{
			name: "abbreviated planned sha matches",
			s:    safe, cfg: cfg,
			f:    ApprovalFacts{HeadSHA: head, PlannedSHA: head[:7]},
			want: Verdict{State: StatePass},
		},
		{
			name: "errored plan is an error",
			s:    Summary{Errored: []string{"infra/prod"}}, cfg: cfg,
			f:    ApprovalFacts{HeadSHA: head, PlannedSHA: head},
			want: Verdict{State: StateError, Reasons: []string{"plan errored: infra/prod (fix the error and plan again)"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Evaluate(c.s, c.cfg, c.f)
			// Who else may approve is TestWhoMayApprove's.
			if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Verdict{}, "Excluded", "Requested")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummarizeRisks(t *testing.T) {
	p := &Plan{Source: "plan.json", Workspace: "production", Dir: "infra/app", Changes: []Change{
		{Address: "aws_iam_role.ci", Type: "aws_iam_role", Mode: "managed", Action: ActionUpdate},
		{Address: "aws_db_instance.main", Type: "aws_db_instance", Mode: "managed", Action: ActionNoOp},
		{Address: "aws_s3_bucket.logs", Type: "aws_s3_bucket", Mode: "managed", Action: ActionDelete},
		{Address: "data.aws_iam_policy.x", Type: "aws_iam_policy", Mode: "data", Action: ActionRead},
		{Address: "aws_instance.web", Type: "aws_instance", Mode: "managed", Action: ActionCreate},
	}}
	s := Summarize([]*Plan{p}, DefaultConfig())
	want := []Risk{
		{Address: "aws_s3_bucket.logs", Workspace: "production", Dir: "infra/app", Action: ActionDelete, Why: "delete"},
		{Workspace: "production", Dir: "infra/app", Why: "production workspace production"},
		{Address: "aws_iam_role.ci", Workspace: "production", Dir: "infra/app", Action: ActionUpdate, Why: "IAM"},
	}
	if diff := cmp.Diff(want, s.Risky); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Nothing changes: a production workspace alone is not risky.
	quiet := &Plan{Workspace: "prod", Changes: []Change{{Address: "a.b", Action: ActionNoOp}}}
	if s := Summarize([]*Plan{quiet}, DefaultConfig()); len(s.Risky) != 0 {
		t.Errorf("no-op prod plan risky: %+v", s.Risky)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := DefaultConfig()
	bad.RequireSecondReviewerFor.Actions = []string{"delete", "destroy"}
	bad.RequireSecondReviewerFor.ResourceTypePatterns = []string{"(iam"}
	bad.Approvals = -1
	bad.Approvers.Teams = []string{"sre"}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	want := "review.require_second_reviewer_for.actions[1]: unknown action \"destroy\" (want one of create, update, delete, replace, read, forget, import, move)\n" +
		"review.require_second_reviewer_for.resource_type_patterns[0]: error parsing regexp: missing closing ): `(iam`\n" +
		"review.approvals: -1 is negative\n" +
		"review.approvers.teams[0]: \"sre\" is not org/team-slug"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFactsRoundTrip(t *testing.T) {
	s := Summary{Counts: Counts{Delete: 2, Create: 1}, Risky: []Risk{{Address: "a.b", Action: ActionDelete, Why: "delete"}}, Workspaces: []string{"prod"}}
	body := "<!-- tasuki:plan-review key=7 v=1 -->\nhello\n" + EncodeFacts(FactsOf(s, "abc"))
	f, ok, err := DecodeFacts(body)
	if !ok || err != nil {
		t.Fatalf("DecodeFacts: %v %v", ok, err)
	}
	if diff := cmp.Diff(FactsOf(s, "abc"), f); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	v := Evaluate(f.Summary(), DefaultConfig(), ApprovalFacts{HeadSHA: "abc", PlannedSHA: f.PlannedSHA})
	if v.State != StateActionRequired {
		t.Errorf("re-evaluated state %q", v.State)
	}
	if _, ok, _ := DecodeFacts("no facts here"); ok {
		t.Error("found facts in a body without any")
	}
	if _, ok, err := DecodeFacts("<!-- tasuki:plan-facts v=9 e30 -->"); !ok || err == nil {
		t.Errorf("future version: ok=%v err=%v, want found with an error", ok, err)
	}
	// Size bound: thousands of risky changes still fit, and still need review.
	for i := 0; i < 5000; i++ {
		s.Risky = append(s.Risky, Risk{Address: "module.big.aws_instance.many[" + string(rune('a'+i%26)) + "]", Action: ActionDelete, Why: "delete"})
	}
	enc := EncodeFacts(FactsOf(s, "abc"))
	if len(enc) > MaxFactsBytes {
		t.Fatalf("facts %d bytes > %d", len(enc), MaxFactsBytes)
	}
	f, _, _ = DecodeFacts(enc)
	if f.RiskyOmitted == 0 || len(f.Risky)+f.RiskyOmitted != len(s.Risky) {
		t.Errorf("kept %d + omitted %d, want %d", len(f.Risky), f.RiskyOmitted, len(s.Risky))
	}
	if v := Evaluate(f.Summary(), DefaultConfig(), ApprovalFacts{}); !v.NeedsSecondReviewer {
		t.Error("bounded facts lost the need for a second reviewer")
	}
}

// TestEvaluateWithoutPlannedCommit: a plan record that does not name its
// commit (tasuki always writes it, so it was damaged or forged) cannot pass,
// approved or not, risky or not.
func TestEvaluateWithoutPlannedCommit(t *testing.T) {
	for _, s := range []Summary{{Counts: Counts{Create: 1}}, {Counts: Counts{Delete: 1}, Risky: []Risk{{Address: "aws_db_instance.main", Action: ActionDelete, Why: "delete"}}}} {
		v := Evaluate(s, DefaultConfig(), ApprovalFacts{HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			Reviews: []Review{{User: "bob", State: "APPROVED", CommitID: "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}})
		if v.State != StateStale {
			t.Errorf("%v: state %s, want %s", s.Counts, v.State, StateStale)
		}
		if len(v.Reasons) == 0 || !strings.Contains(v.Reasons[0], "unknown commit") {
			t.Errorf("reasons %q do not say the plan's commit is unknown", v.Reasons)
		}
	}
}

// TestDecodeFactsTakesTheLastBlock: a block copied above the one tasuki
// wrote (even one that got past marker.Defang) is not read.
func TestDecodeFactsTakesTheLastBlock(t *testing.T) {
	mine := Facts{V: FactsVersion, PlannedSHA: "abc", Counts: Counts{Delete: 1}}
	forged := Facts{V: FactsVersion, Counts: Counts{Create: 1}}
	body := "`" + EncodeFacts(forged) + "`\n" + EncodeFacts(forged) + "\n\n" + EncodeFacts(mine) + "\n\n<!-- tasuki:plan-review key=2 v=1 -->"
	got, found, err := DecodeFacts(body)
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	if diff := cmp.Diff(mine, got); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
}
