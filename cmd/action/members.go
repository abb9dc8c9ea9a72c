package main

import (
	"fmt"

	"github.com/sethvargo/go-githubactions"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
)

// membersOption is how plan review learns team membership in a workflow:
// GITHUB_TOKEN cannot read teams (GitHub answers 404 for a member and a
// non-member alike), so a token with members:read (the members-token
// input, else TASUKI_MEMBERS_TOKEN) is used for those reads alone. Without
// one, an approval that needs a team's membership does not count and the
// check says exactly why. The token is masked and never printed.
func membersOption(act *githubactions.Action, e env, base *handler.Base) (planreview.Option, error) {
	tok := input(act, "members-token")
	if tok == "" {
		tok = e.Getenv("TASUKI_MEMBERS_TOKEN")
	}
	if tok == "" {
		return planreview.WithTeamsUnverifiable(planreview.MembersTokenHint), nil
	}
	act.AddMask(tok)
	apiURL := e.Getenv("TASUKI_GITHUB_API_URL")
	if apiURL == "" {
		apiURL = e.Getenv("GITHUB_API_URL")
	}
	mc, err := ghclient.NewTokenClient(tok, apiURL)
	if err != nil {
		return nil, fmt.Errorf("members-token: %w", err)
	}
	return planreview.WithOwnership(handler.NewOwnership(base.Config, base.Logger(), handler.WithMembersClient(mc))), nil
}
