package postmortem

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/marker"
)

// DraftNote starts a section tasuki drafted from the incident (the summary
// from its description). While the note is there the section counts as not
// filled: a person reads the draft, rewrites or keeps it, and deletes the
// note.
const DraftNote = "_Drafted by tasuki from the incident's description: rewrite or keep it, then delete this line._"

// Section returns the text under the first heading whose title is name
// (any level, case and surrounding space aside), up to the next heading of
// the same or a higher level, and whether there is such a heading. Headings
// inside fenced code blocks and HTML comments do not count.
func Section(body, name string) (string, bool) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	level, start := 0, -1
	var md mdLines
	for i, line := range lines {
		if md.skip(line) {
			continue
		}
		m := headingRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		l := len(m[1])
		if start >= 0 && l <= level {
			return strings.Join(lines[start:i], "\n"), true
		}
		if start < 0 && strings.EqualFold(strings.Join(strings.Fields(m[2]), " "), strings.Join(strings.Fields(name), " ")) {
			level, start = l, i+1
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Join(lines[start:], "\n"), true
}

var (
	htmlCommentRe = regexp.MustCompile(`(?s)<!--.*?(?:-->|$)`)
	// An inline generated section (the duration) is tasuki's, not writing.
	spanRe = regexp.MustCompile(`<!-- tasuki:begin [a-z]+ -->[^\n]*?<!-- tasuki:end [a-z]+ -->`)
	// "- **Users affected:**" with nothing after it is a field left empty.
	emptyFieldRe = regexp.MustCompile(`^[-*+][ \t]+\*\*[^*]+:?\*\*:?[ \t]*$`)
	// A checkbox without text is the form's empty item.
	emptyBoxRe = regexp.MustCompile(`^[-*+][ \t]+\[[ xX]\][ \t]*$`)
)

// Filled reports whether a section's text holds something a person wrote:
// not only HTML comments, the Unknown placeholder, prompts (blockquote lines
// written in italics, "> _What surprised us?_"), empty "**Field:**" lines,
// an inline generated span, or a draft still carrying DraftNote. A
// generated block (the timeline) counts as written: tasuki filled it from
// the incident.
func Filled(text string) bool {
	if strings.Contains(text, DraftNote) {
		return false
	}
	text = spanRe.ReplaceAllString(text, "")
	// The markers of generated blocks are comments; their content stays.
	text = htmlCommentRe.ReplaceAllString(text, "")
	text = strings.ReplaceAll(text, Unknown, "")
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case l == "", isPrompt(l), emptyFieldRe.MatchString(l), emptyBoxRe.MatchString(l):
			continue
		case strings.Trim(l, "-—_*>#| \t") == "":
			continue
		}
		return true
	}
	return false
}

// isPrompt reports whether a line is a prompt of the template: a blockquote
// whose text is all in italics.
func isPrompt(l string) bool {
	q, ok := strings.CutPrefix(l, ">")
	if !ok {
		return false
	}
	q = strings.TrimSpace(q)
	return q == "" || len(q) >= 2 && (q[0] == '_' && q[len(q)-1] == '_' || q[0] == '*' && q[len(q)-1] == '*')
}

// MissingSections returns the required sections (as configured, "A|B" for
// alternatives) that body does not have filled, in the configured order.
func MissingSections(body string, required []string) []string {
	var out []string
	for _, r := range required {
		ok := false
		for _, alt := range strings.Split(r, "|") {
			if text, found := Section(body, strings.TrimSpace(alt)); found && Filled(text) {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, strings.TrimSpace(strings.Split(r, "|")[0]))
		}
	}
	return out
}

// StateVersion is the version of the hidden postmortem-state block written
// by this build.
const StateVersion = 1

// maxStateBytes bounds a state block read back: tasuki writes a few hundred
// bytes; anything larger is not its own.
const maxStateBytes = 16 << 10

// Record is what one of tasuki's comments on a postmortem records, hidden:
// a sign-off, or the reminders it sent. The sweep reads the records of
// tasuki's own comments only (ghwrite's TrustedComments), and of each only
// the last line that is exactly a block, which tasuki writes after all
// text; text copied in (logins, titles) is defanged by mdtext and cannot
// form one.
type Record struct {
	V         int        `json:"v"`
	Approval  *Approval  `json:"approval,omitempty"`
	Reminders []Reminded `json:"reminders,omitempty"`
}

// Approval is a sign-off by /tasuki approve.
type Approval struct {
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	CommentID int64     `json:"comment,omitempty"`
	URL       string    `json:"url,omitempty"`
}

// Reminded is one escalation step sent for one subject: the postmortem
// itself (Subject SubjectPostmortem) or an action item (its Key), with the
// due date it was overdue against.
type Reminded struct {
	Subject string `json:"s"`
	Due     string `json:"d"` // YYYY-MM-DD
	Step    int    `json:"n"` // 0 owner, 1 incident commander, 2 owning team
}

// SubjectPostmortem is the reminder subject of the postmortem's own due date.
const SubjectPostmortem = "postmortem"

var stateRe = regexp.MustCompile(`(?m)^<!-- tasuki:postmortem-state v=(\d+) ([A-Za-z0-9_-]*) -->\r?$`)

// EncodeState renders r as the hidden block
// <!-- tasuki:postmortem-state v=1 BASE64URL(JSON) -->.
func EncodeState(r Record) string {
	r.V = StateVersion
	js, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("encode postmortem state: %v", err)) // plain types only
	}
	return fmt.Sprintf("<!-- tasuki:postmortem-state v=%d %s -->", StateVersion, base64.RawURLEncoding.EncodeToString(js))
}

// DecodeState reads the state block of one of tasuki's comments: the last
// line of body that is exactly a block. found is false when there is none;
// err says why a block present could not be read.
func DecodeState(body string) (r Record, found bool, err error) {
	all := stateRe.FindAllStringSubmatch(body, -1)
	if len(all) == 0 {
		return Record{}, false, nil
	}
	m := all[len(all)-1]
	if m[1] != fmt.Sprint(StateVersion) {
		return Record{}, true, fmt.Errorf("decode postmortem state: version %s, this tasuki reads %d", m[1], StateVersion)
	}
	if len(m[2]) > maxStateBytes {
		return Record{}, true, fmt.Errorf("decode postmortem state: %d bytes", len(m[2]))
	}
	js, err := base64.RawURLEncoding.DecodeString(m[2])
	if err != nil {
		return Record{}, true, fmt.Errorf("decode postmortem state: %w", err)
	}
	if err := json.Unmarshal(js, &r); err != nil {
		return Record{}, true, fmt.Errorf("decode postmortem state: %w", err)
	}
	return r, true, nil
}

// ApprovalMarker keys tasuki's reply to the /tasuki approve comment id.
func ApprovalMarker(commentID int64) marker.Marker {
	return marker.New(KindApproval, strconv.FormatInt(commentID, 10))
}

// ApprovalReply is tasuki's reply to /tasuki approve by a.By on s: the
// sign-off, recorded in the reply's hidden state, and what the postmortem
// still needs before it closes; or, when a.By is one of s.Authors, the
// refusal (ok false, nothing recorded).
func ApprovalReply(s State, a Approval, cfg Config) (body string, ok bool) {
	m := ApprovalMarker(a.CommentID)
	if a.By == "" || IsBot(a.By) || containsFold(s.Authors, a.By) {
		return fmt.Sprintf("%s cannot sign off this postmortem: they wrote it (the incident or this issue is theirs). A review needs someone else%s.\n\n%s",
			login(a.By), reviewersText(cfg), m), false
	}
	a.URL = safeURL(a.URL)
	rec := Record{Approval: &a}
	s.Records = append(append([]Record(nil), s.Records...), rec)
	p := ProgressOf(s, cfg)
	var b strings.Builder
	fmt.Fprintf(&b, "Signed off by %s on %s.", login(a.By), FormatTime(a.At, cfg.Location()))
	switch {
	case !s.Open:
		b.WriteString(" The postmortem is closed; the sign-off is recorded.")
	case p.Complete():
		b.WriteString(" It is written and every action item is done, so tasuki closes it.")
	case p.Approval != nil && p.Approval.CommentID != a.CommentID:
		fmt.Fprintf(&b, " It was already signed off by %s; before it closes it still needs %s.", login(p.Approval.By), p.Needs())
	default:
		b.WriteString(" Before it closes it still needs " + p.Needs() + ".")
	}
	// The state block goes last, after all text: DecodeState reads the
	// last line that is exactly a block.
	b.WriteString("\n\n" + m.String() + "\n" + EncodeState(rec))
	return b.String(), true
}

func reviewersText(cfg Config) string {
	if t := cfg.Reviewers(); t != "" {
		return " from " + login("@"+t)
	}
	return ""
}
