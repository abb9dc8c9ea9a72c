package command

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmd is a command as the tests write it: "LINE: verb arg arg" with the
// arguments as Args holds them, joined by '|'.
type cmd struct {
	Line int
	Verb string
	Args string
	Err  string
}

func cmds(p Parsed) []cmd {
	var out []cmd
	for _, c := range p.Commands {
		out = append(out, cmd{c.Line, c.Verb, strings.Join(c.Args, "|"), c.Err})
	}
	return out
}

var parseCases = []struct {
	name string
	body string
	want []cmd
}{
	{"alone", "/tasuki help", []cmd{{1, "help", "", ""}}},
	{"bare", "/tasuki", []cmd{{1, "", "", ""}}},
	{"no command", "thanks for the fix", nil},
	{"not at line start", "please run /tasuki help", nil},
	{"prefix of a word", "/tasukihelp\n/tasuki-help\n/tasuki:help", nil},
	{"leading spaces up to three", " /tasuki a\n  /tasuki b\n   /tasuki c\n\n    /tasuki d", []cmd{{1, "a", "", ""}, {2, "b", "", ""}, {3, "c", "", ""}}},
	{"leading tab is indented code", "\t/tasuki help", nil},
	{"after text in the same paragraph", "Ticking the backup item:\n/tasuki done db-backup https://runbook/backup", []cmd{{2, "done", "db-backup|https://runbook/backup", ""}}},
	{"case of prefix and verb", "/TASUKI Help\n/Tasuki DONE Item-1 https://E/x", []cmd{{1, "help", "", ""}, {2, "done", "Item-1|https://E/x", ""}}},
	{"CRLF", "hello\r\n/tasuki done A https://e\r\n/tasuki help\r\n", []cmd{{2, "done", "A|https://e", ""}, {3, "help", "", ""}}},
	{"CR alone ends lines", "hello\r/tasuki help\r", []cmd{{2, "help", "", ""}}},
	{"multiple", "/tasuki done A https://a\n/tasuki done B https://b\n\nand\n/tasuki na C \"no database here\"",
		[]cmd{{1, "done", "A|https://a", ""}, {2, "done", "B|https://b", ""}, {5, "na", "C|no database here", ""}}},
	{"team and flag", "/tasuki handoff @org/team-sre --tier A", []cmd{{1, "handoff", "@org/team-sre|--tier|A", ""}}},
	{"tabs and runs of spaces", "/tasuki\tdone   A\t\thttps://e  ", []cmd{{1, "done", "A|https://e", ""}}},

	// Quoting.
	{"double quotes", `/tasuki na X "no database here"`, []cmd{{1, "na", "X|no database here", ""}}},
	{"escapes in double quotes", `/tasuki na X "say \"hi\" \\ bye" "a\b"`, []cmd{{1, "na", `X|say "hi" \ bye|a\b`, ""}}},
	{"single quotes are literal", `/tasuki na X 'it "is" \ fine'`, []cmd{{1, "na", `X|it "is" \ fine`, ""}}},
	{"curly quotes from phones", "/tasuki na X “no database here”", []cmd{{1, "na", "X|no database here", ""}}},
	{"apostrophe in a curly quote", "/tasuki na X “don’t need it”", []cmd{{1, "na", "X|don’t need it", ""}}},
	{"quote mid-word", `/tasuki na a"b c"d`, []cmd{{1, "na", "ab cd", ""}}},
	{"empty quotes are an argument", `/tasuki na X ""`, []cmd{{1, "na", "X|", ""}}},
	{"unclosed quote", `/tasuki na X "no database`, []cmd{{1, "na", "X", `a " quote is not closed`}}},
	{"unclosed single quote", `/tasuki na X 'no`, []cmd{{1, "na", "X", `a ' quote is not closed`}}},
	{"backslash outside quotes is literal", `/tasuki done C:\x https://e`, []cmd{{1, "done", `C:\x|https://e`, ""}}},

	// Code.
	{"backtick fence", "```\n/tasuki help\n```\n/tasuki done A https://e", []cmd{{4, "done", "A|https://e", ""}}},
	{"tilde fence", "~~~\n/tasuki help\n~~~", nil},
	{"fence with info string", "```sh\n/tasuki help\n```", nil},
	{"longer fence needs longer close", "````\n```\n/tasuki help\n````\n/tasuki na X y", []cmd{{5, "na", "X|y", ""}}},
	{"tilde does not close backticks", "```\n~~~\n/tasuki help\n```", nil},
	{"indented fence", "   ```\n/tasuki help\n   ```", nil},
	{"unclosed fence runs to the end", "```\n\n/tasuki help", nil},
	{"four spaces is not a fence", "    ```\n/tasuki help", []cmd{{2, "help", "", ""}}},
	{"backtick in info string is no fence", "``` a`b\n/tasuki help", []cmd{{2, "help", "", ""}}},
	{"indented code", "text\n\n    /tasuki help\n\n/tasuki na X y", []cmd{{5, "na", "X|y", ""}}},
	{"fence in a list item", "- step:\n  ```\n  /tasuki help\n  ```\n/tasuki na X y", []cmd{{5, "na", "X|y", ""}}},
	{"fence in a list ends with the item", "- ```\n```\n/tasuki help\n```\n/tasuki na X y", []cmd{{5, "na", "X|y", ""}}},
	{"inline code span over lines", "see `a\n/tasuki help\n` there", nil},
	{"balanced code spans around", "`a`\n/tasuki done `x` https://e\n`b`", []cmd{{2, "done", "`x`|https://e", ""}}},
	{"escaped backtick opens nothing", "\\`a\n/tasuki help\n`", []cmd{{2, "help", "", ""}}},

	// Quotes.
	{"quoted", "> /tasuki help", nil},
	{"quoted after spaces", "  > /tasuki help", nil},
	{"nested quote", "> > /tasuki help", nil},
	{"lazy continuation of a quote", "> I asked\n/tasuki help", nil},
	{"quote ended by a blank line", "> I asked\n\n/tasuki help", []cmd{{3, "help", "", ""}}},
	{"quote in a list", "- > a\n/tasuki help", nil},

	// HTML.
	{"HTML comment block", "<!--\n/tasuki help\n-->\n/tasuki na X y", []cmd{{4, "na", "X|y", ""}}},
	{"HTML comment inline", "note <!-- hidden\n/tasuki help\n--> shown\n\n/tasuki na X y", []cmd{{5, "na", "X|y", ""}}},
	{"HTML comment of an issue template", "<!-- Use /tasuki help to list commands.\n/tasuki help\n-->", nil},
	{"HTML block until a blank line", "<details>\n/tasuki help\n\n/tasuki na X y\n</details>", []cmd{{4, "na", "X|y", ""}}},
	{"tag attribute over lines", "a <span title=\"\n/tasuki help\n\">b</span>", nil},
	{"pre block", "<pre>\n\n/tasuki help\n</pre>", nil},
	{"less-than is not HTML", "1 < 2\n/tasuki help", []cmd{{2, "help", "", ""}}},

	// Other places.
	{"list item marker before", "- /tasuki help\n1. /tasuki help", nil},
	{"list item continuation", "- first\n  /tasuki help", []cmd{{2, "help", "", ""}}},
	{"heading", "# /tasuki help", nil},
	{"table row", "| a | b |\n|---|---|\n/tasuki help", nil},
	{"text before a table", "/tasuki help\n| a | b |\n|---|---|", []cmd{{1, "help", "", ""}}},
	{"link reference definition", "[a]:\n/tasuki", nil},

	// Bounds.
	{"at most ten", strings.Repeat("/tasuki help\n", 12), func() []cmd {
		var w []cmd
		for i := 1; i <= MaxCommands; i++ {
			w = append(w, cmd{i, "help", "", ""})
		}
		return w
	}()},
	{"too many arguments", "/tasuki na" + strings.Repeat(" x", MaxArgs+5), []cmd{{1, "na", strings.TrimSuffix(strings.Repeat("x|", MaxArgs), "|"), "more than 16 arguments"}}},
	{"sixteen arguments", "/tasuki na" + strings.Repeat(" x", MaxArgs), []cmd{{1, "na", strings.TrimSuffix(strings.Repeat("x|", MaxArgs), "|"), ""}}},
	{"line too long", "/tasuki na X " + strings.Repeat("y", MaxLineBytes), []cmd{{1, "na", "", "the command is longer than 4096 bytes"}}},
	{"long verb is cut", "/tasuki " + strings.Repeat("v", 100), []cmd{{1, strings.Repeat("v", MaxVerbBytes-len("…")) + "…", "", ""}}},
	{"NUL and invalid UTF-8", "/tasuki na X a\x00b\xff", []cmd{{1, "na", "X|a\uFFFDb\uFFFD", ""}}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.body)
			if diff := cmp.Diff(tc.want, cmds(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%q) commands (-want +got):\n%s", tc.body, diff)
			}
			checkParse(t, tc.body)
		})
	}
}

func TestParseReportsBounds(t *testing.T) {
	t.Run("dropped", func(t *testing.T) {
		p := Parse(strings.Repeat("/tasuki help\n", MaxCommands+3))
		if len(p.Commands) != MaxCommands || p.Dropped != 3 {
			t.Errorf("got %d commands, %d dropped; want %d, 3", len(p.Commands), p.Dropped, MaxCommands)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		head := "/tasuki help\n\n" // a blank line closes its paragraph before the cut
		body := head + strings.Repeat("a", MaxBodyBytes) + "\n/tasuki na X y"
		p := Parse(body)
		if !p.Truncated || len(p.Commands) != 1 || p.Commands[0].Verb != "help" {
			t.Errorf("Parse(long) = %+v; want the first command only, truncated", p)
		}
	})
	t.Run("long without commands is not reported", func(t *testing.T) {
		if p := Parse(strings.Repeat("a\n", MaxBodyBytes)); p.Truncated {
			t.Errorf("Parse = %+v; want nothing reported", p)
		}
	})
	t.Run("command only past the cut", func(t *testing.T) {
		if p := Parse(strings.Repeat("a\n", MaxBodyBytes/2) + "/tasuki help"); !p.Truncated || len(p.Commands) != 0 {
			t.Errorf("Parse = %+v; want truncated, no command", p)
		}
	})
	t.Run("truncation drops the open paragraph", func(t *testing.T) {
		// The code span opened above might close past the cut.
		body := "`\n/tasuki help\n" + strings.Repeat("a\n", MaxBodyBytes/2)
		if p := Parse(body); len(p.Commands) != 0 || !p.Truncated {
			t.Errorf("Parse = %+v; want nothing, truncated", p)
		}
	})
	t.Run("too deep", func(t *testing.T) {
		body := "/tasuki help\n\n" + strings.Repeat(">", MaxDepth+1) + " x\n\n/tasuki na X y"
		p := Parse(body)
		if !p.TooDeep || len(p.Commands) != 1 || p.Commands[0].Verb != "help" {
			t.Errorf("Parse(deep) = %+v; want the first command only, too deep", p)
		}
	})
	t.Run("deep but within bounds", func(t *testing.T) {
		body := strings.Repeat("> ", 10) + "x\n\n/tasuki help"
		if p := Parse(body); p.TooDeep || len(p.Commands) != 1 {
			t.Errorf("Parse = %+v; want one command", p)
		}
	})
}
