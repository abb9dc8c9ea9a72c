package postmortem

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// The postmortem's /tasuki verbs, which the command shell runs.
const (
	// FollowupVerb opens an issue for each unchecked action item of a
	// postmortem.
	FollowupVerb = "followup"
	// ApproveVerb signs a postmortem off.
	ApproveVerb = "approve"
)

// timelineNote is said under the verbs in the help: /timeline is not a
// verb, but the postmortem's own reading of the incident's comments.
const timelineNote = "On an incident, a comment starting with `/timeline` (or the repository's `postmortem.timeline_command`) " +
	"adds an entry to its postmortem's timeline: `/timeline [[YYYY-MM-DD] HH:MM [zone]] text`, without a time at the comment's time, " +
	"without a zone in `postmortem.timezone`; a zone is `UTC`, an offset (`+02:00`), an IANA name (`Europe/Berlin`) or an abbreviation such as `CET`. " +
	"The timeline is rebuilt from all the incident's comments, so editing one corrects its entry.\n\n" +
	"A postmortem is complete when it is written (the sections of `postmortem.required_sections` filled in), " +
	"signed off with `/tasuki approve` by someone other than its author, and every action item is checked or its linked issue closed; " +
	"tasuki then labels it complete and closes it, saying when each happened."

// notPostmortemReply answers /tasuki followup where there are no action
// items to follow.
const notPostmortemReply = "`/tasuki followup` opens issues for the unchecked action items of a postmortem; this is not a postmortem, so there is nothing to open."

// notPostmortemApprove answers /tasuki approve off a postmortem.
const notPostmortemApprove = "`/tasuki approve` signs a postmortem off; this is not a postmortem, so there is nothing to approve."

// RegisterCommands adds the postmortem's verbs to reg: /tasuki followup
// (also follow-up), which the repository's people may run (the comment's
// author association is one of command.Insiders, as it has always
// required: opening issues in tasuki's name is not for anyone who may
// comment on a public repository); /tasuki approve, which the members of
// postmortem.reviewer_team may run, or without one the repository's
// people (its handler refuses the postmortem's authors); and the note on
// /timeline.
func (p *Handler) RegisterCommands(reg *command.Registry[config.Config]) error {
	err := reg.Register(command.Verb[config.Config]{
		Name:    FollowupVerb,
		Aliases: []string{"follow-up"},
		Summary: "on a postmortem: open an issue for each unchecked action item without one, and link it",
		Rule:    command.Rule{Associations: command.Insiders},
		Handler: command.HandlerFunc(p.runFollowup),
	})
	if err == nil {
		err = reg.Register(command.Verb[config.Config]{
			Name:    ApproveVerb,
			Summary: "on a postmortem: sign it off as reviewed (not by its author); it closes once written, approved and its action items done",
			RuleFor: approveRule,
			Handler: command.HandlerFunc(p.runApprove),
		})
	}
	if err != nil {
		return fmt.Errorf("postmortem: %w", err)
	}
	reg.Note(timelineNote)
	return nil
}

// approveRule is who may run /tasuki approve under cfg.
func approveRule(cfg config.Config) command.Rule {
	if t := cfg.Postmortem.Reviewers(); t != "" {
		return command.Rule{Teams: []string{t}}
	}
	return command.Rule{Associations: command.Insiders}
}

// runFollowup runs an accepted /tasuki followup.
func (p *Handler) runFollowup(ctx context.Context, inv command.Invocation) error {
	w := inv.Where
	log := inv.Log
	if log == nil {
		log = p.Logger()
	}
	c, err := p.Client(ctx, w.Installation)
	if err != nil {
		return err
	}
	pc := p.loadConfig(ctx, log, c, w.Owner, w.Repo).Postmortem
	return p.followup(ctx, log, c, pc, w.Owner, w.Repo, w.Issue, w.CommentID)
}

// isPostmortem reports whether is is a postmortem under pc: labelled as
// one, or an issue tasuki opened carrying its postmortem marker. A marker
// copied into a person's issue does not count: anyone may open an issue,
// and an organisation member may then run /tasuki followup on it.
func (p *Handler) isPostmortem(is *github.Issue, pc core.Config) bool {
	if is.IsPullRequest() {
		return false
	}
	return hasLabel(labelNames(is.Labels), pc.Label) || p.Identity.Trusts(is.GetUser()) && core.PostmortemOf(is.GetBody()) != ""
}

// followup answers /tasuki followup on a postmortem: an issue per unchecked
// action item without one (labelled with the action label and the item's
// priority, linking back), each found again by its marker on a retry, and
// the item's line linked to it. On an issue or pull request that is not a
// postmortem it only says so.
func (p *Handler) followup(ctx context.Context, log *slog.Logger, c *github.Client, pc core.Config, owner, repo string, number int, commentID int64) error {
	key := "postmortem-followup:" + owner + "/" + repo + "#" + strconv.Itoa(number)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		reply := marker.New(core.KindFollowup, strconv.FormatInt(commentID, 10))
		w := p.Writer(c)
		// One run per comment: the verb repeated in the comment, or the
		// comment redelivered, opens nothing more once the first run has
		// answered (each run opens the next core.MaxFollowups).
		if done, err := w.FindComment(ctx, owner, repo, number, reply); err != nil {
			return fmt.Errorf("find the reply to comment %d: %w", commentID, err)
		} else if done != nil {
			return nil
		}
		is, _, err := c.Issues.Get(ctx, owner, repo, number)
		if err != nil {
			return fmt.Errorf("get postmortem %s/%s#%d: %w", owner, repo, number, err)
		}
		if !p.isPostmortem(is, pc) {
			log.InfoContext(ctx, "/tasuki followup on an issue that is not a postmortem")
			_, err := w.Execute(ctx, owner, repo, []intent.Intent{{Kind: intent.EnsureComment, Number: number, Marker: reply, Body: notPostmortemReply}})
			return err
		}
		st := core.State{Owner: owner, Repo: repo, Number: number, Body: is.GetBody()}
		// At most core.MaxFollowups a run: a body may hold thousands.
		fus, left := core.NextFollowups(st, is.GetHTMLURL(), pc)
		type link struct {
			key string
			ref core.IssueRef
		}
		var links []link
		var created []core.IssueRef
		// Follow-ups carry the action label, but a person may remove it;
		// tasuki opened them after the postmortem, so its own issues since
		// then are where to look.
		var intents []intent.Intent
		for _, fu := range fus {
			intents = append(intents, fu.Intent(is.GetCreatedAt().Time))
		}
		res, err := w.Execute(ctx, owner, repo, intents)
		if err != nil {
			return fmt.Errorf("open follow-up issues for %s/%s#%d: %w", owner, repo, number, err)
		}
		for i, fu := range fus {
			ref := core.IssueRef{Number: int(res[i].ID)}
			links = append(links, link{fu.Item.Key, ref})
			created = append(created, ref)
		}
		if len(links) > 0 {
			// Re-read the body right before writing so that an edit made
			// while the issues were opened is not lost.
			cur, _, err := c.Issues.Get(ctx, owner, repo, number)
			if err != nil {
				return fmt.Errorf("get postmortem %s/%s#%d: %w", owner, repo, number, err)
			}
			body := cur.GetBody()
			for _, l := range links {
				body, _ = core.LinkItem(body, l.key, l.ref)
			}
			if body != cur.GetBody() {
				edit := []intent.Intent{{Kind: intent.EditIssue, Number: number, Edit: intent.IssueEdit{Body: &body}}}
				if _, err := w.Execute(ctx, owner, repo, edit); err != nil {
					return fmt.Errorf("link action items: %w", err)
				}
			}
			log.InfoContext(ctx, "follow-up issues linked", "count", len(links))
		}
		_, err = w.Execute(ctx, owner, repo, []intent.Intent{{Kind: intent.EnsureComment, Number: number, Marker: reply, Body: core.FollowupReply(created, left, commentID)}})
		return err
	})
}

// runApprove runs an accepted /tasuki approve.
func (p *Handler) runApprove(ctx context.Context, inv command.Invocation) error {
	w := inv.Where
	log := inv.Log
	if log == nil {
		log = p.Logger()
	}
	c, err := p.Client(ctx, w.Installation)
	if err != nil {
		return err
	}
	pc := p.loadConfig(ctx, log, c, w.Owner, w.Repo).Postmortem
	return p.approve(ctx, log, c, pc, w)
}

// approve records a sign-off of the postmortem w is on, in tasuki's reply
// (its hidden state is what the sweep reads), unless the commenter is one
// of the postmortem's authors: the incident's author, or a person who
// opened the postmortem issue. It then decides the postmortem at once, so
// that one written and done closes now rather than at the next sweep.
func (p *Handler) approve(ctx context.Context, log *slog.Logger, c *github.Client, pc core.Config, w command.Where) error {
	key := "postmortem-sweep:" + w.Owner + "/" + w.Repo + "#" + strconv.Itoa(w.Issue)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		reply := marker.New(core.KindApproval, strconv.FormatInt(w.CommentID, 10))
		wr := p.Writer(c)
		say := func(body string) error {
			_, err := wr.Execute(ctx, w.Owner, w.Repo, []intent.Intent{{Kind: intent.EnsureComment, Number: w.Issue, Marker: reply, Body: body}})
			return err
		}
		is, _, err := c.Issues.Get(ctx, w.Owner, w.Repo, w.Issue)
		if err != nil {
			return fmt.Errorf("get postmortem %s/%s#%d: %w", w.Owner, w.Repo, w.Issue, err)
		}
		if !p.isPostmortem(is, pc) {
			log.InfoContext(ctx, "/tasuki approve on an issue that is not a postmortem")
			return say(notPostmortemApprove)
		}
		st, err := p.state(ctx, c, w.Owner, w.Repo, is)
		if err != nil {
			return err
		}
		authors, err := p.incidentAuthor(ctx, c, is.GetBody())
		if err != nil {
			return err
		}
		st.Authors = append(st.Authors, authors...)
		now := p.Clock()
		a := core.Approval{By: w.Author, At: now, CommentID: w.CommentID, URL: w.CommentURL}
		body, ok := core.ApprovalReply(st, a, pc)
		if !ok {
			log.InfoContext(ctx, "/tasuki approve by an author refused", "author", w.Author)
			return say(body)
		}
		if err := say(body); err != nil {
			return err
		}
		log.InfoContext(ctx, "postmortem approved", "by", w.Author)
		if err := p.readRecords(ctx, log, c, &st); err != nil {
			return err
		}
		// The listing may not show the reply just posted yet.
		st.Records = append(st.Records, core.Record{Approval: &a})
		intents := core.Decide(st, now, pc)
		if _, err := wr.Execute(ctx, w.Owner, w.Repo, intents); err != nil {
			return err
		}
		for _, in := range intents {
			if in.Kind == intent.Close {
				log.InfoContext(ctx, "postmortem complete")
			}
		}
		return nil
	})
}

// incidentAuthor returns the author of the incident a tasuki postmortem
// body names (its marker), none for a postmortem written by hand.
func (p *Handler) incidentAuthor(ctx context.Context, c *github.Client, body string) ([]string, error) {
	ref := core.PostmortemOf(body)
	if ref == "" {
		return nil, nil
	}
	full, n, ok := strings.Cut(ref, "#")
	owner, repo, ok2 := strings.Cut(full, "/")
	num, err := strconv.Atoi(n)
	if !ok || !ok2 || err != nil || num <= 0 {
		return nil, nil
	}
	inc, _, err := c.Issues.Get(ctx, owner, repo, num)
	if err != nil {
		if handler.IsStatus(err, http.StatusNotFound) || handler.IsStatus(err, http.StatusGone) {
			return nil, nil
		}
		return nil, fmt.Errorf("get incident %s: %w", ref, err)
	}
	return []string{inc.GetUser().GetLogin()}, nil
}
