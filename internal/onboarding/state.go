package onboarding

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// StateVersion is the version of the hidden state written by this build.
const StateVersion = 1

// The generated block of the handoff issue. tasuki writes it at the start
// of the body and rewrites only it; everything after its end line is the
// people's.
const (
	blockBegin = "<!-- tasuki:begin sre-handoff -->"
	blockEnd   = "<!-- tasuki:end sre-handoff -->"
	statePre   = "<!-- tasuki:handoff-state v="
)

// stateRe is the whole state line, which RenderBody writes as the last line
// of the block.
var stateRe = regexp.MustCompile(`^<!-- tasuki:handoff-state v=(\d+) ([A-Za-z0-9_-]+) -->$`)

// Bounds on text people give, kept in the state and shown in the issue.
const (
	maxReason   = 160
	maxEvidence = 300
	maxLogins   = 10 // GitHub assigns at most ten people
	maxItems    = 40
)

// MarkerKinds of tasuki's artefacts of the feature.
const (
	MarkerIssue    = "sre-handoff"
	MarkerTransfer = "sre-handoff-transfer"
	MarkerGuard    = "sre-handoff-guard"
	MarkerReminder = "sre-handoff-reminder"
	MarkerSummary  = "sre-handoff-summary"
	MarkerHandBack = "sre-handback"
	// MarkerNotice keys a notice on the handoff issue: its body has no
	// room for tasuki's block, or its state was edited outside tasuki.
	MarkerNotice = "sre-handoff-notice"
)

func issueMarker(repo string, started time.Time) marker.Marker {
	return marker.New(MarkerIssue, repo+"@"+started.UTC().Format("2006-01-02"))
}

func transferMarker(s State) marker.Marker {
	return marker.New(MarkerTransfer, s.Repo+"@"+s.Started.UTC().Format("2006-01-02"))
}

func guardMarker(repo string) marker.Marker { return marker.New(MarkerGuard, repo) }

func issueTitle(repo, team string) string {
	return "SRE handoff: " + repo + " → @" + strings.TrimPrefix(team, "@")
}

func (s State) item(id string) (ItemState, bool) {
	for _, it := range s.Items {
		if strings.EqualFold(it.ID, id) {
			return it, true
		}
	}
	return ItemState{}, false
}

// encodeState renders the hidden state line.
func encodeState(s State) string {
	s.V = StateVersion
	js, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encode handoff state: %v", err)) // plain values only
	}
	return fmt.Sprintf("%s%d %s -->", statePre, StateVersion, base64.RawURLEncoding.EncodeToString(js))
}

// splitBlock finds the generated block at the start of body (after white
// space only) and returns it and the rest of the body after it.
func splitBlock(body string) (start, end int, ok bool) {
	trimmed := strings.TrimLeft(body, " \t\r\n\ufeff")
	if !strings.HasPrefix(trimmed, blockBegin) {
		return 0, 0, false
	}
	start = len(body) - len(trimmed)
	j := strings.Index(trimmed, blockEnd)
	if j < 0 {
		return 0, 0, false
	}
	return start, start + j + len(blockEnd), true
}

func decodeState(body string) (State, bool, error) {
	start, end, ok := splitBlock(body)
	if !ok {
		return State{}, false, nil
	}
	inner := body[start+len(blockBegin) : end-len(blockEnd)]
	inner = strings.TrimRight(inner, " \t\r\n")
	line := inner
	if i := strings.LastIndexByte(inner, '\n'); i >= 0 {
		line = inner[i+1:]
	}
	line = strings.TrimSpace(line)
	m := stateRe.FindStringSubmatch(line)
	if m == nil {
		return State{}, true, fmt.Errorf("decode handoff state: the generated block does not end with its state")
	}
	if m[1] != fmt.Sprint(StateVersion) {
		return State{}, true, fmt.Errorf("decode handoff state: version %s, this tasuki reads %d", m[1], StateVersion)
	}
	js, err := base64.RawURLEncoding.DecodeString(m[2])
	if err != nil {
		return State{}, true, fmt.Errorf("decode handoff state: %w", err)
	}
	var s State
	if err := json.Unmarshal(js, &s); err != nil {
		return State{}, true, fmt.Errorf("decode handoff state: %w", err)
	}
	return s, true, nil
}

// peopleNote follows the block in a new issue.
const peopleNote = "_Everything below this line is yours: tasuki only rewrites the part above._\n"

// maxBlockBytes keeps the block, with room for a person's notes, within
// the 65,536 characters GitHub allows an issue body (the writer cuts a
// longer body, which would cut the state off).
const maxBlockBytes = 56 << 10

// MaxBodyBytes is the longest issue body GitHub takes (ghwrite.MaxBodyChars,
// which the writer measures in bytes): a longer one the writer cuts at its
// end, where people's notes are.
const MaxBodyBytes = 65536

// How much of the checklist the generated block shows.
const (
	renderFull    = iota // every item with its reason, who ticked it and the evidence
	renderCompact        // every item with its status only (the rest stays in the state)
	renderMinimal        // the phases only: the notes below leave no room for the items
)

// renderBody is fitBody's body whether or not it fits (Start's new issue,
// which has no notes, and RenderBody).
func renderBody(old string, s State, c Checklist) string {
	body, _ := fitBody(old, s, c)
	return body
}

// fitBody returns the body of the handoff issue for s: the generated block
// replacing the one at the start of old, every byte after it kept. The
// block is the full one when the body fits in MaxBodyBytes, else the
// compact one, else the minimal one; ok is false when even that does not
// fit: the edit would make GitHub's writer cut people's text, so it must
// not be made (the body returned is then the minimal one, over the limit).
func fitBody(old string, s State, c Checklist) (body string, ok bool) {
	for level := renderFull; level <= renderMinimal; level++ {
		block := renderBlock(s, c, level)
		if level == renderFull && len(block) > maxBlockBytes {
			continue
		}
		body = placeBlock(old, block)
		if len(body) <= MaxBodyBytes {
			return body, true
		}
	}
	return body, false
}

// placeBlock puts block where the generated block of old is, or first.
func placeBlock(old, block string) string {
	if start, end, ok := splitBlock(old); ok {
		return old[:start] + block + old[end:]
	}
	if strings.TrimSpace(old) == "" {
		return block + "\n\n" + peopleNote
	}
	// The block is gone (a person deleted its markers): put a new one first
	// and keep every byte of what is there.
	return block + "\n\n" + old
}

// renderBlock renders the generated block at level (renderFull, renderCompact
// or renderMinimal): the shorter levels leave out what the state keeps
// anyway, for a body whose notes leave little room.
func renderBlock(s State, c Checklist, level int) string {
	var b strings.Builder
	b.WriteString(blockBegin + "\n")
	org, _, _ := strings.Cut(s.Repo, "/")
	core := strings.TrimPrefix(strings.TrimPrefix(s.CoreTeam, "@"), org+"/")
	team := strings.TrimPrefix(strings.TrimPrefix(s.Team, "@"), org+"/")
	fmt.Fprintf(&b, "**SRE handoff** of %s from %s to %s · tier **%s** · started %s by %s\n\n",
		mdtext.Code(s.Repo), mdtext.Text("@"+org+"/"+core), mdtext.Text("@"+org+"/"+team),
		mdtext.Text(s.Tier), day(s.Started), mdtext.Text(actorName(s.StartedBy)))
	switch {
	case !s.Closed.IsZero():
		fmt.Fprintf(&b, "Transferred on %s; closed on %s. **Guard** keeps checking what was handed over.\n\n", day(s.Transferred), day(s.Closed))
	default:
		fmt.Fprintf(&b, "Current phase: **%s**\n\n", s.Phase.Title())
	}
	items := c.ForTier(s.Tier)
	b.WriteString("| Phase | Primary | Secondary | Due | Progress |\n|---|---|---|---|---|\n")
	for _, ps := range s.Phases {
		if ps.Phase == PhaseGuard {
			continue
		}
		done, total := progress(s, items, ps.Phase)
		r := roles(ps.Phase, core, team)
		name := ps.Phase.Title()
		if ps.Phase == s.Phase && s.Closed.IsZero() {
			name = "**" + name + "** (current)"
		}
		mark := ""
		if total > 0 && done == total {
			mark = " ✅"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d/%d%s |\n", name, r[0], r[1], day(ps.Due), done, total, mark)
	}
	if level == renderMinimal {
		b.WriteString("\nThe checklist is not shown: the notes below this block leave no room for it within GitHub's limit on an issue body. Its state is kept; shorten the notes to see it again.\n")
	}
	for _, ps := range s.Phases {
		if level == renderMinimal {
			break
		}
		var its []Item
		for _, it := range items {
			if it.Phase == ps.Phase {
				its = append(its, it)
			}
		}
		if len(its) == 0 {
			continue
		}
		done, total := progress(s, items, ps.Phase)
		fmt.Fprintf(&b, "\n#### %s %d/%d — due %s\n\n", ps.Phase.Title(), done, total, day(ps.Due))
		for _, it := range its {
			st, _ := s.Item(it.ID)
			if level == renderCompact {
				st.Reason, st.By, st.Evidence = "", "", ""
			}
			b.WriteString(renderItem(it, st))
		}
	}
	if s.AlreadyMoved {
		b.WriteString("\nOwnership was already moved in the repository's files")
		if s.MovedBy != "" {
			b.WriteString(" by " + mdtext.Text("@"+s.MovedBy))
		}
		b.WriteString(": no transfer pull request was needed.\n")
	}
	if s.TransferPR > 0 {
		fmt.Fprintf(&b, "\nTransfer pull request: #%d", s.TransferPR)
		if len(s.SignedOff) > 0 {
			fmt.Fprintf(&b, ", signed off by %s", logins(s.SignedOff))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nTick a manual item with `/tasuki done ITEM-ID EVIDENCE-URL`, or `/tasuki na ITEM-ID REASON` where the tier allows, in a comment. Ticking a box by hand changes nothing: tasuki re-verifies automatic items on every push to the default branch and daily.\n\n")
	b.WriteString(issueMarker(s.Repo, s.Started).String() + "\n")
	b.WriteString(encodeState(s) + "\n")
	b.WriteString(blockEnd)
	return b.String()
}

func renderItem(it Item, st ItemState) string {
	box := " "
	if st.Status == StatusPassed || st.Status == StatusNA {
		box = "x"
	}
	status := map[Status]string{StatusPassed: "passed", StatusFailed: "failed", StatusNA: "not applicable", StatusPending: "not yet verifiable"}[st.Status]
	if status == "" {
		status = "not yet verifiable"
	}
	reason := st.Reason
	if st.Status == StatusPending || st.Status == "" {
		// The verifiers' reasons repeat the status word, and a new item's
		// reason only restates it: say it once.
		reason = strings.TrimPrefix(reason, status+": ")
		if reason == "not verified yet" {
			reason = ""
		}
	}
	line := fmt.Sprintf("- [%s] **%s** %s (%s) — %s", box, mdtext.Text(it.Title), mdtext.Code(it.ID), it.Kind, status)
	if reason != "" {
		line += ": " + mdtext.Text(reason)
	}
	if st.By != "" {
		line += fmt.Sprintf(" · by %s on %s", mdtext.Text("@"+st.By), day(st.At))
		if validURL(st.Evidence) == nil {
			line += " · [evidence](" + st.Evidence + ")"
		}
		if !st.Expires.IsZero() {
			line += " · expires " + day(st.Expires)
		}
	}
	return line + "\n"
}

// progress counts the items of phase p that passed or are not applicable.
func progress(s State, items []Item, p Phase) (done, total int) {
	for _, it := range items {
		if it.Phase != p {
			continue
		}
		total++
		if st, ok := s.Item(it.ID); ok && (st.Status == StatusPassed || st.Status == StatusNA) {
			done++
		}
	}
	return done, total
}

func roles(p Phase, core, team string) [2]string {
	switch p {
	case PhaseKickoff, PhaseObserve:
		return [2]string{mdtext.Text(core), ""}
	case PhaseShadow:
		return [2]string{mdtext.Text(core), mdtext.Text(team)}
	case PhaseReverseShadow:
		return [2]string{mdtext.Text(team), mdtext.Text(core)}
	}
	return [2]string{mdtext.Text(team), ""}
}

func day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

func actorName(a string) string {
	if a == "" || strings.ContainsAny(a, " .") || a == "config" {
		return a
	}
	return "@" + a
}

func logins(ls []string) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = mdtext.Text("@" + l)
	}
	return strings.Join(out, ", ")
}

func handoffOf(body string) (*ownership.Handoff, bool) {
	s, found, err := decodeState(body)
	if !found || err != nil || !s.Closed.IsZero() || !s.Phase.Valid() {
		return nil, false
	}
	org := repoOwner(s.Repo)
	_, team := splitTeam(s.Team, org)
	_, core := splitTeam(s.CoreTeam, org)
	return &ownership.Handoff{Phase: s.Phase, Team: team, CoreTeam: core}, true
}
