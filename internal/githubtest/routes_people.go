package githubtest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"
)

func (rc *reqCtx) team() *teamState {
	if !rc.teamsVisible() { // teamaccess.go
		return nil
	}
	t := rc.s.st.teams[strings.ToLower(rc.p("org")+"/"+rc.p("team_slug"))]
	if t == nil {
		rc.notFound()
	}
	return t
}

func (s *Server) getTeamMembership(rc *reqCtx) {
	t := rc.team()
	if t == nil {
		return
	}
	for login, role := range t.members {
		if strings.EqualFold(login, rc.p("username")) {
			rc.json(200, &github.Membership{State: github.String("active"), Role: github.String(role),
				URL: github.String(fmt.Sprintf("%sorgs/%s/teams/%s/memberships/%s", s.URL(), t.org, t.team.GetSlug(), login))})
			return
		}
	}
	rc.notFound()
}

func (s *Server) listTeamMembers(rc *reqCtx) {
	t := rc.team()
	if t == nil {
		return
	}
	var out []*github.User
	for login, role := range t.members {
		if r := rc.q("role"); r != "" && r != "all" && r != role {
			continue
		}
		out = append(out, s.st.user(login))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetLogin() < out[j].GetLogin() })
	page(rc, out)
}

func (s *Server) getTeam(rc *reqCtx) {
	if t := rc.team(); t != nil {
		rc.json(200, t.team)
	}
}

func (s *Server) getUser(rc *reqCtx) {
	u, ok := s.st.users[strings.ToLower(rc.p("username"))]
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, u)
}
