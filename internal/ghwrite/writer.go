// Package ghwrite carries out the cores' intended writes idempotently: every
// artefact carries a marker (package marker) and is found by it before one is
// created; check runs are found by external_id. Only artefacts written by
// tasuki's own identity are trusted.
//
// A core returns []Intent (comment, issue, edit, labels, close, check run,
// pull request); the shell hands them to (*Writer).Execute, which carries
// them out in order, each one again without harm when a job is retried.
// Every "find by marker, else create" runs under a per-key lock (WithLocker:
// the store's, across replicas), so that racing workers make one artefact.
// Pacing writes by GitHub's secondary rate limit is not done here but in
// the client's transport (package ghclient), for every client alike.
package ghwrite

import (
	"strings"

	"github.com/google/go-github/v60/github"
)

// Identity names the accounts whose artefacts are tasuki's own: the App's bot
// login ("tasuki[bot]") or, in the Action, "github-actions[bot]".
type Identity struct {
	Logins []string
}

// Trusts reports whether u is one of the identity's logins.
func (i Identity) Trusts(u *github.User) bool {
	if u == nil {
		return false
	}
	for _, l := range i.Logins {
		if strings.EqualFold(l, u.GetLogin()) {
			return true
		}
	}
	return false
}
