package command

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// ShouldRun reports whether an issue_comment delivery with this action may
// run commands: only "created". An edited comment is not run again (its
// commands ran, or were refused, when it was created, and re-running on an
// edit would let anyone replay them by touching the text), and a deleted one
// is gone.
func ShouldRun(action string) bool { return action == "created" }

// Handler runs one verb. A feature implements it; the shell calls it for
// each accepted command of a comment, in order. It does its own I/O and
// replies (idempotently: a redelivered comment runs it again).
type Handler interface {
	Run(ctx context.Context, inv Invocation) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, inv Invocation) error

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, inv Invocation) error { return f(ctx, inv) }

// Invocation is what a Handler gets.
type Invocation struct {
	Call  Call         // the command, its verb's name and why it was accepted
	Where Where        // where the comment is
	Log   *slog.Logger // the shell's logger (delivery, repo, issue, ...)
}

// Where locates a comment.
type Where struct {
	Installation int64
	Owner, Repo  string
	Issue        int  // the issue or pull request number
	PullRequest  bool // the comment is on a pull request's conversation
	CommentID    int64
	CommentURL   string
	Author       string // login of the comment's author
}

// HelpVerb is built into every registry: it lists the verbs.
const HelpVerb = "help"

// Verb is what a feature registers. C is the shell's configuration type, so
// that who may run a verb can come from the repository's configuration.
type Verb[C any] struct {
	// Name is the verb as typed after /tasuki: a lower-case letter, then
	// lower-case letters, digits or '-', at most 32.
	Name string
	// Aliases are other names for it (same form as Name).
	Aliases []string
	// Args names the arguments for the usage line ("ITEM-ID URL"); "" when
	// there are none.
	Args string
	// Summary says what the verb does, in one line of markdown written by
	// tasuki (never text from a comment).
	Summary string
	// Rule says who may run it; RuleFor, when set, gives it from the
	// repository's configuration instead (a team named there).
	Rule    Rule
	RuleFor func(cfg C) Rule
	// Check, when set, validates the arguments before anything runs; its
	// error is shown with the usage. It must not do I/O.
	Check func(args []string) error
	// Handler runs the verb.
	Handler Handler
}

// Usage is the verb's one-line use:
// "/tasuki done ITEM-ID URL — tick a manual onboarding item with evidence".
func (v Verb[C]) Usage() string { return v.synopsis() + " — " + v.Summary }

func (v Verb[C]) synopsis() string {
	s := Prefix + " " + v.Name
	if v.Args != "" {
		s += " " + v.Args
	}
	return s
}

// Registry holds the verbs of every feature. Register them at start-up; a
// Registry is then safe for concurrent use.
type Registry[C any] struct {
	byName map[string]*Verb[C] // names and aliases
	verbs  []*Verb[C]          // sorted by name
	notes  []string
}

// NewRegistry returns a registry holding only the help verb.
func NewRegistry[C any]() *Registry[C] {
	r := &Registry[C]{byName: map[string]*Verb[C]{}}
	r.MustRegister(Verb[C]{Name: HelpVerb, Summary: "list these commands", Rule: Rule{Anyone: true}})
	return r
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Register adds a verb. It refuses a malformed or taken name or alias, an
// empty or multi-line summary, a verb without handler (only help has none)
// and a verb nobody may run.
func (r *Registry[C]) Register(v Verb[C]) error {
	names := append([]string{v.Name}, v.Aliases...)
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("register %s verb %q: name %q given twice", Prefix, v.Name, n)
		}
		if !nameRe.MatchString(n) {
			return fmt.Errorf("register %s verb %q: name must match %s", Prefix, n, nameRe)
		}
		if _, taken := r.byName[n]; taken {
			return fmt.Errorf("register %s verb %q: name taken", Prefix, n)
		}
	}
	switch {
	case strings.TrimSpace(v.Summary) == "" || strings.ContainsAny(v.Summary, "\r\n"):
		return fmt.Errorf("register %s verb %q: summary must be one line", Prefix, v.Name)
	case strings.ContainsAny(v.Args, "\r\n`"):
		return fmt.Errorf("register %s verb %q: args must be one line without backticks", Prefix, v.Name)
	case v.Handler == nil && v.Name != HelpVerb:
		return fmt.Errorf("register %s verb %q: no handler", Prefix, v.Name)
	case v.Rule.IsZero() && v.RuleFor == nil:
		return fmt.Errorf("register %s verb %q: no rule: no one could run it", Prefix, v.Name)
	}
	p := &v
	p.Aliases = slices.Clone(v.Aliases)
	for _, n := range names {
		r.byName[n] = p
	}
	r.verbs = append(r.verbs, p)
	slices.SortFunc(r.verbs, func(a, b *Verb[C]) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// MustRegister is Register for start-up code: it panics on error.
func (r *Registry[C]) MustRegister(v Verb[C]) {
	if err := r.Register(v); err != nil {
		panic(err)
	}
}

// Note adds a paragraph of markdown (written by tasuki) under the verb list
// of the help, e.g. about comments that are not /tasuki commands.
func (r *Registry[C]) Note(markdown string) { r.notes = append(r.notes, strings.TrimSpace(markdown)) }

// Status is where a call stands.
type Status int

// Call statuses. Plan leaves known verbs Undecided; Decide settles them.
const (
	Undecided Status = iota // a known verb, before Decide
	Unknown                 // no verb by that name
	Refused                 // the author may not run it
	Invalid                 // allowed, but its arguments are wrong (Err)
	Accepted                // to be run
)

var statusNames = [...]string{"undecided", "unknown", "refused", "invalid", "accepted"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "status(" + fmt.Sprint(int(s)) + ")"
	}
	return statusNames[s]
}

// Call is one command of a comment, matched to its verb.
type Call struct {
	Command
	Name    string  // the registered verb, aliases resolved; "" when unknown
	Usage   string  // its synopsis: "/tasuki done ITEM-ID URL"
	Rule    Rule    // who may run it, for this repository
	Handler Handler // nil for help and unknown verbs
	Status  Status
	// Reason is plain text: why it was refused or invalid, or which
	// condition of the rule accepted it (for logs).
	Reason string
}

// Plan is what a comment asks of tasuki: its commands matched to verbs,
// before and after the permission facts are applied.
type Plan struct {
	Calls     []Call
	Dropped   int  // commands beyond MaxCommands, not run
	Truncated bool // the comment was longer than MaxBodyBytes
	TooDeep   bool // the comment nests deeper than MaxDepth
}

// Plan matches parsed commands to verbs, resolving each verb's rule for
// the repository's configuration cfg. A bare /tasuki asks for help.
func (r *Registry[C]) Plan(p Parsed, cfg C) Plan {
	out := Plan{Dropped: p.Dropped, Truncated: p.Truncated, TooDeep: p.TooDeep}
	for _, c := range p.Commands {
		name := c.Verb
		if name == "" {
			name = HelpVerb
		}
		v, ok := r.byName[name]
		if !ok {
			out.Calls = append(out.Calls, Call{Command: c, Status: Unknown, Reason: "unknown command"})
			continue
		}
		call := Call{Command: c, Name: v.Name, Usage: v.synopsis(), Rule: v.Rule, Handler: v.Handler}
		if v.RuleFor != nil {
			call.Rule = v.RuleFor(cfg)
		}
		if v.Name == HelpVerb {
			call.Err = "" // help takes no arguments and ignores any
		}
		if call.Err == "" && v.Check != nil {
			if err := v.Check(c.Args); err != nil {
				call.Err = err.Error()
			}
		}
		out.Calls = append(out.Calls, call)
	}
	return out
}

// Needs returns what must be fetched to decide the undecided calls, given
// the payload's facts (Author, Association, IssueAuthor): nothing for a
// call the payload already allows.
func (p Plan) Needs(f Facts) Needs {
	var n Needs
	for _, c := range p.Calls {
		if c.Status == Undecided {
			n.add(c.Rule, f)
		}
	}
	return n
}

// Decide settles every undecided call with the facts: Refused when the
// author may not run it, else Invalid when its arguments are wrong, else
// Accepted. Refusal comes first so that a stranger learns nothing about a
// verb's arguments. It returns a new Plan.
func (p Plan) Decide(f Facts) Plan {
	p.Calls = slices.Clone(p.Calls)
	for i := range p.Calls {
		c := &p.Calls[i]
		if c.Status != Undecided {
			continue
		}
		ok, why := Allowed(c.Rule, f)
		switch {
		case !ok:
			c.Status, c.Reason = Refused, why
		case c.Err != "":
			c.Status, c.Reason = Invalid, c.Err
		default:
			c.Status, c.Reason = Accepted, why
		}
	}
	return p
}

// Runnable returns the accepted calls that have a handler, in order.
func (p Plan) Runnable() []Call {
	var out []Call
	for _, c := range p.Calls {
		if c.Status == Accepted && c.Handler != nil {
			out = append(out, c)
		}
	}
	return out
}
