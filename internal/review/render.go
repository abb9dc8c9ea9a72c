package review

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// Size limits of GitHub bodies, in characters (tasuki counts bytes, which
// are never fewer).
const (
	CommentLimit = 65536 // issue and pull request comments
	CheckLimit   = 65535 // check run output summary and text
)

// CheckName is the check run tasuki sets on the head commit.
const CheckName = "tasuki/plan-review"

// Meta is what RenderComment says about where the plan comes from.
type Meta struct {
	Repo          string // owner/name
	PR            int
	HeadSHA       string
	PlannedSHA    string // the commit the plan was made from
	RunURL        string // the workflow run (or TFC run) that made the plan
	ArtifactName  string // workflow artifact holding the full plan, if any
	JobSummaryURL string // where the full rendered review is, if any
}

// Detail levels, tried in order until the body fits.
const (
	levelFull      = iota // everything
	levelNoAttrs          // attribute diffs dropped
	levelGrouped          // no-risk changes as counts per module and type
	levelRiskyOnly        // destroy/replace addresses compact, the rest counts
	levelCount
)

// RenderComment renders the pull request comment for s and v in at most
// limit bytes (CommentLimit for comments), ending with the hidden
// plan-facts block. When the full text does not fit it degrades: attribute
// diffs go first, then no-risk addresses become counts per type; every
// destroy and replace address is kept as long as they alone fit, and the
// comment says what was cut and where the full text is.
//
// The comment opens with the verdict section (RenderVerdict of the facts
// the hidden block records), which the App later replaces with
// ReplaceVerdict as approvals and pushes come; room is left for a section
// of up to MaxVerdictBytes, so the replaced comment still fits in limit.
func RenderComment(s Summary, v Verdict, m Meta, limit int) string {
	f, facts := fitFacts(factsFor(s, m))
	sec := RenderVerdict(f, v, m.HeadSHA)
	out, _ := renderFitting(s, m, sec, limit-len(facts)-1-(MaxVerdictBytes-len(sec)))
	return out + "\n" + facts
}

// RenderCheck renders the tasuki/plan-review check run output: a title of
// one line, a summary within CheckLimit (the comment without the facts
// block) and, when the summary had to leave attribute diffs out, a text
// holding as many of them as fit in CheckLimit (otherwise empty).
//
// The summary opens with the same verdict section as the comment, and the
// title says the same in one line.
func RenderCheck(s Summary, v Verdict, m Meta) (title, summary, text string) {
	f, _ := fitFacts(factsFor(s, m))
	summary, lvl := renderFitting(s, m, RenderVerdict(f, v, m.HeadSHA), CheckLimit)
	if lvl > levelFull {
		text = renderDiffs(s, m, CheckLimit)
	}
	return checkTitle(s, v, m), summary, text
}

// renderDiffs renders the attribute diffs of s, change by change, as long
// as they fit in limit.
func renderDiffs(s Summary, m Meta, limit int) string {
	var b strings.Builder
	b.WriteString("### Attribute changes\n\n")
	const reserve = 512 // for block markup and the closing note
	cut := 0
	for _, p := range s.Plans {
		for _, g := range groupChanges(p).groups {
			title := g.typ
			if g.module != "" {
				title = g.module + " · " + g.typ
			}
			if len(s.Plans) > 1 {
				title = planLabel(p) + ": " + title
			}
			var d strings.Builder
			for _, ch := range g.changes {
				if len(ch.Attrs) == 0 {
					continue
				}
				t := diffText(ch)
				if cut > 0 || b.Len()+d.Len()+len(t)+len(title)*2 > limit-reserve {
					cut++
					continue
				}
				if d.Len() > 0 {
					d.WriteString("\n")
				}
				d.WriteString(t)
			}
			if d.Len() > 0 {
				writeDiffBlock(&b, title, d.String())
			}
		}
	}
	if cut > 0 {
		fmt.Fprintf(&b, "_Attribute changes of %d more resources left out to fit GitHub's size limit.", cut)
		if where := fullTextWhere(m); where != "" {
			fmt.Fprintf(&b, " The full review is in %s.", where)
		}
		b.WriteString("_\n")
	}
	return b.String()
}

// Conclusion maps a verdict state to a check run conclusion: success,
// action_required or failure.
func Conclusion(v Verdict) string {
	switch v.State {
	case StatePass:
		return "success"
	case StateActionRequired, StateStale:
		return "action_required"
	}
	return "failure"
}

func checkTitle(s Summary, v Verdict, m Meta) string {
	switch v.State {
	case StateError:
		return "Plan errored: " + strings.Join(s.Errored, ", ")
	case StateStale:
		return fmt.Sprintf("Plan of %s is stale: head is %s; a new plan is needed", shortSHA(m.PlannedSHA), shortSHA(m.HeadSHA))
	case StateActionRequired:
		return fmt.Sprintf("Needs a second reviewer (%d of %d approvals): %s", v.Approvals, v.Required, countsPhrase(s.Counts))
	}
	if v.NeedsSecondReviewer {
		return "Approved by " + strings.Join(v.ApprovedBy, ", ") + ": " + countsPhrase(s.Counts)
	}
	return "No risky changes: " + countsPhrase(s.Counts)
}

// renderFitting renders at the most detailed level that fits in limit and
// returns it with that level.
func renderFitting(s Summary, m Meta, sec string, limit int) (string, int) {
	pre := prepare(s)
	var out string
	for lvl := levelFull; lvl < levelCount; lvl++ {
		out = render(s, m, sec, pre, lvl, -1, limit)
		if len(out) <= limit {
			return out, lvl
		}
	}
	// Even the risky addresses alone do not fit: keep as many as fit.
	lo, hi := 0, len(pre.compact)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(render(s, m, sec, pre, levelRiskyOnly, mid, limit)) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	out = render(s, m, sec, pre, levelRiskyOnly, lo, -1)
	if len(out) > limit {
		out = mdtext.Truncate(out, limit)
	}
	return out, levelRiskyOnly
}

// destroyed is one delete or replace, with the plan it belongs to.
type destroyed struct {
	plan *Plan
	ch   *Change
}

func destroys(s Summary) []destroyed {
	var out []destroyed
	for _, p := range s.Plans {
		for i := range p.Changes {
			ch := &p.Changes[i]
			if ch.Action == ActionDelete || ch.Action == ActionReplace {
				out = append(out, destroyed{p, ch})
			}
		}
	}
	return out
}

// render renders at one detail level, opening with the verdict section
// sec; maxDestroys >= 0 caps the destroy list. It gives up early, returning
// something longer than stop, once the text grows past stop (stop < 0:
// never), so trying a level that cannot fit costs little.
func render(s Summary, m Meta, sec string, pre *prepared, lvl, maxDestroys, stop int) string {
	var b strings.Builder
	over := func() bool { return stop >= 0 && b.Len() > stop }
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	// The verdict section: the App replaces it on review and push events.
	b.WriteString(sec)
	b.WriteString("\n")
	b.WriteString(planOf(m))
	b.WriteString("\n\n")

	// Counts per plan.
	if len(s.Plans) > 0 {
		b.WriteString("| Plan | Create | Update | Replace | Delete | Other |\n|---|--:|--:|--:|--:|---|\n")
		for i, p := range s.Plans {
			c := pre.counts[i]
			label := mdtext.CodeCell(planLabel(p))
			if p.Errored {
				label += " (errored)"
			}
			w("| %s | %d | %d | %d | %d | %s |\n", label, c.Create, c.Update, c.Replace, c.Delete, mdtext.TableCell(otherPhrase(p, c)))
		}
		b.WriteString("\n")
	}
	for _, p := range s.Plans {
		if strings.HasPrefix(p.Encoding, "UTF-16") {
			w("> [!NOTE]\n> %s was %s-encoded (Windows PowerShell's `>` writes that); tasuki converted it.\n\n", mdtext.Code(planLabel(p)), p.Encoding)
		}
		if p.Errored {
			w("> [!CAUTION]\n> Terraform stopped with an error while planning %s, so this review is incomplete. Fix the error (see the run's log) and plan again.\n\n", mdtext.Code(planLabel(p)))
		} else if !p.Complete {
			w("> [!NOTE]\n> %s is incomplete: Terraform deferred some changes to a later plan.\n\n", mdtext.Code(planLabel(p)))
		}
	}

	// Destroys and replaces first, always by address.
	ds := pre.ds
	cutDestroys := 0
	if len(ds) > 0 {
		w("### Destroy and replace (%d)\n\n", len(ds))
		if maxDestroys >= 0 && maxDestroys < len(ds) && lvl < levelRiskyOnly {
			cutDestroys = len(ds) - maxDestroys
			ds = ds[:maxDestroys]
		}
		multi := len(s.Plans) > 1
		if lvl >= levelRiskyOnly {
			// Compact: instances of one resource collapse into one
			// address with an index list, so every address stays.
			entries := pre.compact
			if maxDestroys >= 0 && maxDestroys < len(entries) {
				for _, e := range entries[maxDestroys:] {
					cutDestroys += e.n
				}
				entries = entries[:maxDestroys]
			}
			for i, e := range entries {
				if over() {
					return b.String()
				}
				if i > 0 {
					b.WriteString(" · ")
				}
				b.WriteString(e.text)
			}
			b.WriteString("\n\n")
		} else {
			for _, d := range ds {
				if over() {
					return b.String()
				}
				w("- %s %s", actionIcon(d.ch.Action), mdtext.Code(d.ch.Address))
				if multi {
					w(" in %s", mdtext.Code(planLabel(d.plan)))
				}
				w(" **%s**", actionWord(d.ch))
				if why := reasonWords(d.ch.Reason); why != "" {
					w(": %s", mdtext.Text(why))
				}
				if len(d.ch.ReplacePaths) > 0 {
					w("; forced by %s", joinCode(d.ch.ReplacePaths))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		if cutDestroys > 0 {
			w("…and %d more destroy/replace not shown here (too many for one comment).\n\n", cutDestroys)
		}
	}

	// Everything, grouped by plan, module and type.
	for i, p := range s.Plans {
		if over() {
			return b.String()
		}
		renderChanges(&b, s, p, pre.groups[i], lvl, stop)
	}

	// Drift, outputs, checks, deferred.
	for _, p := range s.Plans {
		label := ""
		if len(s.Plans) > 1 {
			label = " in " + mdtext.Code(planLabel(p))
		}
		if len(p.Drift) > 0 {
			w("### Changed outside Terraform%s (%d)\n\n", label, len(p.Drift))
			if lvl >= levelGrouped {
				w("%s\n\n", typeCounts(p.Drift))
			} else {
				var withAttrs []Change
				for _, ch := range p.Drift {
					if over() {
						return b.String()
					}
					w("- %s %s\n", mdtext.Code(ch.Address), driftWord(ch.Action))
					if len(ch.Attrs) > 0 {
						withAttrs = append(withAttrs, ch)
					}
				}
				b.WriteString("\n")
				if lvl == levelFull && len(withAttrs) > 0 {
					writeDiffs(&b, "What changed outside Terraform", withAttrs)
				}
			}
		}
		if n := p.OutputsChanged(); n > 0 {
			w("### Outputs%s (%d changed)\n\n", label, n)
			if lvl >= levelGrouped {
				var names []string
				for _, o := range p.Outputs {
					if o.Action != ActionNoOp {
						names = append(names, o.Name)
					}
				}
				w("%s\n\n", joinCode(names))
			} else {
				b.WriteString("| Output | Change | Before | After |\n|---|---|---|---|\n")
				for _, o := range p.Outputs {
					if o.Action == ActionNoOp {
						continue
					}
					before, after := o.Before, o.After
					if lvl >= levelNoAttrs {
						before, after = "…", "…"
					}
					w("| %s | %s | %s | %s |\n", mdtext.CodeCell(o.Name), o.Action, mdtext.CodeCell(before), mdtext.CodeCell(after))
				}
				b.WriteString("\n")
			}
		}
		if len(p.Checks) > 0 {
			w("### Failed checks%s (%d)\n\n", label, len(p.Checks))
			for _, c := range p.Checks {
				w("- %s **%s**", mdtext.Code(c.Address), c.Status)
				if len(c.Problems) > 0 && lvl < levelRiskyOnly {
					w(": %s", mdtext.Text(mdtext.Truncate(strings.Join(c.Problems, "; "), 500)))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		if len(p.Deferred) > 0 {
			w("### Deferred to a later plan%s (%d)\n\n", label, len(p.Deferred))
			if lvl >= levelGrouped {
				w("%s\n\n", typeCounts(p.Deferred))
			} else {
				for _, ch := range p.Deferred {
					w("- %s %s", mdtext.Code(ch.Address), actionWord(&ch))
					if ch.Reason != "" {
						w(" (%s)", mdtext.Text(ch.Reason))
					}
					b.WriteString("\n")
				}
				b.WriteString("\n")
			}
		}
	}

	if lvl > levelFull || cutDestroys > 0 {
		var cut []string
		switch {
		case lvl >= levelRiskyOnly:
			cut = append(cut, "attribute diffs", "other changes' addresses", "destroy/replace reasons")
		case lvl >= levelGrouped:
			cut = append(cut, "attribute diffs", "addresses of changes that are not destroy or replace")
		default:
			cut = append(cut, "attribute diffs")
		}
		w("_Shortened to fit GitHub's size limit: %s left out.", strings.Join(cut, ", "))
		if where := fullTextWhere(m); where != "" {
			w(" The full review is in %s.", where)
		}
		b.WriteString("_\n")
	}
	return b.String()
}

func planOf(m Meta) string {
	var parts []string
	if m.PlannedSHA != "" {
		parts = append(parts, "Plan of "+mdtext.Code(shortSHA(m.PlannedSHA)))
	} else {
		parts = append(parts, "Plan of an unknown commit")
	}
	if u := safeURL(m.RunURL); u != "" {
		parts = append(parts, "[run]("+u+")")
	}
	if u := safeURL(m.JobSummaryURL); u != "" {
		parts = append(parts, "[full review]("+u+")")
	}
	return strings.Join(parts, " · ")
}

func fullTextWhere(m Meta) string {
	var w []string
	if u := safeURL(m.JobSummaryURL); u != "" {
		w = append(w, "the [job summary]("+u+")")
	} else if u := safeURL(m.RunURL); u != "" {
		w = append(w, "the [run's job summary]("+u+")")
	}
	if m.ArtifactName != "" {
		w = append(w, "the workflow artifact "+mdtext.Code(m.ArtifactName))
	}
	return strings.Join(w, " and ")
}

// safeURL returns u when it is an absolute http(s) URL, escaped so it
// cannot end the markdown link early; "" otherwise.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	s := p.String()
	r := strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", "`", "%60", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

// renderChanges writes p's changes grouped by module and resource type.
// changeGroup is the changes of one resource type in one module.
type changeGroup struct {
	module, typ string
	changes     []*Change
	counts      string // "2 create, 1 update"
}

// planGroups is what renderChanges shows of one plan, computed once per
// RenderComment rather than once per detail level tried.
type planGroups struct {
	shown  int
	groups []*changeGroup
}

// prepared holds what every detail level renders from.
type prepared struct {
	ds      []destroyed
	compact []compactEntry
	counts  []Counts
	groups  []planGroups
}

func prepare(s Summary) *prepared {
	pre := &prepared{ds: destroys(s)}
	pre.compact = compactDestroys(pre.ds)
	for _, p := range s.Plans {
		pre.counts = append(pre.counts, p.Counts())
		pre.groups = append(pre.groups, groupChanges(p))
	}
	return pre
}

func groupChanges(p *Plan) planGroups {
	var pg planGroups
	idx := map[[2]string]*changeGroup{}
	for i := range p.Changes {
		ch := &p.Changes[i]
		if ch.Action == ActionNoOp && !ch.Moved() && !ch.Importing {
			continue
		}
		pg.shown++
		k := [2]string{ch.Module, ch.Type}
		g := idx[k]
		if g == nil {
			g = &changeGroup{module: ch.Module, typ: ch.Type}
			idx[k] = g
			pg.groups = append(pg.groups, g)
		}
		g.changes = append(g.changes, ch)
	}
	sort.SliceStable(pg.groups, func(i, j int) bool {
		if pg.groups[i].module != pg.groups[j].module {
			return pg.groups[i].module < pg.groups[j].module
		}
		return pg.groups[i].typ < pg.groups[j].typ
	})
	for _, g := range pg.groups {
		g.counts = actionCounts(g.changes)
	}
	return pg
}

func renderChanges(b *strings.Builder, s Summary, p *Plan, pg planGroups, lvl, stop int) {
	if pg.shown == 0 {
		return
	}
	if len(s.Plans) > 1 {
		fmt.Fprintf(b, "### Changes in %s (%d)\n\n", mdtext.Code(planLabel(p)), pg.shown)
	} else {
		fmt.Fprintf(b, "### Changes (%d)\n\n", pg.shown)
	}
	groups := pg.groups
	if lvl >= levelRiskyOnly {
		// Space goes to destroy addresses: one line per type, all
		// modules together.
		byType := map[string][]*Change{}
		var types []string
		for _, g := range groups {
			if _, ok := byType[g.typ]; !ok {
				types = append(types, g.typ)
			}
			byType[g.typ] = append(byType[g.typ], g.changes...)
		}
		sort.Strings(types)
		for _, t := range types {
			fmt.Fprintf(b, "- %s: %s\n", mdtext.Code(t), actionCounts(byType[t]))
		}
		b.WriteString("\n")
		return
	}
	module := "\x00"
	for i, g := range groups {
		if stop >= 0 && b.Len() > stop {
			return
		}
		if g.module != module {
			module = g.module
			if module == "" {
				b.WriteString("#### Root module\n\n")
			} else {
				fmt.Fprintf(b, "#### %s\n\n", mdtext.Code(module))
			}
		}
		if lvl >= levelGrouped {
			fmt.Fprintf(b, "- %s: %s\n", mdtext.Code(g.typ), g.counts)
			if i+1 == len(groups) || groups[i+1].module != g.module {
				b.WriteString("\n")
			}
			continue
		}
		fmt.Fprintf(b, "%s (%s)\n\n", mdtext.Code(g.typ), g.counts)
		for _, ch := range g.changes {
			fmt.Fprintf(b, "- %s %s %s", actionIcon(ch.Action), mdtext.Code(ch.Address), actionWord(ch))
			if ch.Moved() {
				fmt.Fprintf(b, ", moved from %s", mdtext.Code(ch.PrevAddress))
			}
			if ch.Importing {
				if ch.ImportID != "" {
					fmt.Fprintf(b, ", imported from id %s", mdtext.Code(ch.ImportID))
				} else {
					b.WriteString(", imported")
				}
			}
			if ch.Deposed != "" {
				fmt.Fprintf(b, " (deposed object %s)", mdtext.Code(ch.Deposed))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		if lvl == levelFull {
			var withAttrs []Change
			for _, ch := range g.changes {
				if len(ch.Attrs) > 0 {
					withAttrs = append(withAttrs, *ch)
				}
			}
			if len(withAttrs) > 0 {
				writeDiffs(b, "Attribute changes", withAttrs)
			}
		}
	}
}

// writeDiffs writes one collapsed block with the attribute diffs of chs.
func writeDiffs(b *strings.Builder, title string, chs []Change) {
	var d strings.Builder
	for i := range chs {
		if i > 0 {
			d.WriteString("\n")
		}
		d.WriteString(diffText(&chs[i]))
	}
	writeDiffBlock(b, title, d.String())
}

func writeDiffBlock(b *strings.Builder, title, diff string) {
	fmt.Fprintf(b, "<details><summary>%s</summary>\n\n%s\n</details>\n\n", mdtext.HTML(title), mdtext.Block(diff, "diff"))
}

// diffText renders one change's attribute diffs as diff lines.
func diffText(ch *Change) string {
	var d strings.Builder
	fmt.Fprintf(&d, "# %s %s\n", ch.Address, actionWord(ch))
	forced := map[string]bool{}
	for _, p := range ch.ReplacePaths {
		forced[p] = true
	}
	for _, a := range ch.Attrs {
		sign, line := "~", fmt.Sprintf("%s: %s -> %s", a.Path, a.Before, a.After)
		switch {
		case a.Before == "null" && a.After != "null":
			sign, line = "+", fmt.Sprintf("%s: %s", a.Path, a.After)
		case a.After == "null" && a.Before != "null":
			sign, line = "-", fmt.Sprintf("%s: %s", a.Path, a.Before)
		}
		if forced[a.Path] {
			line += "  # forces replacement"
		}
		fmt.Fprintf(&d, "%s %s\n", sign, line)
	}
	if ch.AttrsOmitted > 0 {
		fmt.Fprintf(&d, "  … %d more attributes\n", ch.AttrsOmitted)
	}
	return d.String()
}

func actionIcon(a Action) string {
	switch a {
	case ActionCreate:
		return "➕"
	case ActionUpdate:
		return "🔄"
	case ActionDelete:
		return "🗑️"
	case ActionReplace:
		return "♻️"
	case ActionRead:
		return "📖"
	case ActionForget:
		return "🫥"
	}
	return "➡️"
}

func actionWord(ch *Change) string {
	switch ch.Action {
	case ActionReplace:
		if ch.ReplaceOrder == CreateThenDelete {
			return "replace (create before destroy)"
		}
		return "replace (destroy then create)"
	case ActionNoOp:
		switch {
		case ch.Moved() && ch.Importing:
			return "move and import"
		case ch.Moved():
			return "move"
		case ch.Importing:
			return "import"
		}
		return "no change"
	case ActionForget:
		return "forget (removed from state, not destroyed)"
	}
	return string(ch.Action)
}

var reasons = map[string]string{
	"replace_because_cannot_update":     "an attribute cannot be updated in place",
	"replace_because_tainted":           "the object is tainted",
	"replace_by_request":                "replacement requested (-replace)",
	"replace_by_triggers":               "replace_triggered_by",
	"delete_because_no_resource_config": "removed from the configuration",
	"delete_because_wrong_repetition":   "count/for_each changed",
	"delete_because_count_index":        "count index out of range",
	"delete_because_each_key":           "for_each key removed",
	"delete_because_no_module":          "module removed",
	"delete_because_no_move_target":     "moved to an address that does not exist",
	"read_because_config_unknown":       "configuration known only after apply",
	"read_because_dependency_pending":   "depends on pending changes",
	"read_because_check_nested":         "read by a check block",
}

func reasonWords(r string) string {
	if w, ok := reasons[r]; ok {
		return w
	}
	return r
}

// tally is one count and the word it counts.
type tally struct {
	n    int
	word string
}

// nonZero formats the tallies that are not zero with format ("%d %s"), in
// order.
func nonZero(format string, ts ...tally) []string {
	var parts []string
	for _, t := range ts {
		if t.n > 0 {
			parts = append(parts, fmt.Sprintf(format, t.n, t.word))
		}
	}
	return parts
}

func countsPhrase(c Counts) string {
	parts := nonZero("%d to %s", tally{c.Create, "create"}, tally{c.Update, "update"}, tally{c.Replace, "replace"},
		tally{c.Delete, "delete"}, tally{c.Import, "import"}, tally{c.Move, "move"}, tally{c.Forget, "forget"})
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

func otherPhrase(p *Plan, c Counts) string {
	parts := nonZero("%d %s", tally{c.Import, "import"}, tally{c.Move, "move"}, tally{c.Forget, "forget"},
		tally{c.Read, "read"}, tally{c.Deferred, "deferred"}, tally{len(p.Drift), "drifted"})
	if n := p.OutputsChanged(); n == 1 {
		parts = append(parts, "1 output")
	} else {
		parts = append(parts, nonZero("%d %s", tally{n, "outputs"})...)
	}
	return strings.Join(parts, ", ")
}

func actionCounts(chs []*Change) string {
	var c Counts
	for _, ch := range chs {
		c.add(*ch)
	}
	return strings.Join(nonZero("%d %s", tally{c.Create, "create"}, tally{c.Update, "update"}, tally{c.Replace, "replace"},
		tally{c.Delete, "delete"}, tally{c.Read, "read"}, tally{c.Forget, "forget"}, tally{c.Import, "import"},
		tally{c.Move, "move"}), ", ")
}

func typeCounts(chs []Change) string {
	n := map[string]int{}
	var types []string
	for _, ch := range chs {
		if n[ch.Type] == 0 {
			types = append(types, ch.Type)
		}
		n[ch.Type]++
	}
	sort.Strings(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s × %d", mdtext.Code(t), n[t])
	}
	return strings.Join(parts, ", ")
}

func joinCode(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = mdtext.Code(s)
	}
	return strings.Join(parts, ", ")
}

func driftWord(a Action) string {
	switch a {
	case ActionDelete:
		return "deleted outside Terraform"
	case ActionUpdate:
		return "changed outside Terraform"
	case ActionCreate:
		return "created outside Terraform"
	}
	return string(a)
}

// whyMarkdown renders a Risk.Why with its subject (workspace, directory,
// type, pattern) as code.
func whyMarkdown(why string) string {
	if parts := strings.Split(why, ", "); len(parts) > 1 {
		for i, p := range parts {
			parts[i] = whyMarkdown(p)
		}
		return strings.Join(parts, ", ")
	}
	for _, prefix := range []string{"production workspace ", "production directory "} {
		if rest, ok := strings.CutPrefix(why, prefix); ok {
			return mdtext.Text(strings.TrimSpace(prefix)) + " " + mdtext.Code(rest)
		}
	}
	if pat, ok := strings.CutPrefix(why, "pattern "); ok {
		// An unnamed pattern (patternWords), perhaps of a workspace or
		// directory rule.
		for _, kind := range []string{" workspace", " directory"} {
			if p, ok := strings.CutSuffix(pat, kind); ok {
				return "pattern " + mdtext.Code(p) + kind
			}
		}
		return "pattern " + mdtext.Code(pat)
	}
	if rest, ok := strings.CutPrefix(why, "type "); ok {
		if typ, pat, ok := strings.Cut(rest, " matches "); ok {
			return "type " + mdtext.Code(typ) + " matches " + mdtext.Code(pat)
		}
	}
	return mdtext.Text(why)
}

// compactEntry is one or more destroy/replace addresses rendered together.
type compactEntry struct {
	text string
	n    int
}

// compactDestroys collapses the instances of one resource (same address
// but for the trailing index, same action) into one entry such as
// `module.a.aws_instance.web[0..199, 250]` (200 delete), keeping file order.
func compactDestroys(ds []destroyed) []compactEntry {
	type group struct {
		base    string
		action  Action
		ints    []int
		strs    []string
		single  string
		n       int
		indexed bool
	}
	var groups []*group
	idx := map[[2]string]*group{}
	for _, d := range ds {
		base, key, isInt, ok := splitIndex(d.ch.Address)
		k := [2]string{base, string(d.ch.Action)}
		if !ok {
			k = [2]string{d.ch.Address, string(d.ch.Action)}
		}
		g := idx[k]
		if g == nil {
			g = &group{base: base, action: d.ch.Action, single: d.ch.Address, indexed: ok}
			idx[k] = g
			groups = append(groups, g)
		}
		g.n++
		if ok {
			if isInt {
				n, _ := strconv.Atoi(key)
				g.ints = append(g.ints, n)
			} else {
				g.strs = append(g.strs, key)
			}
		}
	}
	out := make([]compactEntry, 0, len(groups))
	for _, g := range groups {
		var e compactEntry
		e.n = g.n
		if g.n == 1 || !g.indexed {
			// Several destroys of one unindexed address: deposed objects.
			e.text = mdtext.Code(g.single)
		} else {
			keys := intRanges(g.ints)
			keys = append(keys, g.strs...)
			e.text = mdtext.Code(g.base + "[" + strings.Join(keys, ", ") + "]")
		}
		switch {
		case g.n == 1 && g.action == ActionReplace:
			e.text += " (replace)"
		case g.n > 1 && g.action == ActionReplace:
			e.text += fmt.Sprintf(" (%d replace)", g.n)
		case g.n > 1:
			e.text += fmt.Sprintf(" (%d delete)", g.n)
		}
		out = append(out, e)
	}
	return out
}

// splitIndex splits `a.b[3]` into `a.b`, "3" (isInt) and `a.b["k"]` into
// `a.b`, `"k"`; ok is false when the address has no trailing index.
func splitIndex(addr string) (base, key string, isInt, ok bool) {
	if !strings.HasSuffix(addr, "]") {
		return addr, "", false, false
	}
	if strings.HasSuffix(addr, `"]`) {
		// A string key: find its opening `["`, skipping escaped quotes.
		for i := len(addr) - 3; i > 0; i-- {
			if addr[i] == '"' && addr[i-1] == '[' && (i < 2 || addr[i-2] != '\\') {
				return addr[:i-1], addr[i : len(addr)-1], false, true
			}
		}
		return addr, "", false, false
	}
	open := strings.LastIndexByte(addr, '[')
	if open <= 0 {
		return addr, "", false, false
	}
	key = addr[open+1 : len(addr)-1]
	if _, err := strconv.Atoi(key); err != nil {
		return addr, "", false, false
	}
	return addr[:open], key, true, true
}

// intRanges renders sorted distinct ints as "0..199", "250".
func intRanges(ns []int) []string {
	if len(ns) == 0 {
		return nil
	}
	sort.Ints(ns)
	var out []string
	start, prev := ns[0], ns[0]
	flush := func() {
		if start == prev {
			out = append(out, strconv.Itoa(start))
		} else {
			out = append(out, fmt.Sprintf("%d..%d", start, prev))
		}
	}
	for _, n := range ns[1:] {
		if n == prev || n == prev+1 {
			prev = n
			continue
		}
		flush()
		start, prev = n, n
	}
	flush()
	return out
}
