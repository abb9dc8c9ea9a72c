package review

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// variedPlans is genPlans with imports, moves, data sources and modules
// mixed in, written as `terraform show -json` text; for n < 0, genPlans(-n)
// as it is.
func variedPlans(n int) (plans []*Plan, texts [][]byte) {
	plans = genPlans(max(n, -n))
	for i, p := range plans {
		for j := range p.Changes {
			if n < 0 {
				break
			}
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
		texts = append(texts, planJSON(p))
	}
	return plans, texts
}

// readBoth reads texts in full and through one CommentKeep (with caps
// when maxDestroys > 0) and summarises both as the comment path does.
func readBoth(t *testing.T, plans []*Plan, texts [][]byte, cfg Config, maxDestroys, maxOthers int) (full, kept Summary) {
	t.Helper()
	ck := NewCommentKeep(cfg)
	if maxDestroys > 0 {
		ck.maxDestroys, ck.maxOthers = maxDestroys, maxOthers
	}
	var fps, kps []*Plan
	for i, text := range texts {
		fp, err := ReadPlan(bytes.NewReader(text), plans[i].Source)
		if err != nil {
			t.Fatal(err)
		}
		kp, err := ReadPlanWith(bytes.NewReader(text), plans[i].Source, ReadOptions{Keep: ck.Keep})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []*Plan{fp, kp} {
			q.Workspace, q.Dir = plans[i].Workspace, plans[i].Dir
		}
		fps, kps = append(fps, fp), append(kps, kp)
	}
	full, kept = Summarize(fps, cfg), Summarize(kps, cfg)
	ck.Apply(&kept)
	return full, kept
}

func renderAll(s Summary, cfg Config) (comment, title, summary string) {
	v := Evaluate(s, cfg, ApprovalFacts{HeadSHA: vPlanned, PlannedSHA: vPlanned, Author: "alice"})
	title, summary, _ = RenderCheck(s, v, sizeMeta)
	return RenderComment(s, v, sizeMeta, CommentLimit), title, summary
}

// TestCommentKeepSameComment: on plans of up to 20,000 changes, more than
// KeptOthers of them listed ones, the comment and the check run's title
// and summary rendered from a CommentKeep read are byte for byte those
// rendered from a full read: the caps are above what the comment shows,
// and what was not kept is counted exactly.
func TestCommentKeepSameComment(t *testing.T) {
	if testing.Short() {
		t.Skip("reads plans of 20,000 changes twice")
	}
	all := DefaultConfig()
	all.RequireSecondReviewerFor.Actions = []string{"create", "update", "delete", "replace", "read", "forget", "import", "move"}
	sized := func(n int) ([]*Plan, [][]byte) {
		return []*Plan{{Source: "plan.json"}}, [][]byte{sizePlan(n)}
	}
	for _, c := range []struct {
		name  string
		cfg   Config
		plans func() ([]*Plan, [][]byte)
		// unkept says some changes must be left out, so that the
		// case tests counting rather than keeping everything.
		unkept bool
	}{
		{"varied 2100 default", DefaultConfig(), func() ([]*Plan, [][]byte) { return variedPlans(2100) }, false},
		{"varied 20000 default", DefaultConfig(), func() ([]*Plan, [][]byte) { return variedPlans(20000) }, true},
		{"varied 20000 every action", all, func() ([]*Plan, [][]byte) { return variedPlans(20000) }, true},
		{"estate 20000", DefaultConfig(), func() ([]*Plan, [][]byte) { return sized(20000) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			plans, texts := c.plans()
			full, kept := readBoth(t, plans, texts, c.cfg, 0, 0)
			unkept := 0
			for _, p := range kept.Plans {
				unkept += len(p.UnkeptListed)
			}
			if c.unkept != (unkept > 0) {
				t.Fatalf("unkept groups: %d", unkept)
			}
			if full.Counts != kept.Counts {
				t.Fatalf("counts %+v, kept %+v", full.Counts, kept.Counts)
			}
			wc, wt, ws := renderAll(full, c.cfg)
			gc, gt, gs := renderAll(kept, c.cfg)
			for _, d := range []struct{ what, want, got string }{{"comment", wc, gc}, {"check title", wt, gt}, {"check summary", ws, gs}} {
				if d.want != d.got {
					t.Errorf("%s differs from a full read's:\n%s", d.what, firstDiff(d.want, d.got))
				}
			}
		})
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\nfull: %s\nkept: %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, kept %d", len(al), len(bl))
}

var (
	keepHeadingRe = regexp.MustCompile(`(?m)^### (Destroy and replace|Changes in .*?|Other changes|Changes) \((\d+)\)$`)
	notNamedRe    = regexp.MustCompile(`…and (\d+) more destroys and replaces not named here\.`)
)

// TestCommentKeepOverCaps: on plans with more changes than the caps, the
// comment, from what was kept, states every count as the plans hold it
// (the table, the headings, the counts per module and type, the verdict's
// reasons), and names what it does not list and where all of it is.
func TestCommentKeepOverCaps(t *testing.T) {
	cfg := DefaultConfig()
	plans, texts := variedPlans(-2100) // truth reads these

	full, kept := readBoth(t, plans, texts, cfg, 40, 60)
	n := 0
	for _, p := range kept.Plans {
		n += len(p.Changes)
	}
	if n > 40+60+len(kept.Risky)+50 {
		t.Fatalf("kept %d changes", n)
	}
	for i, fp := range full.Plans {
		kp := kept.Plans[i]
		if fp.Counts() != kp.Counts() {
			t.Errorf("plan %d: counts %+v, kept %+v", i, fp.Counts(), kp.Counts())
		}
		fg, kg := groupByModule(fp), groupByModule(kp)
		if fg.shown != kg.shown || fmt.Sprint(fg.types) != fmt.Sprint(kg.types) {
			t.Errorf("plan %d: %d shown, types %v; kept: %d, %v", i, fg.shown, fg.types, kg.shown, kg.types)
		}
		if len(fg.groups) != len(kg.groups) {
			t.Fatalf("plan %d: %d module groups, kept %d", i, len(fg.groups), len(kg.groups))
		}
		for j, g := range fg.groups {
			if k := kg.groups[j]; g.module != k.module || g.counts != k.counts || g.byType != k.byType {
				t.Errorf("plan %d module %q: %s (%s); kept %q: %s (%s)", i, g.module, g.counts, g.byType, k.module, k.counts, k.byType)
			}
		}
	}
	body, _, summary := renderAll(kept, cfg)
	for _, text := range []string{body, summary} {
		// Headings: destroys over all plans, the others per plan.
		destroys := full.Counts.Delete + full.Counts.Replace
		for i, m := range keepHeadingRe.FindAllStringSubmatch(text, -1) {
			got, _ := strconv.Atoi(m[2])
			want := destroys
			if m[1] != "Destroy and replace" {
				want = groupByModule(full.Plans[i-1]).shown
			}
			if got != want {
				t.Errorf("heading %q, plans hold %d", m[0], want)
			}
		}
		m := notNamedRe.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("does not say how many destroys it leaves unnamed:\n%s", text)
		}
		if got, _ := strconv.Atoi(m[1]); got < destroys-40 || got >= destroys {
			t.Errorf("%s, of %d destroys and %d kept", m[0], destroys, 40)
		}
		if !strings.Contains(text, "All of it is in the [job summary]("+sizeMeta.JobSummaryURL+") and the workflow artifact `"+sizeMeta.ArtifactName+"`.") {
			t.Errorf("does not say where all of it is:\n%s", text)
		}
	}
	if got, want := verdictCounts(t, VerdictSection(body)), truth(plans); !mapsEqual(got, want) {
		t.Errorf("verdict counts %v, plans hold %v", got, want)
	}
	// The check run's text lists attribute changes of kept changes only,
	// and says so.
	_, _, text := RenderCheck(kept, Evaluate(kept, cfg, ApprovalFacts{}), sizeMeta)
	unkept := 0
	for i, fp := range full.Plans {
		for _, ps := range []struct {
			p    *Plan
			sign int
		}{{fp, 1}, {kept.Plans[i], -1}} {
			for j := range ps.p.Changes {
				if ch := &ps.p.Changes[j]; ch.Action != ActionNoOp || ch.Moved() || ch.Importing {
					unkept += ps.sign
				}
			}
		}
	}
	if want := fmt.Sprintf("_%d more changes not listed: the plan is too big to list here.", unkept); unkept == 0 || !strings.Contains(text, want) {
		t.Errorf("check text lacks %q", want)
	}
}

// TestCommentKeepRetainedMemory: read through a CommentKeep, a plan
// retains what the caps allow, not more as the plan grows.
func TestCommentKeepRetainedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 50,000 generated changes")
	}
	const small, big = 10000, 40000
	keep := func() ReadOptions {
		ck := NewCommentKeep(DefaultConfig())
		ck.maxDestroys, ck.maxOthers = 1000, 1000
		return ReadOptions{Keep: ck.Keep}
	}
	rs, ps := retained(t, small, keep)
	rb, pb := retained(t, big, keep)
	t.Logf("comment read: %d bytes retained at %d changes, %d at %d", rs, small, rb, big)
	if ps.Counts() == pb.Counts() || len(pb.Changes) > 2000+50 {
		t.Fatalf("counts %+v and %+v, %d changes kept", ps.Counts(), pb.Counts(), len(pb.Changes))
	}
	// A full read of 40,000 changes retains some 18 MB.
	if rb > rs+rs/4 || rb > 2000*750 {
		t.Errorf("comment read retains %d bytes at %d changes, %d at %d: it must not grow with the plan past the caps", rb, big, rs, small)
	}
	runtime.KeepAlive(ps)
	runtime.KeepAlive(pb)
}
