package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

func (s *Server) getApp(rc *reqCtx) {
	rc.json(200, &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug), Name: github.String(s.appSlug),
		Owner: s.st.user("acme")})
}

func (s *Server) listInstallations(rc *reqCtx) {
	var out []*github.Installation
	for _, in := range s.st.installations {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	page(rc, out)
}

func (s *Server) createInstallationToken(rc *reqCtx) {
	id := rc.pInt64("installation_id")
	if _, ok := s.st.installations[id]; !ok {
		rc.notFound()
		return
	}
	tok, exp := s.mintInstallationToken(id)
	rc.json(201, &github.InstallationToken{Token: github.String(tok), ExpiresAt: ts(exp)})
}

// mintInstallationToken records a token of installation id acting as
// "<slug>[bot]", valid for an hour. The caller holds s.mu.
func (s *Server) mintInstallationToken(id int64) (string, time.Time) {
	login := s.appSlug + "[bot]"
	s.st.user(login)
	tok := fmt.Sprintf("ghs_inst_%d_%d", id, s.st.nextID())
	// Credentials follow the wall clock, which clients check expiry
	// against; WithClock only dates what happens in the repository.
	exp := time.Now().UTC().Add(time.Hour)
	s.tokens[tok] = principal{login: login, installationID: id, expires: exp}
	return tok, exp
}

// InstallationTokens counts installation tokens minted so far.
func (s *Server) InstallationTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.tokens {
		if p.installationID != 0 {
			n++
		}
	}
	return n
}

func (s *Server) listHookDeliveries(rc *reqCtx) {
	// Newest first, cursor pagination: the cursor is the ID to continue after.
	all := s.st.deliveries
	var out []*github.HookDelivery
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	if c := rc.q("cursor"); c != "" {
		cur, _ := strconv.ParseInt(c, 10, 64)
		for i, d := range out {
			if d.GetID() == cur {
				out = out[i+1:]
				break
			}
		}
	}
	per, _ := strconv.Atoi(rc.q("per_page"))
	if per <= 0 {
		per = 30
	}
	if len(out) > per {
		out = out[:per]
		u := *rc.r.URL
		q := u.Query()
		q.Set("cursor", strconv.FormatInt(out[len(out)-1].GetID(), 10))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		rc.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.ts.URL, u.RequestURI()))
	}
	list := make([]*github.HookDelivery, 0, len(out))
	for _, d := range out {
		v := *d
		v.Request, v.Response = nil, nil // the list omits payloads
		list = append(list, &v)
	}
	rc.json(200, list)
}

func (rc *reqCtx) delivery() *github.HookDelivery {
	id := rc.pInt64("delivery_id")
	for _, d := range rc.s.st.deliveries {
		if d.GetID() == id {
			return d
		}
	}
	rc.notFound()
	return nil
}

func (s *Server) getHookDelivery(rc *reqCtx) {
	if d := rc.delivery(); d != nil {
		rc.json(200, d)
	}
}

func (s *Server) redeliver(rc *reqCtx) {
	if d := rc.delivery(); d != nil {
		s.st.redelivered = append(s.st.redelivered, d.GetID())
		rc.json(202, map[string]any{})
	}
}

// listInstallationRepos lists the repositories of the installation whose
// token made the request: those owned by its account (the fake's
// installations have repository_selection "all"). Other credentials are
// refused as GitHub refuses them.
func (s *Server) listInstallationRepos(rc *reqCtx) {
	in := s.st.installations[rc.who.installationID]
	if in == nil {
		rc.fail(http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.")
		return
	}
	var out []*github.Repository
	for _, r := range s.st.repos {
		if strings.EqualFold(r.repo.GetOwner().GetLogin(), in.GetAccount().GetLogin()) {
			out = append(out, r.repo)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	pageIn(rc, "repositories", out, map[string]any{"repository_selection": "all"})
}

func (s *Server) getRepoInstallation(rc *reqCtx) {
	if rc.repo() == nil {
		return
	}
	for _, in := range s.st.installations {
		if strings.EqualFold(in.GetAccount().GetLogin(), rc.p("owner")) {
			rc.json(200, in)
			return
		}
	}
	rc.notFound()
}

// appFor returns the App acting as "<slug>[bot]": tasuki's own App, or
// another (github-actions) with an ID derived from its slug.
func (s *Server) appFor(slug string) *github.App {
	if slug == s.appSlug {
		return &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug)}
	}
	id := int64(1000)
	for _, b := range []byte(slug) {
		id = id*31 + int64(b)
	}
	if id < 0 {
		id = -id
	}
	return &github.App{ID: github.Int64(id), Slug: github.String(slug)}
}
