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

// Detail levels, tried in order until the body fits. What a reviewer needs
// least goes first: the attributes of creates, then those of updates and
// every other change that destroys nothing, then those changes' addresses;
// the diffs of destroys and replaces go last, their addresses never while
// they fit.
const (
	levelFull           = iota // everything
	levelNoCreateAttrs         // creates' attributes left out
	levelNoUpdateAttrs         // attributes of every change but destroys left out
	levelGrouped               // changes that destroy nothing as counts per module and type
	levelNoDestroyAttrs        // destroy and replace diffs left out too, but for the first that fit
	levelRiskyOnly             // destroy/replace addresses compact, the rest counts per type
	levelCount
)

// RenderComment renders the pull request comment for s and v in at most
// limit bytes (CommentLimit for comments), ending with the hidden
// plan-facts block.
//
// The first screen, with every block collapsed, shows the verdict, the
// counts per plan and every destroy and replace; the other changes follow
// in one collapsed block per module, each address once, attribute changes
// in ```diff blocks. When the full text does not fit it degrades (see the
// levels): creates' attributes go first, destroys' diffs last, and every
// destroy and replace address is kept as long as they alone fit; the
// comment counts what it left out and says where the full text is.
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
// block) and, when the summary had to leave attributes out, a text holding
// as many attribute changes as fit in CheckLimit (otherwise empty).
//
// The summary opens with the same verdict section as the comment, and the
// title says the same in one line.
func RenderCheck(s Summary, v Verdict, m Meta) (title, summary, text string) {
	f, _ := fitFacts(factsFor(s, m))
	summary, lvl := renderFitting(s, m, RenderVerdict(f, v, m.HeadSHA), CheckLimit)
	if lvl > levelFull {
		text = renderDiffs(s, m, CheckLimit, lvl >= levelNoDestroyAttrs)
	}
	return checkTitle(s, v, m), summary, text
}

// renderDiffs renders the attribute changes of s module by module, as
// long as they fit in limit: what the check run's summary had to leave
// out. withDestroys puts the destroys' and replaces' first (the summary
// keeps them otherwise).
func renderDiffs(s Summary, m Meta, limit int, withDestroys bool) string {
	var b strings.Builder
	b.WriteString("### Attribute changes\n\n")
	const reserve = 512 // for block markup and the closing note
	cut := 0
	block := func(title string, chs []*Change) {
		var d strings.Builder
		for _, ch := range chs {
			t := changeLines(ch, true, true)
			if !strings.Contains(t, "\n ") && !strings.Contains(t, "\n+") && !strings.Contains(t, "\n-") {
				continue // nothing but the header
			}
			if cut > 0 || b.Len()+d.Len()+len(t)+len(title)*2 > limit-reserve {
				cut++
				continue
			}
			d.WriteString(t)
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n%s\n</details>\n\n", title, mdtext.Block(d.String(), "diff"))
		}
	}
	if withDestroys {
		var ds []*Change
		for _, d := range destroys(s) {
			ds = append(ds, d.ch)
		}
		block("Destroy and replace", ds)
	}
	for _, p := range s.Plans {
		for _, g := range groupByModule(p).groups {
			title := moduleTitle(g.module)
			if len(s.Plans) > 1 {
				title = "<code>" + mdtext.HTML(planLabel(p)) + "</code>: " + title
			}
			block(title, g.changes)
		}
	}
	if cut > 0 {
		fmt.Fprintf(&b, "_Attribute changes of %d more resources left out to fit GitHub's size limit.", cut)
		if where := fullTextWhere(m); where != "" {
			fmt.Fprintf(&b, " The full review is in %s.", where)
		}
		b.WriteString("_\n")
	}
	unkept := 0
	for _, p := range s.Plans {
		unkept += p.unkeptDestroys()
		for _, c := range p.UnkeptListed {
			unkept += c.Create + c.Update + c.Read + c.NoOp + c.Forget
		}
	}
	if unkept > 0 {
		word := "changes"
		if unkept == 1 {
			word = "change"
		}
		fmt.Fprintf(&b, "_%d more %s not listed: the plan is too big to list here.", unkept, word)
		if where := fullTextWhere(m); where != "" {
			fmt.Fprintf(&b, " All of it is in %s.", where)
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
	first := levelFull
	switch {
	case pre.unkeptDestroys > 0:
		first = levelRiskyOnly // the others list every destroy
	case pre.unkeptListed:
		first = levelGrouped // the others list every change
	}
	for lvl := first; lvl < levelCount; lvl++ {
		out = render(s, m, sec, pre, lvl, -1, limit)
		if len(out) > limit {
			continue
		}
		if lvl == levelNoDestroyAttrs {
			// Keep the diffs of as many destroys as still fit.
			lo, hi := 0, len(pre.ds)
			for lo < hi {
				mid := (lo + hi + 1) / 2
				if len(render(s, m, sec, pre, lvl, mid, limit)) <= limit {
					lo = mid
				} else {
					hi = mid - 1
				}
			}
			out = render(s, m, sec, pre, lvl, lo, -1)
		}
		return out, lvl
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
			if isDestroy(ch) {
				out = append(out, destroyed{p, ch})
			}
		}
	}
	return out
}

// isDestroy reports whether ch destroys an object (delete or replace).
func isDestroy(ch *Change) bool { return ch.Action == ActionDelete || ch.Action == ActionReplace }

// render renders at one detail level, opening with the verdict section
// sec; maxDestroys >= 0 caps the compact destroy list (levelRiskyOnly) or
// says how many destroys keep their diff (levelNoDestroyAttrs; -1: none).
// It gives up early,
// returning something longer than stop, once the text grows past stop
// (stop < 0: never), so trying a level that cannot fit costs little.
func render(s Summary, m Meta, sec string, pre *prepared, lvl, maxDestroys, stop int) string {
	var b strings.Builder
	over := func() bool { return stop >= 0 && b.Len() > stop }
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	multi := len(s.Plans) > 1

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
		if p.ChangesWithoutAttrs > 0 && lvl < levelNoUpdateAttrs {
			w("> [!NOTE]\n> The attributes of %d changes in %s were not read: tasuki reads at most %d attribute changes per plan.\n\n", p.ChangesWithoutAttrs, mdtext.Code(planLabel(p)), AttrBudget)
		}
	}

	// Destroys and replaces first, always by address, each with what it
	// destroys: the first screen shows them all, collapsed.
	ds := pre.ds
	cutDestroys := 0
	nDestroys := len(ds) + pre.unkeptDestroys
	if nDestroys > 0 {
		w("### Destroy and replace (%d)\n\n", nDestroys)
		if lvl >= levelRiskyOnly {
			// Compact: instances of one resource collapse into one
			// address with an index list, so every address stays.
			entries := pre.compact
			cutDestroys = pre.unkeptDestroys
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
			if cutDestroys > 0 {
				w("…and %d more destroys and replaces not named here.\n\n", cutDestroys)
			}
		} else {
			// Those without a diff form one list; then each with one is
			// a collapsed block whose summary is its list line.
			diffs := make([]string, len(ds))
			listed := 0
			for i, d := range ds {
				if lvl < levelNoDestroyAttrs || i < maxDestroys {
					diffs[i] = pre.destroyDiffs[i]
				}
				if diffs[i] == "" {
					w("- %s\n", destroyLine(d, multi, false))
					listed++
					if over() {
						return b.String()
					}
				}
			}
			if listed > 0 {
				b.WriteString("\n")
			}
			for i, d := range ds {
				if diffs[i] == "" {
					continue
				}
				if over() {
					return b.String()
				}
				w("<details><summary>%s</summary>\n\n%s\n</details>\n\n", destroyLine(d, multi, true), mdtext.Block(diffs[i], "diff"))
			}
		}
	}

	// The other changes: one collapsed block per module.
	for i, p := range s.Plans {
		if over() {
			return b.String()
		}
		pg := pre.groups[i]
		if pg.shown == 0 {
			continue
		}
		switch {
		case multi:
			w("### Changes in %s (%d)\n\n", mdtext.Code(planLabel(p)), pg.shown)
		case nDestroys > 0:
			w("### Other changes (%d)\n\n", pg.shown)
		default:
			w("### Changes (%d)\n\n", pg.shown)
		}
		switch {
		case lvl >= levelRiskyOnly:
			// Space goes to destroy addresses: one line per type, all
			// modules together.
			for _, t := range pg.types {
				w("- %s: %s\n", mdtext.Code(t.typ), t.counts)
			}
			b.WriteString("\n")
		case lvl >= levelGrouped:
			for _, g := range pg.groups {
				if over() {
					return b.String()
				}
				w("- %s: %s\n", moduleMarkdown(g.module), g.byType)
			}
			b.WriteString("\n")
		default:
			for _, g := range pg.groups {
				if over() {
					return b.String()
				}
				var d strings.Builder
				for _, ch := range g.changes {
					attrs := lvl == levelFull || (lvl == levelNoCreateAttrs && ch.Action != ActionCreate)
					d.WriteString(changeLines(ch, attrs, false))
				}
				w("<details><summary>%s: %s</summary>\n\n%s\n</details>\n\n", moduleTitle(g.module), g.counts, mdtext.Block(d.String(), "diff"))
			}
		}
	}

	// Drift, outputs, checks, deferred.
	for _, p := range s.Plans {
		if over() {
			return b.String()
		}
		label := ""
		if multi {
			label = " in " + mdtext.Code(planLabel(p))
		}
		if len(p.Drift) > 0 {
			w("### Changed outside Terraform%s (%d)\n\n", label, len(p.Drift))
			if lvl >= levelGrouped {
				w("%s\n\n", typeCounts(p.Drift))
			} else {
				var d strings.Builder
				for i := range p.Drift {
					d.WriteString(driftLines(&p.Drift[i], lvl < levelNoUpdateAttrs))
				}
				w("<details><summary>What changed outside Terraform: %s</summary>\n\n%s\n</details>\n\n", driftCounts(p.Drift), mdtext.Block(d.String(), "diff"))
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
					if lvl >= levelNoUpdateAttrs {
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

	keptDiffs := 0
	if lvl == levelNoDestroyAttrs {
		keptDiffs = max(maxDestroys, 0)
	}
	if cut := pre.omitted(s, lvl, keptDiffs, cutDestroys); len(cut) > 0 {
		w("_Not shown here, to fit GitHub's size limit: %s.", joinAnd(cut))
		if where := fullTextWhere(m); where != "" {
			w(" All of it is in %s.", where)
		}
		b.WriteString("_\n")
	}
	return b.String()
}

// omitted says, with counts, what render leaves out at lvl, where the
// first keptDiffs destroys keep their diffs.
func (pre *prepared) omitted(s Summary, lvl, keptDiffs, cutDestroys int) []string {
	var out []string
	var creates, others, shown, drift, deferred, outputs, destroyAttrs int
	for i, p := range s.Plans {
		pg := pre.groups[i]
		shown += pg.shown
		for _, g := range pg.groups {
			for _, ch := range g.changes {
				if len(ch.Attrs) == 0 && ch.AttrsOmitted == 0 {
					continue
				}
				if ch.Action == ActionCreate {
					creates++
				} else {
					others++
				}
			}
		}
		for _, d := range p.Drift {
			if len(d.Attrs) > 0 {
				others++
			}
		}
		drift += len(p.Drift)
		deferred += len(p.Deferred)
		outputs += p.OutputsChanged()
	}
	for i := range pre.ds {
		if i >= keptDiffs && pre.destroyDiffs[i] != "" {
			destroyAttrs++
		}
	}
	switch {
	case lvl >= levelGrouped:
		if shown > 0 {
			out = append(out, fmt.Sprintf("the addresses and attributes of %s", plural(shown, "change that destroys nothing", "changes that destroy nothing")))
		}
		if drift+deferred > 0 {
			out = append(out, fmt.Sprintf("the addresses of %s changed outside Terraform or deferred", plural(drift+deferred, "resource", "resources")))
		}
		if outputs > 0 {
			out = append(out, fmt.Sprintf("the values of %s", plural(outputs, "output", "outputs")))
		}
	case lvl == levelNoUpdateAttrs && creates+others > 0:
		out = append(out, fmt.Sprintf("the attributes of %s that destroy nothing", plural(creates+others, "change", "changes")))
		if outputs > 0 {
			out = append(out, fmt.Sprintf("the values of %s", plural(outputs, "output", "outputs")))
		}
	case lvl == levelNoCreateAttrs && creates > 0:
		out = append(out, fmt.Sprintf("the attributes of %s", plural(creates, "create", "creates")))
	}
	if lvl >= levelNoDestroyAttrs && destroyAttrs > 0 {
		out = append(out, fmt.Sprintf("the attributes of %s", plural(destroyAttrs, "destroy or replace", "destroys and replaces")))
	}
	if lvl >= levelRiskyOnly && len(pre.ds) > 0 {
		out = append(out, "why each destroy or replace happens")
	}
	if cutDestroys > 0 {
		out = append(out, fmt.Sprintf("the addresses of %s", plural(cutDestroys, "destroy or replace", "destroys and replaces")))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinAnd joins parts as "a, b and c".
func joinAnd(parts []string) string {
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], "; ") + "; and " + parts[len(parts)-1]
}

// destroyLine is one destroy or replace on one line: markdown for a list
// item, or HTML for a <summary> (which GitHub does not render as
// markdown).
func destroyLine(d destroyed, multi, asHTML bool) string {
	code, bold, text := mdtext.Code, func(s string) string { return "**" + s + "**" }, mdtext.Text
	if asHTML {
		code = func(s string) string { return "<code>" + mdtext.HTML(s) + "</code>" }
		bold = func(s string) string { return "<b>" + s + "</b>" }
		text = mdtext.HTML
	}
	var b strings.Builder
	b.WriteString(actionIcon(d.ch.Action) + " " + code(d.ch.Address))
	if multi {
		b.WriteString(" in " + code(planLabel(d.plan)))
	}
	b.WriteString(" " + bold(string(d.ch.Action)))
	if d.ch.Action == ActionReplace {
		if d.ch.ReplaceOrder == CreateThenDelete {
			b.WriteString(" (create before destroy)")
		} else {
			b.WriteString(" (destroy then create)")
		}
	}
	if d.ch.Deposed != "" {
		b.WriteString(" of deposed object " + code(d.ch.Deposed))
	}
	if why := reasonWords(d.ch.Reason); why != "" {
		b.WriteString(": " + text(why))
	}
	if len(d.ch.ReplacePaths) > 0 {
		parts := make([]string, len(d.ch.ReplacePaths))
		for i, p := range d.ch.ReplacePaths {
			parts[i] = code(p)
		}
		b.WriteString("; forced by " + strings.Join(parts, ", "))
	}
	return b.String()
}

// changeSign is the diff sign of a change's header line: GitHub colours
// + green, - red and ! orange.
func changeSign(a Action) string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionDelete:
		return "-"
	case ActionUpdate, ActionReplace, ActionForget:
		return "!"
	}
	return " "
}

// changeLines renders one change for a ```diff block: a header line with
// its address and what happens, then, with attrs, its attribute changes.
// A destroy's header is left out unless withDestroyHeader: its address is
// already the block's summary.
func changeLines(ch *Change, attrs, withDestroyHeader bool) string {
	var d strings.Builder
	if !isDestroy(ch) || withDestroyHeader {
		var parts []string
		if ch.Action != ActionNoOp {
			parts = append(parts, actionWord(ch))
		}
		if ch.Moved() {
			parts = append(parts, "moved from "+oneLineValue(ch.PrevAddress))
		}
		if ch.Importing {
			if ch.ImportID != "" {
				parts = append(parts, "imported from id "+oneLineValue(ch.ImportID))
			} else {
				parts = append(parts, "imported")
			}
		}
		if len(parts) == 0 {
			parts = append(parts, actionWord(ch))
		}
		d.WriteString(changeSign(ch.Action) + " " + oneLineValue(ch.Address) + ": " + strings.Join(parts, ", "))
		if ch.Deposed != "" {
			d.WriteString(" (deposed object " + oneLineValue(ch.Deposed) + ")")
		}
		if ch.Action == ActionRead && ch.Reason != "" {
			d.WriteString(" (" + reasonWords(ch.Reason) + ")")
		}
		d.WriteString("\n")
	}
	if attrs {
		d.WriteString(attrLines(ch, false))
	}
	return d.String()
}

// attrLines renders ch's attribute changes as diff lines: -/+ pairs for an
// update or replace, + for a create (values known after apply counted, not
// listed), and for a delete - lines of what identifies the destroyed
// object. destroyOnly limits it to deletes and replaces ("" otherwise).
func attrLines(ch *Change, destroyOnly bool) string {
	if destroyOnly && !isDestroy(ch) {
		return ""
	}
	const indent = "     "
	var d strings.Builder
	if ch.Action == ActionDelete {
		for _, a := range identifyingAttrs(ch.Attrs) {
			d.WriteString("-" + indent + oneLineValue(a.Path) + " = " + oneLineValue(a.Before) + "\n")
		}
		return d.String()
	}
	forces := func(path string) bool {
		for _, p := range ch.ReplacePaths {
			if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
				return true
			}
		}
		return false
	}
	unknown := 0
	for _, a := range ch.Attrs {
		if ch.Action == ActionCreate && a.Unknown {
			unknown++
			continue
		}
		path := oneLineValue(a.Path)
		note := ""
		if forces(a.Path) {
			note = "  # forces replacement"
		}
		if a.Before != "null" {
			end := ""
			if a.After == "null" {
				end = note
			}
			d.WriteString("-" + indent + path + " = " + oneLineValue(a.Before) + end + "\n")
		}
		if a.After != "null" {
			d.WriteString("+" + indent + path + " = " + oneLineValue(a.After) + note + "\n")
		}
	}
	if unknown > 0 {
		d.WriteString(" " + indent + "… " + plural(unknown, "attribute", "attributes") + " known after apply\n")
	}
	if ch.AttrsOmitted > 0 {
		d.WriteString(" " + indent + "… " + plural(ch.AttrsOmitted, "more attribute", "more attributes") + "\n")
	}
	return d.String()
}

// driftLines renders one change made outside Terraform for a diff block.
func driftLines(ch *Change, attrs bool) string {
	line := changeSign(ch.Action) + " " + oneLineValue(ch.Address) + ": " + driftWord(ch.Action) + "\n"
	if !attrs || ch.Action == ActionDelete {
		return line
	}
	c := *ch
	c.Action = ActionUpdate // a drifted create lists what appeared; no "known after apply"
	return line + attrLines(&c, false)
}

func driftCounts(chs []Change) string {
	var c, u, d int
	for _, ch := range chs {
		switch ch.Action {
		case ActionCreate:
			c++
		case ActionDelete:
			d++
		default:
			u++
		}
	}
	return strings.Join(nonZero("%d %s", tally{u, "changed"}, tally{d, "deleted"}, tally{c, "created"}), ", ")
}

// oneLineValue keeps a value on one line of a diff block: a newline in a
// value would start a line that reads as another attribute.
func oneLineValue(s string) string {
	if !strings.ContainsAny(s, "\r\n\u2028\u2029\u0085") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`, "\u2028", `\u2028`, "\u2029", `\u2029`, "\u0085", `\u0085`).Replace(s)
}

func moduleTitle(module string) string {
	if module == "" {
		return "Root module"
	}
	return "<code>" + mdtext.HTML(module) + "</code>"
}

func moduleMarkdown(module string) string {
	if module == "" {
		return "Root module"
	}
	return mdtext.Code(module)
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

// moduleGroup is the changes of one module that destroy nothing.
type moduleGroup struct {
	module  string
	changes []*Change
	counts  string // "2 create, 1 update"
	byType  string // "`aws_instance` 2 create; `aws_s3_bucket` 1 update"
}

// typeGroup is the counts of one resource type across modules.
type typeGroup struct{ typ, counts string }

// planGroups is what render shows of one plan's changes that destroy
// nothing, computed once per RenderComment rather than once per detail
// level tried.
type planGroups struct {
	shown  int
	unkept bool // some of the shown changes were not kept: counts only
	groups []*moduleGroup
	types  []typeGroup
}

// prepared holds what every detail level renders from.
type prepared struct {
	ds           []destroyed
	destroyDiffs []string // attrLines of each of ds
	compact      []compactEntry
	counts       []Counts
	groups       []planGroups
	// unkeptDestroys counts the destroys and replaces a ReadOptions.Keep
	// filter left out: they can only be counted (levelRiskyOnly), and
	// unkeptListed says the same of some other change (levelGrouped).
	unkeptDestroys int
	unkeptListed   bool
}

func prepare(s Summary) *prepared {
	pre := &prepared{ds: destroys(s)}
	pre.compact = compactDestroys(pre.ds)
	for _, d := range pre.ds {
		pre.destroyDiffs = append(pre.destroyDiffs, attrLines(d.ch, true))
	}
	for _, p := range s.Plans {
		pre.counts = append(pre.counts, p.Counts())
		pg := groupByModule(p)
		pre.groups = append(pre.groups, pg)
		pre.unkeptDestroys += p.unkeptDestroys()
		pre.unkeptListed = pre.unkeptListed || pg.unkept
	}
	return pre
}

// groupByModule groups p's changes that destroy nothing (destroys have
// their own section) by module, the root module first, in file order
// within a module.
func groupByModule(p *Plan) planGroups {
	var pg planGroups
	idx := map[string]*moduleGroup{}
	byType := map[string]bool{}
	var types []string
	for i := range p.Changes {
		ch := &p.Changes[i]
		if isDestroy(ch) || ch.Action == ActionNoOp && !ch.Moved() && !ch.Importing {
			continue
		}
		pg.shown++
		g := idx[ch.Module]
		if g == nil {
			g = &moduleGroup{module: ch.Module}
			idx[ch.Module] = g
			pg.groups = append(pg.groups, g)
		}
		g.changes = append(g.changes, ch)
		if !byType[ch.Type] {
			types = append(types, ch.Type)
			byType[ch.Type] = true
		}
	}
	// Changes a ReadOptions.Keep filter left out are counted only.
	unkept := map[string]map[string]Counts{} // module, type
	for k, c := range p.UnkeptListed {
		pg.shown += c.Create + c.Update + c.Delete + c.Replace + c.Read + c.NoOp + c.Forget
		if idx[k.Module] == nil {
			g := &moduleGroup{module: k.Module}
			idx[k.Module] = g
			pg.groups = append(pg.groups, g)
		}
		if unkept[k.Module] == nil {
			unkept[k.Module] = map[string]Counts{}
		}
		unkept[k.Module][k.Type] = c
		if !byType[k.Type] {
			types = append(types, k.Type)
			byType[k.Type] = true
		}
	}
	sort.SliceStable(pg.groups, func(i, j int) bool { return naturalLess(pg.groups[i].module, pg.groups[j].module) })
	typeTotals := map[string]Counts{}
	for _, g := range pg.groups {
		var total Counts
		var order []string
		n := map[string]Counts{}
		for _, ch := range g.changes {
			c, ok := n[ch.Type]
			if !ok {
				order = append(order, ch.Type)
			}
			c.add(*ch)
			n[ch.Type] = c
		}
		for t, u := range unkept[g.module] {
			c, ok := n[t]
			if !ok {
				order = append(order, t)
			}
			c.Add(u)
			n[t] = c
		}
		sort.Strings(order)
		var parts []string
		for _, t := range order {
			total.Add(n[t])
			tt := typeTotals[t]
			tt.Add(n[t])
			typeTotals[t] = tt
			parts = append(parts, mdtext.Code(t)+" "+actionCounts(n[t]))
		}
		g.counts = actionCounts(total)
		g.byType = strings.Join(parts, "; ")
	}
	sort.Strings(types)
	for _, t := range types {
		pg.types = append(pg.types, typeGroup{t, actionCounts(typeTotals[t])})
	}
	pg.unkept = len(p.UnkeptListed) > 0
	return pg
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

func actionCounts(c Counts) string {
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

// naturalLess orders strings with their digit runs compared as numbers:
// module.svc_9 before module.svc_10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
