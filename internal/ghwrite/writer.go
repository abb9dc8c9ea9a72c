// Package ghwrite carries out the cores' intended writes idempotently: every
// artefact carries a marker (package marker) and is found by it before one is
// created; check runs are found by external_id. Only artefacts written by
// tasuki's own identity are trusted.
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
