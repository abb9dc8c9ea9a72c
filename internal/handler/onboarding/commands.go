package onboarding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// The handoff's /tasuki verbs, which the command shell runs.
const (
	OnboardVerb = "onboard"
	DoneVerb    = "done"
	NAVerb      = "na"
)

// Replies of the shell (the core words the others).
const (
	noCoreTeamReply = "No one may start an SRE handoff of this repository yet: set `ownership.core_sre_team` in `.github/tasuki.yml`, " +
		"or name the team that owns it today in CODEOWNERS (`* @org/team`) or in `catalog-info.yaml` (`spec.owner`)."
	notHandoffReply = "`/tasuki done` and `/tasuki na` tick items of an SRE handoff; this issue is not a handoff tasuki opened."
	// noMembershipReply answers where the token may not read teams (a
	// workflow's GITHUB_TOKEN): who may run the verb cannot be checked.
	noMembershipReply = "tasuki cannot check team membership with this token (GitHub answers 403), so it cannot tell whether you may do this. " +
		"Use the tasuki App, or give the Action a token that may read the organisation's teams (`github-token` input)."
)

// RegisterCommands adds the handoff's verbs to reg:
//
//   - /tasuki onboard @org/team [--tier A|B|C] starts a handoff. Members of
//     ownership.core_sre_team may run it (the command shell checks); when
//     that is unset, the team owning the repository today, which only this
//     shell can read, so the shell lets anyone ask and the verb answers
//     who may.
//   - /tasuki done ITEM-ID URL and /tasuki na ITEM-ID REASON tick an item
//     of the handoff issue they are on. The repository's people may ask
//     (command.Insiders); the verb then requires membership of either team
//     of the handoff.
func (h *Handler) RegisterCommands(reg *command.Registry[config.Config]) error {
	verbs := []command.Verb[config.Config]{
		{
			Name: OnboardVerb, Args: "@ORG/TEAM [--tier A|B|C]",
			Summary: "start the SRE handoff of this repository to a team",
			RuleFor: func(cfg config.Config) command.Rule {
				if t := cfg.Ownership.CoreSRETeam; t != "" {
					return command.Rule{Teams: []string{t}}
				}
				return command.Rule{Anyone: true}
			},
			Check: func(args []string) error {
				_, _, err := parseOnboardArgs(args)
				return err
			},
			Handler: command.HandlerFunc(h.runOnboard),
		},
		{
			Name: DoneVerb, Args: "ITEM-ID URL",
			Summary: "on an SRE handoff: tick a checklist item, with the URL of the evidence",
			Rule:    command.Rule{Associations: command.Insiders},
			Check:   needItem,
			Handler: command.HandlerFunc(func(ctx context.Context, inv command.Invocation) error { return h.runAttest(ctx, inv, DoneVerb) }),
		},
		{
			Name: NAVerb, Args: "ITEM-ID REASON",
			Summary: "on an SRE handoff: mark a checklist item not applicable, saying why",
			Rule:    command.Rule{Associations: command.Insiders},
			Check:   needItem,
			Handler: command.HandlerFunc(func(ctx context.Context, inv command.Invocation) error { return h.runAttest(ctx, inv, NAVerb) }),
		},
	}
	for _, v := range verbs {
		if err := reg.Register(v); err != nil {
			return fmt.Errorf("onboarding: %w", err)
		}
	}
	return nil
}

func needItem(args []string) error {
	if len(args) == 0 {
		return errors.New("name the item (its ID is in the handoff issue)")
	}
	return nil
}

// parseOnboardArgs reads "@org/team [--tier A|B|C]" (also --tier=B).
func parseOnboardArgs(args []string) (team, tier string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tier":
			if i+1 == len(args) {
				return "", "", errors.New("--tier needs A, B or C")
			}
			i++
			tier = args[i]
		case strings.HasPrefix(a, "--tier="):
			tier = strings.TrimPrefix(a, "--tier=")
		case strings.HasPrefix(a, "-"):
			return "", "", fmt.Errorf("unknown option %q", a)
		case team != "":
			return "", "", errors.New("name one team")
		default:
			team = a
		}
	}
	tier = strings.ToUpper(tier)
	switch {
	case team == "":
		return "", "", errors.New("name the incoming team, as @org/team")
	case tier != "" && tier != "A" && tier != "B" && tier != "C":
		return "", "", errors.New("--tier is A, B or C")
	}
	org, slug := splitTeam(team, "x")
	if org == "" || slug == "" || strings.ContainsAny(slug, "/@ ") {
		return "", "", fmt.Errorf("%q is not a team; write @org/team", team)
	}
	return team, tier, nil
}

func (h *Handler) invLog(inv command.Invocation) *slog.Logger {
	if inv.Log != nil {
		return inv.Log
	}
	return h.Logger()
}

// reply answers the comment of inv once.
func (h *Handler) reply(ctx context.Context, c *github.Client, inv command.Invocation, verb, text string) error {
	if text == "" {
		return nil
	}
	w := inv.Where
	_, err := h.execute(ctx, c, w.Owner, w.Repo, []intent.Intent{{Kind: intent.EnsureComment, Number: w.Issue,
		Marker: replyMarker(verb, w.CommentID), Body: text}})
	return err
}

// runOnboard runs an accepted /tasuki onboard.
func (h *Handler) runOnboard(ctx context.Context, inv command.Invocation) error {
	w, log := inv.Where, h.invLog(inv)
	team, tier, err := parseOnboardArgs(inv.Call.Args)
	if err != nil {
		return nil // Check refused it already
	}
	c, err := h.Client(ctx, w.Installation)
	if err != nil {
		return err
	}
	e, err := h.loadEnv(ctx, log, c, w.Owner, w.Repo)
	if err != nil {
		return err
	}
	org, slug, _, err := h.coreTeam(ctx, c, e, w.Owner, w.Repo)
	if err != nil {
		return err
	}
	if slug == "" {
		return h.reply(ctx, c, inv, OnboardVerb, noCoreTeamReply)
	}
	isCore, err := h.Owners.IsTeamMember(ctx, c, org, slug, w.Author)
	if handler.IsStatus(err, http.StatusForbidden) {
		return h.reply(ctx, c, inv, OnboardVerb, noMembershipReply)
	}
	if err != nil {
		return err
	}
	var d core.Decision
	var ho *handoff
	err = h.Locker.WithLock(ctx, lockKey(w.Owner, w.Repo), func(ctx context.Context) error {
		var err error
		d, ho, err = h.start(ctx, log, c, e, w.Owner, w.Repo, core.StartRequest{
			Repo: w.Owner + "/" + w.Repo, Team: team, Tier: tier, Actor: w.Author, Trigger: "command",
			ActorIsCore: isCore, CoreTeam: teamRef(w.Owner, org, slug),
		})
		return err
	})
	if err != nil {
		return err
	}
	text := d.Reply
	switch {
	case text == "" && ho != nil:
		text = fmt.Sprintf("Started the SRE handoff of this repository to %s: #%d.", mdtext.Code("@"+strings.TrimPrefix(ho.state.Team, "@")), ho.state.Issue)
	case text == "" && !isCore:
		text = fmt.Sprintf("Only members of %s, the team that owns this repository today, may start an SRE handoff.", mdtext.Code("@"+org+"/"+slug))
	}
	return h.reply(ctx, c, inv, OnboardVerb, text)
}

// runAttest runs an accepted /tasuki done or /tasuki na on a handoff issue.
func (h *Handler) runAttest(ctx context.Context, inv command.Invocation, verb string) error {
	w, log := inv.Where, h.invLog(inv)
	c, err := h.Client(ctx, w.Installation)
	if err != nil {
		return err
	}
	if w.PullRequest {
		return h.reply(ctx, c, inv, verb, notHandoffReply)
	}
	is, _, err := c.Issues.Get(ctx, w.Owner, w.Repo, w.Issue)
	if err != nil {
		return fmt.Errorf("read issue %s/%s#%d: %w", w.Owner, w.Repo, w.Issue, err)
	}
	ho := h.decode(ctx, is, w.Owner, w.Repo)
	if ho == nil && h.otherEntrance(is, w.Owner, w.Repo) {
		// The App's handoff seen from the Action (or the reverse): the
		// entrance that opened it answers; this one stays out of it.
		log.InfoContext(ctx, "tick on another entrance's handoff left to it", "issue", w.Issue, "note", otherEntranceNote(is, h.Identity.Logins))
		return nil
	}
	if ho == nil {
		return h.reply(ctx, c, inv, verb, notHandoffReply)
	}
	// The teams of the handoff vouch for its items; the repository's
	// other people may comment, not tick.
	var teams []string
	member := false
	for _, t := range []string{ho.state.Team, ho.state.CoreTeam} {
		if t == "" {
			continue
		}
		org, slug := splitTeam(t, w.Owner)
		teams = append(teams, mdtext.Code("@"+org+"/"+slug))
		ok, err := h.Owners.IsTeamMember(ctx, c, org, slug, w.Author)
		if handler.IsStatus(err, http.StatusForbidden) {
			return h.reply(ctx, c, inv, verb, noMembershipReply)
		}
		if err != nil {
			return err
		}
		if ok {
			member = true
			break
		}
	}
	if !member {
		return h.reply(ctx, c, inv, verb, "Only members of "+strings.Join(teams, " or ")+" may tick items of this handoff.")
	}
	e, err := h.loadEnv(ctx, log, c, w.Owner, w.Repo)
	if err != nil {
		return err
	}
	if err := h.loadChecklist(ctx, log, c, w.Owner, w.Repo, &e, nil); err != nil {
		return err
	}
	args := inv.Call.Args
	cmd := core.Command{Verb: verb, ItemID: args[0], Arg: strings.Join(args[1:], " ")}
	var text string
	err = h.Locker.WithLock(ctx, lockKey(w.Owner, w.Repo), func(ctx context.Context) error {
		// Read again under the lock: another tick may have changed it.
		is, _, err := c.Issues.Get(ctx, w.Owner, w.Repo, w.Issue)
		if err != nil {
			return fmt.Errorf("read issue %s/%s#%d: %w", w.Owner, w.Repo, w.Issue, err)
		}
		ho := h.decode(ctx, is, w.Owner, w.Repo)
		if ho == nil {
			text = notHandoffReply
			return nil
		}
		if err := h.restore(ctx, log, c, &e, w.Owner, w.Repo, ho); err != nil {
			return err
		}
		is = ho.issue
		d := core.Attest(ho.state, is.GetBody(), e.checklist, cmd, w.Author, h.Clock())
		text = d.Reply
		if err := h.carryOut(ctx, log, c, e, w.Owner, w.Repo, ho.state, d); err != nil {
			return err
		}
		if !d.Reverify || is.GetState() != "open" {
			return nil
		}
		// The tick completed every item before the transfer: verify now,
		// which proposes the transfer pull request, rather than on the
		// next push or day.
		is, _, err = c.Issues.Get(ctx, w.Owner, w.Repo, w.Issue)
		if err != nil {
			return fmt.Errorf("read issue %s/%s#%d: %w", w.Owner, w.Repo, w.Issue, err)
		}
		if ho := h.decode(ctx, is, w.Owner, w.Repo); ho != nil {
			return h.verify(ctx, log, c, e, w.Owner, w.Repo, ho)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return h.reply(ctx, c, inv, verb, text)
}
