package githubtest

import (
	"strings"

	"github.com/google/go-github/v60/github"
)

// SetVisibility makes repository full "public", "private" or "internal"
// (seeded repositories are private).
func (s *Server) SetVisibility(full, visibility string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.repos[strings.ToLower(full)]
	if r == nil {
		panic("githubtest: SetVisibility of unknown repository " + full)
	}
	r.repo.Visibility = github.String(visibility)
	r.repo.Private = github.Bool(visibility != "public")
}
