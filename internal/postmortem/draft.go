package postmortem

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Incident form fields the postmortem drafts from (templates/incident.yml).
const (
	FieldCommander      = "Incident commander"
	FieldCommunications = "Communications lead"
	FieldHowDetected    = "How detected"
	FieldDetected       = "Detected at"
	FieldMitigated      = "Mitigated at"
	FieldDescription    = "Description"
)

// Field returns the value of a field of the incident: the issue form's
// "### name" paragraph, else a "name: value" line; "" when absent.
func Field(body, name string) string {
	if v := FormField(body, name); v != "" {
		return v
	}
	re := regexp.MustCompile(`(?im)^[ \t]*(?:\*\*)?` + regexp.QuoteMeta(name) + `(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*(\S.*)$`)
	if m := re.FindStringSubmatch(strings.ReplaceAll(body, "\r\n", "\n")); m != nil {
		v := strings.TrimSpace(m[1])
		if v == "_No response_" {
			return ""
		}
		return v
	}
	return ""
}

var repoRe = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)

var fieldLoginRe = regexp.MustCompile(`^@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$`)

// FieldLogin returns the GitHub login a field names ("@alice" or "alice"),
// "" when it names none.
func FieldLogin(body, name string) string {
	v := strings.Trim(Field(body, name), "*_` ")
	if m := fieldLoginRe.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return ""
}

// fieldTime reads a time field; the error names the field.
func fieldTime(body, name string, loc *time.Location) (time.Time, error) {
	v := strings.Trim(Field(body, name), "*_` ")
	if v == "" || strings.EqualFold(v, "No response") {
		return time.Time{}, nil
	}
	t, err := ParseTime(v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", strings.ToLower(name), v, err)
	}
	return t, nil
}

// maxDraft bounds the summary drafted from the incident's description.
const maxDraft = 2000

// DraftSummary drafts the summary from the incident's "Description" field
// (or, for an issue not from the form, its body up to the first heading),
// each line escaped, under DraftNote; Unknown when there is nothing to
// draft from.
func DraftSummary(inc Incident) string {
	text := formParagraph(inc.Body, FieldDescription)
	if text == "" && !strings.Contains(inc.Body, "### ") {
		text = inc.Body
	}
	var lines []string
	n := 0
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if impactRe.MatchString(l) {
			continue // the facts say it
		}
		if l == "" {
			if len(lines) > 0 && lines[len(lines)-1] != "" {
				lines = append(lines, "")
			}
			continue
		}
		if n += len(l); n > maxDraft {
			lines = append(lines, "…")
			break
		}
		lines = append(lines, prose(l))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return Unknown
	}
	return DraftNote + "\n\n" + strings.Join(lines, "\n")
}

// formParagraph returns the whole paragraph(s) an issue form wrote under
// "### name", up to the next heading; "" when absent or empty.
func formParagraph(body, name string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	for i, l := range lines {
		h, ok := strings.CutPrefix(strings.TrimSpace(l), "### ")
		if !ok || !strings.EqualFold(strings.TrimSpace(h), name) {
			continue
		}
		var out []string
		for _, v := range lines[i+1:] {
			if strings.HasPrefix(strings.TrimSpace(v), "### ") {
				break
			}
			out = append(out, v)
		}
		p := strings.TrimSpace(strings.Join(out, "\n"))
		if p == "_No response_" {
			return ""
		}
		return p
	}
	return ""
}

// IsProduction reports whether a deployment environment is production.
func IsProduction(env string) bool {
	e := strings.ToLower(strings.TrimSpace(env))
	return e == "production" || e == "prod" || e == "prd" || e == "live" ||
		strings.HasPrefix(e, "production") || strings.HasPrefix(e, "prod-") || strings.HasPrefix(e, "prod_")
}

// SuspectDeployment is the last production deployment created before
// start among changes (a failed or errored one changed nothing), nil if
// none.
func SuspectDeployment(changes []Change, start time.Time) *Change {
	var best *Change
	for i := range changes {
		c := changes[i]
		if c.Kind != "deployment" || !IsProduction(c.Environment) || c.At.After(start) ||
			c.Status == "failure" || c.Status == "error" {
			continue
		}
		if best == nil || c.At.After(best.At) {
			best = &changes[i]
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	// The suspect is recorded as JSON, which carries only valid UTF-8;
	// what is shown and what is read back must be the same.
	for _, f := range []*string{&c.Repo, &c.Ref, &c.Environment, &c.Actor} {
		*f = strings.ToValidUTF8(*f, "\uFFFD")
	}
	return &c
}

// suspectJSON is the suspect deployment as its hidden marker records it.
type suspectJSON struct {
	Repo string    `json:"r"`
	Ref  string    `json:"f"`
	Env  string    `json:"e"`
	By   string    `json:"b,omitempty"`
	At   time.Time `json:"t"`
}

// suspectMarker records the suspect in the facts section, so that updates
// that do not list changes again keep it.
func suspectMarker(c Change) marker.Marker {
	js, _ := json.Marshal(suspectJSON{Repo: c.Repo, Ref: c.Ref, Env: c.Environment, By: c.Actor, At: c.At.UTC()})
	return marker.New(KindSuspect, hex.EncodeToString(js))
}

// SuspectOf reads back the suspect deployment tasuki recorded in the facts
// section of a postmortem body, nil if none.
func SuspectOf(body string) *Change {
	facts, ok := GeneratedSection(body, SectionFacts)
	if !ok {
		return nil
	}
	for _, m := range marker.Find(facts) {
		if m.Kind != KindSuspect || len(m.Key) > 4096 {
			continue
		}
		js, err := hex.DecodeString(m.Key)
		if err != nil {
			return nil
		}
		var s suspectJSON
		if json.Unmarshal(js, &s) != nil || s.At.IsZero() {
			return nil
		}
		url := ""
		if repoRe.MatchString(s.Repo) {
			url = "https://github.com/" + s.Repo + "/deployments"
		}
		return &Change{Kind: "deployment", Repo: s.Repo, Ref: s.Ref, Environment: s.Env, Actor: s.By, At: s.At, URL: url}
	}
	return nil
}

func suspectText(c *Change) string {
	s := fmt.Sprintf("%s of %s to %s in %s", link("deployment", c.URL), login(shortRef(c.Ref)), login(c.Environment), login(c.Repo))
	if c.Actor != "" {
		s += " by " + login(c.Actor)
	}
	return s
}

// keyEntries are the timeline entries of the incident's own facts: when
// impact started and when it was detected and mitigated (as the incident
// says; the times tasuki only guessed are left out), and the suspect
// deployment.
func keyEntries(d derived, suspect *Change) []Entry {
	var out []Entry
	if d.startFromField {
		out = append(out, Entry{At: d.started, Text: "**impact started** (the incident's \"Impact started\")", Source: "fact"})
	}
	if d.detectedFromField {
		text := "**detected**"
		if d.how != "" {
			text += " — " + inline(d.how)
		}
		out = append(out, Entry{At: d.detected, Text: text + " (the incident's \"" + FieldDetected + "\")", Source: "fact"})
	}
	if !d.mitigated.IsZero() {
		out = append(out, Entry{At: d.mitigated, Text: "**mitigated** (the incident's \"" + FieldMitigated + "\")", Source: "fact"})
	}
	if suspect != nil {
		out = append(out, Entry{At: suspect.At, Text: "**suspect deployment:** " + suspectText(suspect) + " — the last production deployment before impact started", Source: "fact"})
	}
	return out
}
