package githubtest

import (
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// searchIssues supports the qualifiers tasuki uses: repo:, org:, user:, label:, is:
// (issue, pr, open, closed), in:body/in:title with a quoted phrase, and bare
// words matched against title and body.
func (s *Server) searchIssues(rc *reqCtx) {
	q := rc.q("q")
	terms := splitQuery(q)
	var repos []*repoState
	var filters []func(*github.Issue) bool
	in := "title,body"
	for _, t := range terms {
		if v, ok := strings.CutPrefix(t, "in:"); ok {
			in = v
		}
	}
	for _, t := range terms {
		k, v, hasColon := strings.Cut(t, ":")
		if !hasColon || strings.HasPrefix(t, `"`) {
			phrase := strings.ToLower(strings.Trim(t, `"`))
			filters = append(filters, func(is *github.Issue) bool {
				return (strings.Contains(in, "title") && strings.Contains(strings.ToLower(is.GetTitle()), phrase)) ||
					(strings.Contains(in, "body") && strings.Contains(strings.ToLower(is.GetBody()), phrase))
			})
			continue
		}
		v = strings.Trim(v, `"`)
		switch k {
		case "repo":
			o, n, _ := strings.Cut(v, "/")
			if r := s.st.repo(o, n); r != nil {
				repos = append(repos, r)
			} else {
				rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "The listed users and repositories cannot be searched", "resource": "Search", "field": "q", "code": "invalid"}}})
				return
			}
		case "label":
			filters = append(filters, func(is *github.Issue) bool { return hasLabels(is, v) })
		case "is", "type":
			filters = append(filters, func(is *github.Issue) bool {
				switch v {
				case "issue":
					return is.PullRequestLinks == nil
				case "pr":
					return is.PullRequestLinks != nil
				case "open", "closed":
					return is.GetState() == v
				}
				return true
			})
		case "state":
			filters = append(filters, func(is *github.Issue) bool { return is.GetState() == v })
		case "author":
			filters = append(filters, func(is *github.Issue) bool { return strings.EqualFold(is.GetUser().GetLogin(), v) })
		case "org", "user":
			// The owner is in the issue's repository_url (".../repos/OWNER/NAME").
			filters = append(filters, func(is *github.Issue) bool {
				parts := strings.Split(is.GetRepositoryURL(), "/")
				return len(parts) >= 2 && strings.EqualFold(parts[len(parts)-2], v)
			})
		case "in":
		default:
			rc.json(422, map[string]any{"message": "githubtest: unsupported search qualifier " + k})
			return
		}
	}
	if len(repos) == 0 {
		for _, r := range s.st.repos {
			repos = append(repos, r)
		}
	}
	var out []*github.Issue
	for _, r := range repos {
	next:
		for _, is := range r.issues {
			for _, f := range filters {
				if !f(is) {
					continue next
				}
			}
			out = append(out, is)
		}
	}
	sortDir(out, rc.q("order") != "asc", func(a, b *github.Issue) bool {
		if !a.GetCreatedAt().Equal(b.GetCreatedAt()) {
			return a.GetCreatedAt().Before(b.GetCreatedAt().Time)
		}
		return a.GetID() < b.GetID()
	})
	pageIn(rc, "items", out, map[string]any{"incomplete_results": false})
}

// splitQuery splits a search query on spaces, keeping quoted phrases (also
// after a qualifier: label:"needs review") together.
func splitQuery(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	// Bytes, not runes: the separators are ASCII and bytes of a broken
	// UTF-8 sequence must pass through unchanged.
	for i := 0; i < len(q); i++ {
		b := q[i]
		switch {
		case b == '"':
			quoted = !quoted
			cur.WriteByte(b)
		case b == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(b)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func (s *Server) rateLimit(rc *reqCtx) {
	// GET /rate_limit does not count against the limit.
	rc.refund()
	rem := s.remain[rc.r.Header.Get("Authorization")]
	reset := s.now().Add(time.Hour).Unix()
	core := map[string]int64{"limit": 5000, "remaining": int64(rem), "used": int64(5000 - rem), "reset": reset}
	rc.json(200, map[string]any{"resources": map[string]any{"core": core,
		"search": map[string]int64{"limit": 30, "remaining": 30, "used": 0, "reset": reset}}, "rate": core})
}
