// Package command is the pure core of tasuki's comment commands: it finds
// the "/tasuki VERB ARGS" lines of a comment, matches them to the verbs the
// features register, decides who may run them and writes tasuki's one reply;
// no network, no GitHub, no logs. Features plug in a Handler per verb; one
// issue_comment shell does the I/O:
//
//	reg := command.NewRegistry[config.Config]()     // at start-up; help is built in
//	reg.MustRegister(command.Verb[config.Config]{
//		Name: "done", Args: "ITEM-ID URL", Summary: "tick a manual onboarding item with evidence",
//		Rule: command.Rule{Permission: command.PermWrite}, Handler: onboardingDone,
//	})
//
// and for each issue_comment delivery (comments by bots and by tasuki
// itself are skipped first, as today):
//
//	if !command.ShouldRun(ev.GetAction()) { return nil } // only "created"
//	plan := reg.Plan(command.Parse(body), cfg)            // verbs matched, rules resolved for cfg
//	facts := command.Facts{Author: login, Association: assoc, IssueAuthor: issueLogin}
//	need := plan.Needs(facts)                             // only what the payload cannot decide
//	if need.Permission { facts.Permission = command.RepositoryPermission(p.GetPermission(), p.GetRoleName()) }
//	for _, t := range need.Teams { facts.Teams[t] = isActiveMember(t) } // a bare slug is in the repo owner's org
//	plan = plan.Decide(facts)                             // Accepted, Refused (with who may), Invalid, Unknown
//	for _, c := range plan.Runnable() { c.Handler.Run(ctx, command.Invocation{Call: c, Where: w, Log: log}) }
//	if text, ok := reg.Reply(plan, commentID); ok {      // unknown verbs, refusals, usage, help
//		writer.EnsureComment(ctx, owner, repo, number, command.ReplyMarker(commentID), text)
//	}
//
// Finding commands. A command is a line that starts, after at most three
// spaces, with /tasuki and that GitHub shows as text. The parser is a line
// scanner that ports the block algorithm of CommonMark's reference parser
// (containers matched line by line, then leaf blocks), so fences of either
// kind and any length, indented code, block quotes with their lazy
// continuation lines, HTML blocks, list items and GitHub tables sit where
// GitHub puts them; each paragraph is then scanned for code spans, raw HTML
// (comments, tags whose attributes run over lines) and autolinks. goldmark,
// already a dependency, was measured and not used: on 64 KiB of nested
// quotes and lists it takes half a second, on 256 KiB seven seconds, as its
// work grows with nesting depth times length. The scanner caps nesting at
// MaxDepth, so it is linear; FuzzParse checks it against goldmark on small
// bodies (every command it finds is text to goldmark too) and
// TestParseBounds checks time and memory on hostile bodies.
//
// Bounds: MaxBodyBytes read, MaxCommands taken (the rest counted, not run,
// and said in the reply), MaxLineBytes and MaxArgs per command, MaxVerbBytes
// per verb, MaxDepth of nesting. Verbs are matched in lower case; arguments
// keep theirs and are split like a shell's ("double", 'single' and “curly”
// quotes group).
//
// Running once. ShouldRun accepts only "created": editing a comment does not
// run it again. A redelivered "created" runs the handlers again, so they
// must be idempotent, as the reply is (its marker is keyed by the comment).
//
// Who may. A Rule is declarative and allows whoever meets any one of its
// conditions: an author association, a minimum repository permission,
// membership of a team (fixed, or read from the configuration by
// Verb.RuleFor), authorship of the issue, or anyone. Needs asks for the
// permission and team facts only when the payload (association, authors)
// does not already allow; Allowed gives the reason a person reads
// ("only members of @acme/core-sre may run this command").
//
// /timeline is not a verb. A timeline entry is a comment that starts with
// the configured postmortem.timeline_command, read by the postmortem feature
// whenever it rebuilds the timeline from all the incident's comments
// (edited ones too, so a corrected time is picked up); a verb runs once when
// its comment is created. The postmortem feature can mention it in the help
// with Registry.Note.
package command
