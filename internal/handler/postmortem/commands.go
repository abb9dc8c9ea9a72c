package postmortem

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// The postmortem's /tasuki verbs, which the command shell runs.
const (
	// FollowupVerb opens an issue for each unchecked action item of a
	// postmortem.
	FollowupVerb = "followup"
)

// timelineNote is said under the verbs in the help: /timeline is not a
// verb, but the postmortem's own reading of the incident's comments.
const timelineNote = "On an incident, a comment starting with `/timeline` (or the repository's `postmortem.timeline_command`) " +
	"adds an entry to its postmortem's timeline: `/timeline [[YYYY-MM-DD] HH:MM [zone]] text`, without a time at the comment's time, " +
	"without a zone in `postmortem.timezone`; a zone is `UTC`, an offset (`+02:00`), an IANA name (`Europe/Berlin`) or an abbreviation such as `CET`. " +
	"The timeline is rebuilt from all the incident's comments, so editing one corrects its entry.\n\n" +
	"A postmortem is complete when every action item is checked or its linked issue closed; tasuki then labels it complete and closes it."

// notPostmortemReply answers /tasuki followup where there are no action
// items to follow.
const notPostmortemReply = "`/tasuki followup` opens issues for the unchecked action items of a postmortem; this is not a postmortem, so there is nothing to open."

// RegisterCommands adds the postmortem's verbs to reg: /tasuki followup
// (also follow-up), which the repository's people may run (the comment's
// author association is one of command.Insiders, as it has always
// required: opening issues in tasuki's name is not for anyone who may
// comment on a public repository), and the note on /timeline.
func (p *Handler) RegisterCommands(reg *command.Registry[config.Config]) error {
	err := reg.Register(command.Verb[config.Config]{
		Name:    FollowupVerb,
		Aliases: []string{"follow-up"},
		Summary: "on a postmortem: open an issue for each unchecked action item without one, and link it",
		Rule:    command.Rule{Associations: command.Insiders},
		Handler: command.HandlerFunc(p.runFollowup),
	})
	if err != nil {
		return fmt.Errorf("postmortem: %w", err)
	}
	reg.Note(timelineNote)
	return nil
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

// followup answers /tasuki followup on a postmortem: an issue per unchecked
// action item without one, each found again by its marker on a retry, and
// the item's line linked to it. On an issue or pull request that is not a
// postmortem it only says so.
func (p *Handler) followup(ctx context.Context, log *slog.Logger, c *github.Client, pc core.Config, owner, repo string, number int, commentID int64) error {
	key := "postmortem-followup:" + owner + "/" + repo + "#" + strconv.Itoa(number)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		reply := marker.New(core.KindFollowup, strconv.FormatInt(commentID, 10))
		is, _, err := c.Issues.Get(ctx, owner, repo, number)
		if err != nil {
			return fmt.Errorf("get postmortem %s/%s#%d: %w", owner, repo, number, err)
		}
		if is.IsPullRequest() || !hasLabel(labelNames(is.Labels), pc.Label) && core.PostmortemOf(is.GetBody()) == "" {
			log.InfoContext(ctx, "/tasuki followup on an issue that is not a postmortem")
			_, _, err := p.Writer(c).EnsureComment(ctx, owner, repo, number, reply, notPostmortemReply)
			return err
		}
		st := core.State{Owner: owner, Repo: repo, Number: number, Body: is.GetBody()}
		fus := core.Followups(st, is.GetHTMLURL())
		type link struct {
			key string
			ref core.IssueRef
		}
		var links []link
		var created []core.IssueRef
		w := p.Writer(c)
		// Follow-ups carry no label; tasuki opened them after the
		// postmortem, so its own issues since then are where to look.
		lookup := ghwrite.IssueLookup{CreatedSince: is.GetCreatedAt().Time, NoSearch: true}
		for _, fu := range fus {
			req := &github.IssueRequest{Title: &fu.Title, Body: &fu.Body}
			if fu.Assignee != "" {
				req.Assignees = &[]string{fu.Assignee}
			}
			got, opened, err := w.EnsureIssue(ctx, owner, repo, fu.Marker, req, lookup)
			if err != nil {
				return fmt.Errorf("open follow-up issue for %s/%s#%d: %w", owner, repo, number, err)
			}
			if opened {
				log.InfoContext(ctx, "follow-up issue opened", "followup", got.GetNumber())
			}
			ref := core.IssueRef{Number: got.GetNumber()}
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
				if _, _, err := w.EditIssue(ctx, owner, repo, number, ghwrite.IssueEdit{Body: &body}); err != nil {
					return fmt.Errorf("link action items: %w", err)
				}
			}
		}
		_, _, err = w.EnsureComment(ctx, owner, repo, number, reply, core.FollowupReply(created, commentID))
		return err
	})
}
