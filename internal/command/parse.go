package command

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// Prefix starts every command.
const Prefix = "/tasuki"

// Bounds on what one comment can make tasuki do or hold.
const (
	// MaxBodyBytes is the most of a comment body that is read: GitHub
	// allows 65,536 characters, which UTF-8 spells in at most four times as
	// many bytes. A longer body is cut at the last line break before the
	// limit (Parsed.Truncated).
	MaxBodyBytes = 4 * 65536
	// MaxCommands is the most commands taken from one comment; the others
	// are counted in Parsed.Dropped and not run.
	MaxCommands = 10
	// MaxLineBytes is the longest command line whose arguments are read.
	MaxLineBytes = 4096
	// MaxArgs is the most arguments a command may have.
	MaxArgs = 16
	// MaxVerbBytes is the longest verb kept; a longer one is cut (and is
	// unknown, as no registered verb is that long).
	MaxVerbBytes = 64
	// MaxDepth is the most blocks (block quotes, lists, list items, and the
	// leaf inside) open at once; a comment nested deeper is read up to the
	// line that would go deeper (Parsed.TooDeep).
	MaxDepth = 32
)

// Command is one "/tasuki VERB ARGS" line of a comment.
type Command struct {
	// Verb is the first word after /tasuki, lower-cased; "" for a bare
	// /tasuki.
	Verb string
	// Args are the words after the verb, split like a shell does: white
	// space separates, "double" (with \" and \\ inside), 'single' and
	// “curly” quotes group.
	Args []string
	// Line is the 1-based line of the comment the command is on.
	Line int
	// Text is the command line as written, without leading spaces or the
	// line ending, in valid UTF-8, cut to MaxLineBytes.
	Text string
	// Err says why the arguments could not be read ("" when they were);
	// a command with an error is not run.
	Err string
}

// Parsed is what a comment holds.
type Parsed struct {
	Commands []Command // in the order they appear, at most MaxCommands
	// Dropped counts the commands after the first MaxCommands.
	Dropped int
	// Truncated is set when the body mentions /tasuki and was longer than
	// MaxBodyBytes, so only its beginning was read.
	Truncated bool
	// TooDeep is set when the body nests blocks deeper than MaxDepth;
	// nothing from the line that would go deeper on was read.
	TooDeep bool
}

// Parse finds the commands in a comment body. A command is a line that
// starts, after at most three spaces, with /tasuki (in any case) followed by
// white space or the end of the line, and that GitHub renders as text: a
// line in a fenced or indented code block, in a block quote (including a
// line that continues a quoted paragraph without its own ">"), in an HTML
// block or comment, in a table, in a code span or HTML tag that runs over
// several lines, or in a link reference definition, is not a command, nor
// is "/tasuki" anywhere but at the start of a line. See scan.go for how
// (CommonMark's block algorithm, bounded by MaxDepth).
//
// Parse reads at most MaxBodyBytes and returns at most MaxCommands
// commands; it takes time and memory linear in the part of body it reads.
func Parse(body string) Parsed {
	var p Parsed
	if !containsFold(body, Prefix) {
		return p // most comments: nothing to read, nothing to report
	}
	if len(body) > MaxBodyBytes {
		// Keep whole lines: a cut line might be a command cut short.
		cut := strings.LastIndexAny(body[:MaxBodyBytes], "\r\n") + 1
		body, p.Truncated = body[:cut], true
		if !containsFold(body, Prefix) {
			return p
		}
	}
	found, tooDeep := scan(body, p.Truncated)
	p.TooDeep = tooDeep
	for _, f := range found {
		if len(p.Commands) == MaxCommands {
			p.Dropped++
			continue
		}
		end, _ := lineEnd(body, f.at)
		p.Commands = append(p.Commands, command(body[f.at:end], f.line))
	}
	return p
}

// command reads one command line (starting with the prefix).
func command(line string, no int) Command {
	c := Command{Line: no, Text: mdtext.Truncate(clean(line), MaxLineBytes)}
	rest := line[len(Prefix):]
	if len(line) > MaxLineBytes {
		// Name the verb in the reply even so.
		words, _ := split(mdtext.Truncate(rest, MaxVerbBytes+2), 1)
		if len(words) > 0 {
			c.Verb = verb(words[0])
		}
		c.Err = "the command is longer than " + strconv.Itoa(MaxLineBytes) + " bytes"
		return c
	}
	words, err := split(rest, MaxArgs+2) // the verb, MaxArgs and one too many
	if len(words) > 0 {
		c.Verb = verb(words[0])
		if len(words) > 1 {
			c.Args = words[1:]
		}
	}
	switch {
	case err != "":
		c.Err = err
	case len(c.Args) > MaxArgs:
		c.Err = "more than " + strconv.Itoa(MaxArgs) + " arguments"
		c.Args = c.Args[:MaxArgs]
	}
	return c
}

func verb(w string) string {
	return strings.ToLower(mdtext.Truncate(w, MaxVerbBytes))
}

// clean makes s valid UTF-8 without NUL, which GitHub's API would refuse
// and CommonMark replaces.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// split splits s into at most limit words (then stops, so that a long line
// cannot make many words), shell-like: spaces and tabs separate words;
// "double quotes" group, with \" and \\ as escapes inside; 'single quotes'
// group literally; “curly quotes” (as phones type them) group literally.
// A quote may start mid-word (a"b c" is one word, ab c). It returns a
// message when a quote is not closed.
func split(s string, limit int) (words []string, err string) {
	s = clean(s)
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
				if len(words) == limit {
					return words, ""
				}
			}
			i += size
		case r == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				w.WriteByte(s[j])
			}
			if j >= len(s) {
				return words, "a \" quote is not closed"
			}
			i = j + 1
		case r == '\'' || r == '“':
			inWord = true
			closeQ := "'"
			if r == '“' {
				closeQ = "”"
			}
			j := strings.Index(s[i+size:], closeQ)
			if j < 0 {
				return words, "a " + string(r) + " quote is not closed"
			}
			w.WriteString(s[i+size : i+size+j])
			i += size + j + len(closeQ)
		default:
			inWord = true
			w.WriteString(s[i : i+size])
			i += size
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, ""
}

// containsFold reports whether s contains sub, ignoring ASCII case.
func containsFold(s, sub string) bool {
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); {
		j := strings.IndexByte(s[i:], first)
		if j < 0 {
			return false
		}
		i += j
		if hasPrefixFold(s[i:], sub) {
			return true
		}
		i++
	}
	return false
}
