// Package marker formats and finds the hidden markers that tasuki puts in
// every artefact it writes (comments, issues, PR bodies), so that a retried
// job finds what an earlier attempt already posted instead of posting twice.
//
// A marker is an HTML comment: <!-- tasuki:KIND key=VALUE v=1 -->.
package marker

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Version is the marker format version written by this build.
const Version = 1

// Marker identifies one artefact: its kind (plan-review, postmortem, ...) and
// a key unique within that kind (a PR number, an incident URL, ...).
type Marker struct {
	Kind    string
	Key     string
	Version int
}

// New returns a marker of the current version.
func New(kind, key string) Marker { return Marker{Kind: kind, Key: key, Version: Version} }

// String renders the marker as the HTML comment embedded in bodies.
// Kind and key must not contain spaces or "--"; New's callers use slugs,
// numbers and URLs, and String replaces anything unsafe so the comment cannot
// be closed early by a key taken from user input.
func (m Marker) String() string {
	v := m.Version
	if v == 0 {
		v = Version
	}
	return fmt.Sprintf("<!-- tasuki:%s key=%s v=%d -->", sanitize(m.Kind), sanitize(m.Key), v)
}

func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		// Find matches non-space runs, so every kind of white space goes.
		if unicode.IsSpace(r) || r == '<' || r == '>' {
			return '_'
		}
		return r
	}, s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	if s == "" {
		return "_" // Find needs at least one character
	}
	return s
}

var re = regexp.MustCompile(`<!-- tasuki:([^\s]+) key=([^\s]+) v=(\d+) -->`)

// Find returns every marker present in body, in order of appearance.
func Find(body string) []Marker {
	var out []Marker
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.Atoi(m[3])
		out = append(out, Marker{Kind: m[1], Key: m[2], Version: v})
	}
	return out
}

// Defang returns s with every "<!--" broken by a zero-width space (U+200B)
// between "<!" and "--". It is the one rule for text that tasuki copies into
// what it writes (plan addresses and values, incident titles and bodies,
// comments, file names): such text then cannot open an HTML comment, so it
// cannot form a marker, a hidden facts block or a section boundary that a
// tasuki reader would take for its own, and it cannot hide the rest of a
// comment from the person reading it. The text still reads the same.
//
// Every escaping function in internal/mdtext applies it; text that reaches a
// body without going through mdtext must be passed through Defang.
func Defang(s string) string {
	if !strings.Contains(s, "<!--") {
		return s
	}
	return strings.ReplaceAll(s, "<!--", "<!"+zwsp+"--")
}

const zwsp = "\u200b"

// In reports whether body carries a marker of the same kind and key (any version).
func (m Marker) In(body string) bool {
	want := Marker{Kind: sanitize(m.Kind), Key: sanitize(m.Key)}
	for _, f := range Find(body) {
		if f.Kind == want.Kind && f.Key == want.Key {
			return true
		}
	}
	return false
}
