package review

import (
	"fmt"
	"strings"
	"testing"
)

// TestWhoMayApprove: while an approval is still to come, the verdict says
// who may give it: the configured approvers, or GitHub's default (write
// access) less whom the policy excludes; and which of the reviewers the
// pull request already requested could give it.
func TestWhoMayApprove(t *testing.T) {
	plan := &Plan{Changes: []Change{{Address: "aws_iam_role.ci", Type: "aws_iam_role", Mode: "managed", Action: ActionDelete}}}
	noPushers := DefaultConfig()
	noPushers.ExcludePushers = false
	nobody := DefaultConfig()
	nobody.ExcludeAuthor, nobody.ExcludePushers = false, false
	base := ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned, Author: "alice", Pushers: []string{"alice", "Carol"},
		Requested: []string{"bob", "alice", "carol", "acme/sre"}}
	configured := base
	configured.WhoMayApprove = []string{"@acme/sre", "@dave"}
	stale := base
	stale.HeadSHA = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
	approved := base
	approved.Reviews = []Review{{User: "bob", State: "APPROVED", CommitID: vPlanned}}
	for _, c := range []struct {
		name string
		cfg  Config
		af   ApprovalFacts
		want string // the line before the end marker; "" for none
	}{
		{"default: the author and pushers excluded, requested named", DefaultConfig(), base,
			"Who may approve: anyone with write access except the author and anyone who pushed commits to the pull request. Already requested: `bob`, `acme/sre`."},
		{"pushers not excluded", noPushers, base,
			"Who may approve: anyone with write access except the author. Already requested: `bob`, `carol`, `acme/sre`."},
		{"nobody excluded", nobody, ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned},
			"Who may approve: anyone with write access."},
		{"configured: only requested reviewers they name", DefaultConfig(), configured,
			"Who may approve: `@acme/sre`, `@dave`. Already requested: `acme/sre`."},
		{"stale: still said", DefaultConfig(), stale,
			"Who may approve: anyone with write access except the author and anyone who pushed commits to the pull request. Already requested: `bob`, `acme/sre`."},
		{"approved: not said", DefaultConfig(), approved, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Summarize([]*Plan{plan}, c.cfg)
			v := Evaluate(s, c.cfg, c.af)
			sec := RenderVerdict(FactsOf(s, vPlanned), v, c.af.HeadSHA)
			lines := strings.Split(strings.TrimSuffix(sec, "\n"), "\n")
			got := lines[len(lines)-3]
			if !strings.HasPrefix(got, "Who may approve") {
				got = ""
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q\nin:\n%s", got, c.want, sec)
			}
			checkMarkdown(t, sec)
		})
	}
}

// TestWhoMayApproveBounded: however many and long the requested reviewers
// on top of the longest other lists, the section stays within
// MaxVerdictBytes; the requested reviewers go first.
func TestWhoMayApproveBounded(t *testing.T) {
	f := Facts{V: FactsVersion, PlannedSHA: vPlanned, Counts: Counts{Delete: 1}, Risky: []Risk{{Address: "aws_iam_role.ci", Action: ActionDelete, Why: "delete"}}}
	v := Verdict{State: StateActionRequired, NeedsSecondReviewer: true, Required: 40}
	long := func(prefix string, i int) string {
		return fmt.Sprintf("%s-%02d-%s", prefix, i, strings.Repeat("x", 100))
	}
	for i := range 40 {
		v.ApprovedBy = append(v.ApprovedBy, long("approver", i))
		v.Ignored = append(v.Ignored, IgnoredApproval{User: long("ignored", i), Why: strings.Repeat("w", 200)})
		v.WhoMayApprove = append(v.WhoMayApprove, long("@acme/team", i))
		v.Requested = append(v.Requested, long("acme/requested", i))
	}
	sec := RenderVerdict(f, v, vPlanned)
	if len(sec) > MaxVerdictBytes {
		t.Fatalf("section of %d bytes, max %d", len(sec), MaxVerdictBytes)
	}
	if strings.Contains(sec, "Already requested") {
		t.Errorf("requested reviewers kept in a section at its bound: the case does not test the fallback")
	}
	if !strings.Contains(sec, "Who may approve: ") || !strings.HasSuffix(sec, VerdictEnd+"\n") {
		t.Errorf("section:\n%s", sec)
	}
}
