package command

import (
	"strconv"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// KindReply is the marker kind of tasuki's one reply to a comment's
// commands; its key is the comment ID.
const KindReply = "command-reply"

// ReplyMarker is the marker of the reply to comment commentID: the shell
// posts the reply with it (find, then create), so a redelivered comment
// gets no second reply.
func ReplyMarker(commentID int64) marker.Marker {
	return marker.New(KindReply, strconv.FormatInt(commentID, 10))
}

// Help renders the verbs, sorted, one per line with its use, as markdown.
func (r *Registry[C]) Help() string {
	var b strings.Builder
	b.WriteString("**tasuki commands**\n\n")
	for _, v := range r.verbs {
		b.WriteString("- " + mdtext.Code(v.synopsis()) + " — " + v.Summary)
		if len(v.Aliases) > 0 {
			al := make([]string, len(v.Aliases))
			for i, a := range v.Aliases {
				al[i] = mdtext.Code(Prefix + " " + a)
			}
			b.WriteString(" (also " + strings.Join(al, ", ") + ")")
		}
		b.WriteByte('\n')
	}
	for _, n := range r.notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString("\nA command is a line of its own in a new comment, at most " + strconv.Itoa(MaxCommands) +
		" in one comment; put an argument with spaces in quotes (`\"like this\"`). " +
		"Lines in code, in quotes and in HTML comments are not commands, and editing a comment does not run it again.\n")
	return b.String()
}

// Reply renders tasuki's one reply to a decided plan, ending with
// ReplyMarker(commentID): unknown verbs, refusals with who may run the
// verb, argument errors with the usage, commands that were not read, and
// the help when it was asked for or a verb was unknown. It returns false
// when there is nothing to say (every command was accepted and none asked
// for help): the accepted verbs' handlers reply for themselves.
//
// Text from the comment (an unknown verb) is escaped with mdtext, and so
// are reasons, which may name teams from the configuration and quote
// arguments: nothing in the reply can ping, link or hide.
func (r *Registry[C]) Reply(p Plan, commentID int64) (string, bool) {
	var lines []string
	help := false
	seenUnknown := map[string]bool{}
	for _, c := range p.Calls {
		switch c.Status {
		case Unknown:
			help = true
			if seenUnknown[c.Verb] {
				continue
			}
			seenUnknown[c.Verb] = true
			lines = append(lines, mdtext.Code(Prefix+" "+c.Verb)+" is not a tasuki command.")
		case Refused:
			lines = append(lines, mdtext.Code(Prefix+" "+c.Name)+": "+mdtext.Text(c.Reason)+".")
		case Invalid:
			lines = append(lines, mdtext.Code(Prefix+" "+c.Name)+": "+mdtext.Text(c.Reason)+". Usage: "+mdtext.Code(c.Usage)+".")
		case Accepted:
			if c.Name == HelpVerb {
				help = true
			}
		}
	}
	if p.Dropped > 0 {
		lines = append(lines, plural(p.Dropped, "more command was", "more commands were")+" not read: tasuki takes at most "+
			strconv.Itoa(MaxCommands)+" commands from one comment.")
	}
	if p.Truncated {
		lines = append(lines, "The comment is longer than tasuki reads; commands in its last part were not read.")
	}
	if p.TooDeep {
		lines = append(lines, "The comment nests quotes or lists too deeply; commands below that point were not read.")
	}
	if len(lines) == 0 && !help {
		return "", false
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
	if help {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.Help())
	}
	b.WriteString("\n" + ReplyMarker(commentID).String())
	return b.String(), true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
