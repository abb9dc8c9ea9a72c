package onboarding

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/intent"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// Anyone with write access can edit the handoff issue's body, its hidden
// state included, and plan review reads the phase from it (whose approval
// counts). So every write of the state is remembered in the store's memo
// (execute), and a state that differs from the remembered one is not
// believed: decode takes the remembered state, restore puts it back on the
// issue with one notice. Without a memo (the Action's lives one job)
// there is nothing to compare with and the body is believed.

// execute carries out intents through the writer and remembers the state
// of every handoff issue body written. After a failure, a write that may
// or may not have landed is forgotten (an empty value), so that tasuki's
// own next read does not take its write for a person's edit.
func (h *Handler) execute(ctx context.Context, c *github.Client, owner, repo string, intents []intent.Intent) ([]ghwrite.Result, error) {
	res, err := h.Writer(c).Execute(ctx, owner, repo, intents)
	if h.Memo == nil {
		return res, err
	}
	for i, in := range intents {
		var (
			number int
			body   string
		)
		switch {
		case in.Kind == intent.EditIssue && in.Edit.Marker.Kind == core.MarkerIssue && in.Edit.Body != nil:
			number, body = in.Number, *in.Edit.Body
		case in.Kind == intent.EnsureIssue && in.Marker.Kind == core.MarkerIssue && i < len(res):
			number, body = int(res[i].ID), in.Issue.Body
		default:
			continue
		}
		if number <= 0 {
			continue
		}
		v := ""
		if err == nil && i < len(res) {
			v = core.StateMemoValue(body)
		}
		if perr := h.Memo.Put(ctx, core.StateMemoKey(owner+"/"+repo, number), v); perr != nil {
			return res, fmt.Errorf("remember handoff state of %s/%s#%d: %w (write: %v)", owner, repo, number, perr, err)
		}
	}
	return res, err
}

// remembered returns the state tasuki last wrote in is, and whether the
// body's state differs from it (edited). known is false without a memo
// entry.
func (h *Handler) remembered(ctx context.Context, owner, repo string, is *github.Issue) (st core.State, edited, known bool) {
	if h.Memo == nil {
		return core.State{}, false, false
	}
	v, ok, err := h.Memo.Get(ctx, core.StateMemoKey(owner+"/"+repo, is.GetNumber()))
	if err != nil {
		h.Logger().WarnContext(ctx, "memo read failed; believing the handoff issue", "repo", owner+"/"+repo, "issue", is.GetNumber(), "err", err)
		return core.State{}, false, false
	}
	if !ok || v == "" {
		return core.State{}, false, false
	}
	return core.CheckState(is.GetBody(), v)
}

// restore puts the state tasuki last wrote back on the handoff issue of ho
// when a person edited it (decode found so), with one notice saying so,
// and leaves ho holding the restored body. A body whose notes leave no
// room is left as it is (the notice still says the edit is ignored):
// decode keeps reading the remembered state.
func (h *Handler) restore(ctx context.Context, log *slog.Logger, c *github.Client, e *env, owner, repo string, ho *handoff) error {
	if !ho.edited {
		return nil
	}
	if err := h.loadChecklist(ctx, log, c, owner, repo, e, nil); err != nil {
		return err
	}
	old := ho.issue.GetBody()
	body, fits := core.FitBody(old, ho.state, e.checklist)
	var intents []intent.Intent
	if fits {
		intents = append(intents, intent.Intent{Kind: intent.EditIssue, Number: ho.state.Issue,
			Edit: intent.IssueEdit{Body: &body, Marker: core.IssueMarker(ho.state.Repo, ho.state.Started)}})
	}
	intents = append(intents, core.EditedNotice(ho.state, old))
	log.WarnContext(ctx, "handoff state edited outside tasuki; restoring the state tasuki wrote", "issue", ho.state.Issue, "phase", ho.state.Phase)
	if _, err := h.execute(ctx, c, owner, repo, intents); err != nil {
		return fmt.Errorf("restore handoff state of %s/%s#%d: %w", owner, repo, ho.state.Issue, err)
	}
	if fits {
		is := *ho.issue
		is.Body = &body
		ho.issue, ho.edited = &is, false
	}
	return nil
}
