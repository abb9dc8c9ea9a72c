package githubtest

import (
	"net/http"
	"strings"
)

// TeamAccess is what a token may read of an organisation's teams.
type TeamAccess int

const (
	// TeamsReadable: the token reads teams and their members (an App
	// installation with members:read). The default.
	TeamsReadable TeamAccess = iota
	// TeamsHidden: the token cannot see teams, and GitHub answers 404 to
	// every team read, member or not, as it does for a workflow's
	// GITHUB_TOKEN.
	TeamsHidden
	// TeamsForbidden: the token lacks the permission, and GitHub answers
	// 403 "Resource not accessible by integration".
	TeamsForbidden
)

// SetTeamAccess sets what token may read of teams (see TeamAccess).
func (s *Server) SetTeamAccess(token string, a TeamAccess) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.teamAccess == nil {
		s.teamAccess = map[string]TeamAccess{}
	}
	s.teamAccess[token] = a
}

// teamsVisible answers a team read the request's token may not make, as
// GitHub does, and reports whether the route may go on. Called with s.mu
// held.
func (rc *reqCtx) teamsVisible() bool {
	h := rc.r.Header.Get("Authorization")
	tok := strings.TrimPrefix(strings.TrimPrefix(h, "Bearer "), "token ")
	switch rc.s.teamAccess[tok] {
	case TeamsHidden:
		rc.notFound()
		return false
	case TeamsForbidden:
		rc.fail(http.StatusForbidden, "Resource not accessible by integration")
		return false
	}
	return true
}
