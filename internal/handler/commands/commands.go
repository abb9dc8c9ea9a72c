// Package commands is the one issue_comment handler that runs
// `/tasuki VERB ARGS` for every feature, over the internal/command core:
// features register their verbs at start-up (Feature, NewRegistry); for each
// new comment the handler parses the commands, fetches only the permission
// facts the registered rules need beyond the payload, runs each accepted
// verb through the feature that registered it, and posts tasuki's one reply
// for unknown, refused and invalid commands and for help. A comment by a
// bot, and an edited or deleted comment, runs nothing.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler"
)

// Registry is the verbs of every feature, their rules read from the
// repository's configuration.
type Registry = command.Registry[config.Config]

// Feature is a feature that has /tasuki verbs.
type Feature interface {
	// RegisterCommands adds the feature's verbs (and notes) to reg.
	RegisterCommands(reg *Registry) error
}

// NewRegistry returns a registry holding the built-in help and the verbs of
// each feature. Two features claiming one name is an error.
func NewRegistry(features ...Feature) (*Registry, error) {
	reg := command.NewRegistry[config.Config]()
	for _, f := range features {
		if err := f.RegisterCommands(reg); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Teams is what the handler needs of the ownership shell
// (*handler.Ownership provides it).
type Teams interface {
	// IsTeamMember reports whether login is an active member of org/team.
	IsTeamMember(ctx context.Context, c *github.Client, org, team, login string) (bool, error)
}

// Handler runs the /tasuki commands of new comments on issues and pull
// requests.
type Handler struct {
	base  *handler.Base
	reg   *Registry
	teams Teams
}

var _ handler.Feature = (*Handler)(nil)

// New returns the command handler over b running reg's verbs. teams may be
// nil (then a handler.Ownership over b answers team membership).
func New(b *handler.Base, reg *Registry, teams Teams) *Handler {
	if teams == nil {
		teams = handler.NewOwnership(b.Config, b.Logger())
	}
	return &Handler{base: b, reg: reg, teams: teams}
}

// Handles lists issue_comment.
func (*Handler) Handles() []string { return []string{"issue_comment"} }

// Permissions are what the shell itself needs: metadata (the author's
// permission on the repository), contents read (the configuration, which
// may name who may run a verb), members read (team membership) and the
// reply's issues and pull requests write. Each verb's own needs are its
// feature's.
func (*Handler) Permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterIssues(), handler.WriterPullRequestComments(),
		map[string]string{handler.PermMembers: handler.Read})
}

// Handle decodes an issue_comment delivery and runs the commands of a new
// comment.
func (h *Handler) Handle(ctx context.Context, d dispatch.Delivery) error {
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
	}
	// Only "created": an edit does not run a comment again (see
	// command.ShouldRun), and a deleted comment is gone.
	if !command.ShouldRun(ev.GetAction()) {
		return nil
	}
	cm, is, repo := ev.Comment, ev.Issue, ev.Repo
	if cm == nil || is == nil || repo == nil {
		return nil
	}
	if isBot(cm.GetUser()) || h.base.Identity.Trusts(cm.GetUser()) || h.base.Identity.Trusts(ev.GetSender()) {
		return nil
	}
	parsed := command.Parse(cm.GetBody())
	if len(parsed.Commands) == 0 && parsed.Dropped == 0 && !parsed.Truncated && !parsed.TooDeep {
		return nil // most comments: no API call at all
	}
	owner, name, number := repo.GetOwner().GetLogin(), repo.GetName(), is.GetNumber()
	if owner == "" || name == "" || number == 0 || cm.GetID() == 0 {
		return fmt.Errorf("%s %s delivery %s: payload lacks repository, issue number or comment ID", d.Event, ev.GetAction(), d.ID)
	}
	instID := ev.GetInstallation().GetID()
	if instID == 0 {
		instID = d.InstallationID
	}
	log := h.base.Logger().With("delivery", d.ID, "event", d.Event, "action", ev.GetAction(),
		"installation", instID, "repo", owner+"/"+name, "issue", number, "comment", cm.GetID())
	c, err := h.base.Client(ctx, instID)
	if err != nil {
		return err
	}
	cfg, err := h.loadConfig(ctx, log, c, owner, name)
	if err != nil {
		return err
	}

	plan := h.reg.Plan(parsed, cfg)
	facts := command.Facts{
		Author:      cm.GetUser().GetLogin(),
		Association: cm.GetAuthorAssociation(),
		IssueAuthor: is.GetUser().GetLogin(),
	}
	if err := h.fetchFacts(ctx, c, owner, name, plan.Needs(facts), &facts); err != nil {
		return err
	}
	plan = plan.Decide(facts)

	where := command.Where{
		Installation: instID,
		Owner:        owner,
		Repo:         name,
		Issue:        number,
		PullRequest:  is.IsPullRequest(),
		CommentID:    cm.GetID(),
		CommentURL:   cm.GetHTMLURL(),
		Author:       facts.Author,
	}
	var errs []error
	for _, call := range plan.Calls {
		switch call.Status {
		case command.Accepted:
			log.InfoContext(ctx, "command accepted", "verb", call.Name, "line", call.Line, "reason", call.Reason)
		default:
			log.InfoContext(ctx, "command not run", "verb", call.Verb, "line", call.Line, "status", call.Status, "reason", call.Reason)
		}
	}
	for _, call := range plan.Runnable() {
		inv := command.Invocation{Call: call, Where: where, Log: log.With("verb", call.Name)}
		if err := call.Handler.Run(ctx, inv); err != nil {
			// The others still run; the job retries them all, which the
			// verbs, being idempotent, take.
			errs = append(errs, fmt.Errorf("%s %s: %w", command.Prefix, call.Name, err))
		}
	}
	if text, ok := h.reg.Reply(plan, cm.GetID()); ok {
		if err := h.reply(ctx, c, owner, name, number, cm.GetID(), text); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reply posts the one reply to comment id, once: under a lock keyed by the
// comment, so that two workers handling a redelivery side by side do not
// both find no reply and post one each.
func (h *Handler) reply(ctx context.Context, c *github.Client, owner, repo string, number int, id int64, text string) error {
	post := func(ctx context.Context) error {
		_, _, err := h.base.Writer(c).EnsureComment(ctx, owner, repo, number, command.ReplyMarker(id), text)
		return err
	}
	if h.base.Locker == nil {
		return post(ctx)
	}
	return h.base.Locker.WithLock(ctx, "command-reply:"+owner+"/"+repo+"#"+strconv.FormatInt(id, 10), post)
}

// loadConfig returns the repository's configuration, which may name who
// may run a verb. A file that does not parse falls back to defaults section
// by section (the config check tells the owner); GitHub failing to answer
// is an error, so that the job retries rather than decide on defaults.
func (h *Handler) loadConfig(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) (config.Config, error) {
	if h.base.Config == nil {
		return config.Default(), nil
	}
	f := h.base.Config.Load(ctx, c, owner, repo)
	if err := f.ReadError(); err != nil {
		return f.Config, fmt.Errorf("load config %s/%s: %w", owner, repo, err)
	}
	if f.Err != nil {
		log.WarnContext(ctx, "configuration problem; using defaults where unreadable", "err", f.Err)
	}
	return f.Config, nil
}

// fetchFacts reads what need names into f: the author's permission on the
// repository, and their membership of each team (a bare slug is a team of
// the repository owner's organisation).
func (h *Handler) fetchFacts(ctx context.Context, c *github.Client, owner, repo string, need command.Needs, f *command.Facts) error {
	if need.Permission {
		p, err := permission(ctx, c, owner, repo, f.Author)
		if err != nil {
			return err
		}
		f.Permission = p
	}
	for _, t := range need.Teams {
		org, slug, ok := strings.Cut(t, "/")
		if !ok {
			org, slug = owner, t
		}
		member, err := h.teams.IsTeamMember(ctx, c, org, slug, f.Author)
		if err != nil {
			return err
		}
		if f.Teams == nil {
			f.Teams = map[string]bool{}
		}
		f.Teams[t] = member
	}
	return nil
}

// permission reads login's permission on owner/repo (GET
// /repos/{owner}/{repo}/collaborators/{username}/permission). go-github v60
// does not decode role_name, which alone tells triage and maintain from
// read and write, so the answer is decoded here. A login GitHub does not
// know has no permission.
func permission(ctx context.Context, c *github.Client, owner, repo, login string) (command.Permission, error) {
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, repo, login)
	req, err := c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return command.PermNone, fmt.Errorf("read permission of %s on %s/%s: %w", login, owner, repo, err)
	}
	var out struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := c.Do(ctx, req, &out); err != nil {
		if handler.IsStatus(err, http.StatusNotFound) {
			return command.PermNone, nil
		}
		return command.PermNone, fmt.Errorf("read permission of %s on %s/%s: %w", login, owner, repo, err)
	}
	return command.RepositoryPermission(out.Permission, out.RoleName), nil
}

// isBot reports whether u is a bot account: bots' comments run nothing,
// whatever they quote.
func isBot(u *github.User) bool {
	return u != nil && (u.GetType() == "Bot" || strings.HasSuffix(strings.ToLower(u.GetLogin()), "[bot]"))
}
