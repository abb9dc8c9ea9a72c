package config

import (
	"fmt"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// SchemaURL is where editors fetch the JSON Schema of .github/tasuki.yml
// (schema/tasuki.schema.json in tasuki's repository).
const SchemaURL = "https://raw.githubusercontent.com/tasuki-sre/tasuki/main/schema/tasuki.schema.json"

// CheckName is the check run that reports whether a repository's
// configuration is valid.
const CheckName = "tasuki/config"

// Annotation points at one problem in the repository's own file.
type Annotation struct {
	Path    string
	Line    int
	Column  int
	Message string
}

// Report is what the tasuki/config check run says about a Fetched.
type Report struct {
	Conclusion  string // success, failure or neutral
	Title       string // one line, plain text
	Summary     string // markdown
	Annotations []Annotation
}

// maxTitle keeps the title to one readable line in GitHub's checks list.
const maxTitle = 200

// Check reports on the configuration of repository full ("owner/name"):
// failure when its own file has problems (each one annotated at its line),
// neutral when only the organisation defaults do (this repository cannot fix
// those), success otherwise. f.Err must hold only ParseErrors; a GitHub
// failure is the caller's to retry, not something to report.
func Check(f Fetched, full string) Report {
	own := Source(full)
	var mine, others []*ParseError
	for _, pe := range ParseErrors(f.Err) {
		if pe.Source == own {
			mine = append(mine, pe)
		} else {
			others = append(others, pe)
		}
	}
	var r Report
	var b strings.Builder
	switch {
	case len(mine) > 0:
		r.Conclusion = "failure"
		r.Title = title(mine[0], len(mine)-1)
		fmt.Fprintf(&b, "%s has %s. tasuki keeps working: each section with a problem falls back to the organisation defaults, or to tasuki's own.\n\n",
			mdtext.Code(Path), plural(len(mine), "problem"))
		b.WriteString(mdtext.Block(lines(mine), "text"))
		for _, pe := range mine {
			if pe.Line > 0 {
				r.Annotations = append(r.Annotations, Annotation{Path: Path, Line: pe.Line, Column: pe.Column, Message: pe.Msg})
			}
		}
	case len(others) > 0:
		r.Conclusion = "neutral"
		r.Title = oneLine(mdtext.Truncate("Organisation defaults have problems: "+others[0].Msg, maxTitle))
		b.WriteString("This repository's configuration is valid, but the organisation defaults it is merged over have problems; the sections concerned use tasuki's own defaults until they are fixed there.\n\n")
		b.WriteString(mdtext.Block(lines(others), "text"))
	default:
		r.Conclusion = "success"
		if !hasSource(f.Sources, own) {
			r.Title = "No " + Path + "; defaults apply"
		} else {
			r.Title = "Configuration is valid"
		}
		b.WriteString("Effective configuration read from:\n\n")
		if len(f.Sources) == 0 {
			b.WriteString("- tasuki's defaults only\n")
		}
		for _, s := range f.Sources {
			fmt.Fprintf(&b, "- %s\n", mdtext.Code(s))
		}
	}
	fmt.Fprintf(&b, "\nEditors check the file as you type with this first line: %s\n",
		mdtext.Code("# yaml-language-server: $schema="+SchemaURL))
	r.Summary = b.String()
	return r
}

func title(pe *ParseError, more int) string {
	t := pe.Msg
	if pe.Line > 0 {
		t = fmt.Sprintf("Line %d: %s", pe.Line, pe.Msg)
	}
	suffix := ""
	if more > 0 {
		suffix = fmt.Sprintf(" (and %s)", plural(more, "more problem"))
	}
	if len(t)+len(suffix) > maxTitle {
		t = mdtext.Truncate(t, maxTitle-len(suffix))
	}
	return oneLine(t + suffix)
}

// oneLine keeps a plain-text title on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func lines(pes []*ParseError) string {
	var b strings.Builder
	for _, pe := range pes {
		b.WriteString(pe.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func hasSource(sources []string, s string) bool {
	for _, x := range sources {
		if x == s {
			return true
		}
	}
	return false
}

// WorkflowCommands renders every ParseError of f as a GitHub Actions
// workflow command ("::error file=.github/tasuki.yml,line=3,col=5::..."), so
// that the Action, or a CI step running the CLI, annotates the file in the
// pull request the same way the tasuki/config check run does.
func WorkflowCommands(f Fetched) []string {
	var out []string
	for _, pe := range ParseErrors(f.Err) {
		file := pe.Source
		if _, p, ok := strings.Cut(file, ":"); ok && strings.Contains(file[:len(file)-len(p)], "/") {
			file = p // "owner/repo:path" -> "path"
		}
		props := "file=" + escapeProperty(file)
		if pe.Line > 0 {
			props += fmt.Sprintf(",line=%d", pe.Line)
			if pe.Column > 0 {
				props += fmt.Sprintf(",col=%d", pe.Column)
			}
		}
		out = append(out, "::error "+props+"::"+escapeData(pe.Msg))
	}
	return out
}

// escapeData and escapeProperty follow the escaping of @actions/core, so a
// message cannot end the command early or start another one.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
