package postmortem

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/templates"
)

// MaxBody is GitHub's limit on an issue body, in characters.
const MaxBody = 65536

// Caps keep a long incident's body under MaxBody. The timeline and the
// responders come from anyone who may comment on the incident, so they are
// bounded in bytes too, not only in entries.
const (
	maxTimeline      = 300
	maxTimelineBytes = 24 << 10
	maxChanges       = 60
	maxResponders    = 50
)

// boundedTimeline renders the first entries that fit maxTimeline and
// maxTimelineBytes, and says how many later ones are not shown.
func boundedTimeline(entries []Entry, cfg Config) string {
	n, size := 0, 0
	for n < len(entries) && n < maxTimeline {
		size += len(RenderTimeline(entries[n:n+1], cfg)) + 1
		if size > maxTimelineBytes {
			break
		}
		n++
	}
	if n == len(entries) {
		return RenderTimeline(entries, cfg)
	}
	return RenderTimeline(entries[:n], cfg) + fmt.Sprintf("\n- _… %d later entries not shown; see the incident._", len(entries)-n)
}

// respondersText names the incident's responders, at most maxResponders
// of them.
func respondersText(inc Incident, comments []Comment) string {
	rs := Responders(inc, comments)
	if len(rs) <= maxResponders {
		return logins(rs)
	}
	return logins(rs[:maxResponders]) + fmt.Sprintf(" and %d more", len(rs)-maxResponders)
}

// Template is a parsed postmortem template.
type Template struct {
	// Source names where the template came from ("built-in" or
	// "owner/repo:.github/tasuki/postmortem.md"); errors quote it.
	Source string
	t      *template.Template
}

// TemplateError is a template that cannot be parsed or executed, with the
// file and line to fix.
type TemplateError struct {
	Source string
	Line   int // 0 when unknown
	Msg    string
}

func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("postmortem template %s line %d: %s", e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("postmortem template %s: %s", e.Source, e.Msg)
}

// text/template errors read "template: NAME:LINE[:COL]: message".
var tmplErrRe = regexp.MustCompile(`^template: .*?:(\d+)(?::\d+)?: (.*)$`)

func templateError(source string, err error) *TemplateError {
	msg := err.Error()
	te := &TemplateError{Source: source, Msg: msg}
	if m := tmplErrRe.FindStringSubmatch(msg); m != nil {
		te.Line, _ = strconv.Atoi(m[1])
		te.Msg = m[2]
	}
	return te
}

var tmplFuncs = template.FuncMap{
	// generated places a section tasuki keeps current; the real function is
	// bound at execution time.
	"generated": func(string) (string, error) { return "", nil },
}

// ParseTemplate parses a postmortem template. source names the file in
// errors. The template may use {{generated "facts"}}, "duration",
// "timeline" and "changes" and the fields of Data.
func ParseTemplate(source, text string) (*Template, error) {
	if len(text) > MaxBody {
		return nil, &TemplateError{Source: source, Msg: fmt.Sprintf("%d bytes is more than GitHub's %d-character issue body", len(text), MaxBody)}
	}
	t, err := template.New("postmortem").Funcs(tmplFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, templateError(source, err)
	}
	if err := checkTemplate(source, t); err != nil {
		return nil, err
	}
	return &Template{Source: source, t: t}, nil
}

// templateFuncs are the functions a template may call besides generated.
// None returns more than its arguments hold, so a template's output grows
// at most with its own size times the size of the fields.
var templateFuncs = map[string]bool{
	"generated": true, "and": true, "or": true, "not": true, "len": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
}

// checkTemplate refuses what would let a template from a repository (whose
// pull requests anyone may open) run long or render without bound: text/template
// has no limit of its own. {{define}} and {{template}} nest calls (five
// levels of 30 calls rendered 810 MB in 4.5 s), {{range}} loops over a
// number ({{range 100000000}} took 3 s rendering nothing), and printf, print
// and html grow text (a width, doubled variables, a chain of escapes). What
// is left runs each action at most once.
func checkTemplate(source string, t *template.Template) error {
	fail := func(tree *parse.Tree, n parse.Node, msg string) error {
		te := &TemplateError{Source: source, Msg: msg + "; a postmortem template may use the fields, generated, if, with, else, and, or, not, len and comparisons"}
		if loc, _ := tree.ErrorContext(n); loc != "" {
			if m := tmplPosRe.FindStringSubmatch(loc); m != nil {
				te.Line, _ = strconv.Atoi(m[1])
			}
		}
		return te
	}
	// Report the first {{define}} in the text (Templates is in map order).
	var first *template.Template
	for _, d := range t.Templates() {
		if d.Name() != t.Name() && d.Tree != nil && (first == nil || d.Tree.Root.Pos < first.Tree.Root.Pos) {
			first = d
		}
	}
	if first != nil {
		return fail(first.Tree, first.Tree.Root, fmt.Sprintf("{{define %q}} is not available", first.Name()))
	}
	if t.Tree == nil {
		return nil
	}
	var walk func(n parse.Node) error
	walkAll := func(nodes ...parse.Node) error {
		for _, c := range nodes {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				return walkAll(n.Nodes...)
			}
		case *parse.ActionNode:
			return walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					if err := walkAll(c.Args...); err != nil {
						return err
					}
				}
			}
		case *parse.IfNode:
			return walkAll(n.Pipe, n.List, n.ElseList)
		case *parse.WithNode:
			return walkAll(n.Pipe, n.List, n.ElseList)
		case *parse.ChainNode:
			return walk(n.Node)
		case *parse.IdentifierNode:
			if !templateFuncs[n.Ident] {
				return fail(t.Tree, n, fmt.Sprintf("function %q is not available", n.Ident))
			}
		case *parse.RangeNode:
			return fail(t.Tree, n, "{{range}} is not available")
		case *parse.TemplateNode:
			return fail(t.Tree, n, fmt.Sprintf("{{template %q}} is not available", n.Name))
		case *parse.BreakNode, *parse.ContinueNode:
			return fail(t.Tree, n, "{{break}} and {{continue}} are not available")
		}
		return nil
	}
	return walk(t.Tree.Root)
}

// tmplPosRe reads the line of parse.Tree.ErrorContext's "name:LINE:COL".
var tmplPosRe = regexp.MustCompile(`:(\d+):\d+$`)

// limitWriter fails a write once more than n bytes were written: the
// rendered body must fit GitHub's limit anyway, and stopping early keeps a
// template from building a large one first.
type limitWriter struct {
	buf bytes.Buffer
	n   int
}

var errTooLong = errors.New("too long")

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.n {
		return 0, errTooLong
	}
	return w.buf.Write(p)
}

var (
	builtinOnce sync.Once
	builtin     *Template
)

// Builtin returns the template shipped in templates/postmortem.md.
func Builtin() *Template {
	builtinOnce.Do(func() {
		b, err := templates.FS.ReadFile(templates.Postmortem)
		if err != nil {
			panic("postmortem: built-in template missing: " + err.Error())
		}
		t, err := ParseTemplate("built-in", string(b))
		if err != nil {
			panic("postmortem: built-in template: " + err.Error())
		}
		builtin = t
	})
	return builtin
}

// Data is what a template sees. Every string is safe markdown; facts that
// are not known hold Unknown.
type Data struct {
	Ref        string // owner/repo#n of the incident
	URL        string
	Title      string // escaped incident title
	Severity   string
	Service    string
	Team       string
	Owners     string
	Responders string
	Started    string
	Detected   string
	Resolved   string
	Duration   string
	Due        string
	Unknown    string
	// Summary is the summary drafted from the incident's description
	// (under DraftNote), or Unknown.
	Summary        string
	Commander      string // incident commander, as code
	Communications string // communications lead, as code
	HowDetected    string
	Mitigated      string
	TimeToDetect   string
	TimeToMitigate string
}

// Document is a rendered postmortem issue.
type Document struct {
	Title     string
	Body      string
	Labels    []string
	Assignees []string
	Severity  string
	Due       time.Time // zero: no due date (yet)
	Marker    marker.Marker
	Sections  map[string]string
}

// PostmortemMarker is the marker that identifies the postmortem of an
// incident.
func PostmortemMarker(inc Incident) marker.Marker {
	return marker.New(KindPostmortem, inc.Ref())
}

// Title returns "Postmortem: <incident title>" on one line, within
// GitHub's 256-character limit.
func Title(inc Incident) string {
	t := "Postmortem: " + strings.Join(strings.Fields(inc.Title), " ")
	if r := []rune(t); len(r) > 256 {
		t = string(r[:255]) + "…"
	}
	return t
}

// IncidentSeverity is the highest severity label of the incident, else the
// severity its issue form's "Severity" field names (issue forms cannot set
// labels from a dropdown), else "".
func IncidentSeverity(inc Incident, cfg Config) string {
	if s := cfg.Severity(inc.Labels); s != "" {
		return s
	}
	return cfg.Severity([]string{FormField(inc.Body, "Severity")})
}

type derived struct {
	started, resolved time.Time
	startedNote       string
	startFromField    bool
	detected          time.Time
	detectedNote      string
	detectedFromField bool
	mitigated         time.Time
	mitigatedNote     string
	how               string // how the incident was detected, as written
	commander, comms  string // logins
	severity          string
	due               time.Time
	hasDue            bool
}

func derive(inc Incident, facts Facts, cfg Config) derived {
	loc := cfg.Location()
	d := derived{severity: IncidentSeverity(inc, cfg), resolved: inc.ClosedAt}
	if inc.State == "open" {
		d.resolved = time.Time{}
	}
	start, err := ImpactStart(inc.Body, loc)
	switch {
	case err == nil && !start.IsZero():
		d.started, d.startedNote, d.startFromField = start, "from the incident's \"Impact started\" line", true
	case !facts.LabeledAt.IsZero():
		d.started, d.startedNote = facts.LabeledAt, "when the incident label was added"
	default:
		d.started, d.startedNote = inc.CreatedAt, "when the incident was opened"
	}
	if err != nil {
		d.startedNote += "; the \"Impact started\" line could not be read: " + inline(err.Error())
	}
	if d.started.IsZero() {
		d.startedNote = ""
	}
	d.due, d.hasDue = DueDate(d.severity, d.resolved, cfg)
	d.detected, d.detectedNote = inc.CreatedAt, "incident opened"
	if t, err := fieldTime(inc.Body, FieldDetected, loc); err != nil {
		d.detectedNote += "; " + inline(err.Error())
	} else if !t.IsZero() {
		d.detected, d.detectedNote, d.detectedFromField = t, "from the incident's \""+FieldDetected+"\"", true
	}
	if t, err := fieldTime(inc.Body, FieldMitigated, loc); err != nil {
		d.mitigatedNote = " — " + inline(err.Error())
	} else {
		d.mitigated = t
	}
	if h := Field(inc.Body, FieldHowDetected); h != "" {
		if r := []rune(h); len(r) > 200 {
			h = string(r[:199]) + "…"
		}
		d.how = h
	}
	d.commander = FieldLogin(inc.Body, FieldCommander)
	d.comms = FieldLogin(inc.Body, FieldCommunications)
	return d
}

// sinceStart renders how long after the impact start t was, Unknown when
// either is unknown or t is before the start.
func sinceStart(d derived, t time.Time) string {
	if t.IsZero() || d.started.IsZero() || t.Before(d.started) {
		return Unknown
	}
	return FormatDuration(t.Sub(d.started))
}

// Start is when impact started: the incident's "Impact started" line, else
// when the incident label was added, else when the incident was opened.
func Start(inc Incident, facts Facts, cfg Config) time.Time {
	return derive(inc, facts, cfg).started
}

// ChangesCover reports whether a changes section was rendered for impact
// starting at start under cfg; when the start moved (a person corrected the
// "Impact started" line), the changes must be listed again.
func ChangesCover(section string, start time.Time, cfg Config) bool {
	return strings.Contains(section, "impact started, "+FormatTime(start, cfg.Location())+":") &&
		strings.Contains(section, "in the "+windowText(cfg.Window())+" before")
}

// Sections renders the generated sections for inc and facts.
func Sections(inc Incident, facts Facts, cfg Config) map[string]string {
	loc := cfg.Location()
	d := derive(inc, facts, cfg)
	title := prose(inc.Title)
	if title == "" {
		title = Unknown
	}

	var f strings.Builder
	line := func(k, v string) { fmt.Fprintf(&f, "- **%s:** %s\n", k, v) }
	line("Incident", link(inc.Ref(), inc.URL)+" — "+title)
	line("Severity", orUnknown(codeOr(d.severity)))
	svc := orUnknown(codeOr(facts.Service))
	if facts.Team != "" {
		svc += " · team " + login(facts.Team)
	}
	line("Service", svc)
	line("Owners", logins(facts.Owners))
	started := FormatTime(d.started, loc)
	if d.startedNote != "" {
		started += " — " + d.startedNote
	}
	line("Impact started", started)
	line("Detected", FormatTime(d.detected, loc)+" — "+d.detectedNote)
	how := Unknown
	if d.how != "" {
		how = inline(d.how)
	}
	line("How detected", how)
	if !facts.LabeledAt.IsZero() {
		line("Declared", FormatTime(facts.LabeledAt, loc)+" — incident label added")
	}
	duration := durationText(d)
	if d.resolved.IsZero() {
		line("Resolved", "_not yet — the incident is open_")
	} else {
		line("Resolved", FormatTime(d.resolved, loc)+" — incident closed")
	}
	line("Mitigated", FormatTime(d.mitigated, loc)+d.mitigatedNote)
	line("Duration", duration)
	line("Time to detect", sinceStart(d, d.detected))
	line("Time to mitigate", sinceStart(d, d.mitigated))
	line("Incident commander", login(d.commander))
	line("Communications", login(d.comms))
	suspect := facts.Suspect
	if suspect == nil {
		suspect = SuspectDeployment(facts.Changes, d.started)
	}
	if suspect != nil {
		line("Suspect deployment", suspectText(suspect)+" — the last production deployment before impact started")
	}
	line("Postmortem due", dueText(d, cfg))
	line("Responders", respondersText(inc, facts.Comments))
	facts_ := strings.TrimRight(f.String(), "\n")
	if d.hasDue {
		facts_ += "\n" + marker.New(KindDue, d.due.Format("2006-01-02")).String()
	}
	if suspect != nil {
		facts_ += "\n" + suspectMarker(*suspect).String()
	}

	entries := Timeline(facts.Events, facts.Comments, cfg)
	if key := keyEntries(d, suspect); len(key) > 0 {
		entries = append(key, entries...)
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].At.Before(entries[j].At) })
	}
	tl := boundedTimeline(entries, cfg)

	return map[string]string{
		SectionFacts:    facts_,
		SectionDuration: duration,
		SectionTimeline: tl,
		SectionChanges:  renderChanges(facts, d.started, cfg),
	}
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

func codeOr(s string) string {
	if s == "" {
		return ""
	}
	return login(s)
}

func durationText(d derived) string {
	switch {
	case d.resolved.IsZero():
		return "_not yet — the incident is open_"
	case d.started.IsZero() || d.resolved.Before(d.started):
		return Unknown
	default:
		return FormatDuration(d.resolved.Sub(d.started))
	}
}

func dueText(d derived, cfg Config) string {
	switch {
	case d.severity == "":
		return Unknown + " — no severity label"
	case d.resolved.IsZero():
		return "set when the incident is resolved"
	case !d.hasDue:
		return "no due date for " + login(d.severity)
	}
	n := 0
	for k, v := range cfg.DueBusinessDays {
		if strings.EqualFold(k, d.severity) {
			n = v
		}
	}
	return fmt.Sprintf("**%s** (%d business days after resolution, %s)", d.due.Format("2006-01-02"), n, login(d.severity))
}

func renderChanges(facts Facts, started time.Time, cfg Config) string {
	loc := cfg.Location()
	var b strings.Builder
	if started.IsZero() {
		b.WriteString("_The impact start is unknown, so changes before it could not be listed._")
		return b.String()
	}
	w := cfg.Window()
	fmt.Fprintf(&b, "Pull requests merged and deployments in the %s before impact started, %s:\n\n", windowText(w), FormatTime(started, loc))
	changes := facts.Changes
	if len(changes) == 0 {
		b.WriteString("_None found._")
	}
	shown := changes
	if len(shown) > maxChanges {
		shown = shown[:maxChanges]
	}
	for i, c := range shown {
		if i > 0 {
			b.WriteByte('\n')
		}
		when := FormatTime(c.At, loc)
		switch c.Kind {
		case "pull":
			fmt.Fprintf(&b, "- %s — pull request %s %s", when, link(c.Repo+"#"+strconv.Itoa(c.Number), c.URL), inline(c.Title))
			if c.Actor != "" {
				b.WriteString(", merged by " + login(c.Actor))
			}
		case "deployment":
			env := c.Environment
			if env == "" {
				env = "unknown environment"
			}
			fmt.Fprintf(&b, "- %s — %s of %s to %s in %s", when, link("deployment", c.URL), login(shortRef(c.Ref)), login(env), login(c.Repo))
			if c.Actor != "" {
				b.WriteString(" by " + login(c.Actor))
			}
			if c.Status != "" {
				b.WriteString(", " + login(c.Status))
				if !c.StatusAt.IsZero() {
					b.WriteString(" at " + FormatTime(c.StatusAt, loc))
				}
			} else {
				b.WriteString(", no status reported")
			}
		}
	}
	if len(changes) > maxChanges {
		fmt.Fprintf(&b, "\n- _… %d more not shown._", len(changes)-maxChanges)
	}
	for _, g := range facts.ChangeGaps {
		b.WriteString("\n\n_Could not list changes of " + inline(g) + "; this list may be incomplete._")
	}
	return b.String()
}

// windowText shows a window in hours ("72h") or minutes.
func windowText(w time.Duration) string {
	if w%time.Hour == 0 {
		return strconv.Itoa(int(w/time.Hour)) + "h"
	}
	return strconv.Itoa(int(w/time.Minute)) + "m"
}

func shortRef(r string) string {
	if len(r) == 40 && strings.Trim(r, "0123456789abcdef") == "" {
		return r[:7]
	}
	return r
}

// Scaffold renders the postmortem of inc from tmpl (the built-in template
// when nil). The body always ends with the postmortem marker, even when an
// override forgot it, so that the writer finds the issue again.
func Scaffold(inc Incident, facts Facts, tmpl *Template, cfg Config) (Document, error) {
	if tmpl == nil {
		tmpl = Builtin()
	}
	loc := cfg.Location()
	d := derive(inc, facts, cfg)
	sections := Sections(inc, facts, cfg)
	data := Data{
		Ref:        inc.Ref(),
		URL:        safeURL(inc.URL),
		Title:      orUnknown(prose(inc.Title)),
		Severity:   orUnknown(codeOr(d.severity)),
		Service:    orUnknown(codeOr(facts.Service)),
		Team:       orUnknown(codeOr(facts.Team)),
		Owners:     logins(facts.Owners),
		Responders: respondersText(inc, facts.Comments),
		Started:    FormatTime(d.started, loc),
		Detected:   FormatTime(inc.CreatedAt, loc),
		Resolved:   FormatTime(d.resolved, loc),
		Duration:   sections[SectionDuration],
		Due:        dueText(d, cfg),
		Unknown:    Unknown,

		Summary:        DraftSummary(inc),
		Commander:      login(d.commander),
		Communications: login(d.comms),
		HowDetected:    orUnknown(inline(d.how)),
		Mitigated:      FormatTime(d.mitigated, loc),
		TimeToDetect:   sinceStart(d, d.detected),
		TimeToMitigate: sinceStart(d, d.mitigated),
	}
	used := map[string]bool{}
	t, err := tmpl.t.Clone()
	if err != nil {
		return Document{}, templateError(tmpl.Source, err)
	}
	t.Funcs(template.FuncMap{"generated": func(name string) (string, error) {
		content, ok := sections[name]
		if !ok {
			return "", fmt.Errorf("unknown generated section %q (known: changes, duration, facts, timeline)", name)
		}
		if used[name] {
			return "", fmt.Errorf("generated section %q used twice", name)
		}
		used[name] = true
		if name == SectionDuration {
			return span(name, content), nil
		}
		return block(name, content), nil
	}})
	buf := &limitWriter{n: MaxBody}
	if err := t.Execute(buf, data); err != nil {
		if errors.Is(err, errTooLong) {
			return Document{}, &TemplateError{Source: tmpl.Source, Msg: fmt.Sprintf("the rendered postmortem is more than GitHub's %d characters", MaxBody)}
		}
		return Document{}, templateError(tmpl.Source, err)
	}
	m := PostmortemMarker(inc)
	body := strings.TrimRight(buf.buf.String(), "\n") + "\n\n" + m.String() + "\n"
	if len(body) > MaxBody {
		return Document{}, &TemplateError{Source: tmpl.Source, Msg: fmt.Sprintf("the rendered postmortem is %d characters, more than GitHub's %d", len(body), MaxBody)}
	}
	labels := []string{cfg.Label}
	if d.severity != "" {
		labels = append(labels, d.severity)
	}
	doc := Document{
		Title:     Title(inc),
		Body:      body,
		Labels:    labels,
		Assignees: facts.Owners,
		Severity:  d.severity,
		Marker:    m,
		Sections:  sections,
	}
	if d.hasDue {
		doc.Due = d.due
	}
	return doc, nil
}

// IsTemplateError reports whether err is a *TemplateError.
func IsTemplateError(err error) bool {
	var te *TemplateError
	return errors.As(err, &te)
}
