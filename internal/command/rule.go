package command

import (
	"slices"
	"strings"
)

// Author associations GitHub gives a comment (author_association).
const (
	Owner                = "OWNER"
	Member               = "MEMBER"
	Collaborator         = "COLLABORATOR"
	Contributor          = "CONTRIBUTOR"
	FirstTimeContributor = "FIRST_TIME_CONTRIBUTOR"
	FirstTimer           = "FIRST_TIMER"
	Mannequin            = "MANNEQUIN"
	NoAssociation        = "NONE"
)

// Insiders are the associations of people with standing in the repository:
// what the postmortem's /tasuki followup has required so far.
var Insiders = []string{Owner, Member, Collaborator, Contributor}

// Permission is a person's permission on a repository, ordered.
type Permission int

// Repository permissions, from least to most.
const (
	PermNone Permission = iota
	PermRead
	PermTriage
	PermWrite
	PermMaintain
	PermAdmin
)

var permNames = [...]string{"none", "read", "triage", "write", "maintain", "admin"}

// String returns GitHub's name for p.
func (p Permission) String() string {
	if p < 0 || int(p) >= len(permNames) {
		return "none"
	}
	return permNames[p]
}

// ParsePermission reads a permission as GitHub names it: read, triage,
// write, maintain, admin, or the API's older pull and push (any case).
// Custom repository role names are not permissions.
func ParsePermission(s string) (Permission, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return PermNone, true
	case "read", "pull":
		return PermRead, true
	case "triage":
		return PermTriage, true
	case "write", "push":
		return PermWrite, true
	case "maintain":
		return PermMaintain, true
	case "admin":
		return PermAdmin, true
	}
	return PermNone, false
}

// RepositoryPermission reads the answer of GET
// /repos/{owner}/{repo}/collaborators/{username}/permission: role_name
// knows triage and maintain, which permission folds into read and write;
// a custom role's name is not a permission, and then permission (its base)
// is used.
func RepositoryPermission(permission, roleName string) Permission {
	if p, ok := ParsePermission(roleName); ok {
		return p
	}
	p, _ := ParsePermission(permission)
	return p
}

// Rule says who may run a verb. It allows a person who meets any one of
// its conditions; a zero Rule allows no one.
type Rule struct {
	// Anyone allows everyone who may comment.
	Anyone bool
	// Associations allows these author associations of the comment
	// (Owner, Member, ...).
	Associations []string
	// Permission, when above PermNone, allows people with at least this
	// permission on the repository.
	Permission Permission
	// Teams allows active members of any of these teams: "org/slug", or a
	// bare "slug" of the repository owner's organisation; a leading '@' is
	// allowed.
	Teams []string
	// IssueAuthor allows the author of the issue or pull request.
	IssueAuthor bool
}

// IsZero reports whether r allows no one.
func (r Rule) IsZero() bool {
	return !r.Anyone && len(r.Associations) == 0 && r.Permission <= PermNone && len(r.Teams) == 0 && !r.IssueAuthor
}

// Facts is what Allowed decides on. The first three come with the
// issue_comment payload; Permission and Teams cost API calls, and the shell
// fetches only those Plan.Needs names.
type Facts struct {
	Author      string // login of the comment's author
	Association string // the comment's author_association
	IssueAuthor string // login of the issue's or pull request's author
	// Permission is the author's permission on the repository
	// (RepositoryPermission); PermNone when not fetched.
	Permission Permission
	// Teams holds, for each team Needs named (as TeamKey spells it),
	// whether the author is an active member.
	Teams map[string]bool
}

// Needs is what must be fetched beyond the payload to decide.
type Needs struct {
	Permission bool     // the author's repository permission
	Teams      []string // team memberships of the author, as TeamKey spells them, sorted
}

// IsZero reports whether nothing needs fetching.
func (n Needs) IsZero() bool { return !n.Permission && len(n.Teams) == 0 }

// TeamKey spells a team as Needs and Facts do: no leading '@', lower case.
// A bare slug stays bare; the shell resolves it in the repository owner's
// organisation.
func TeamKey(team string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(team), "@"))
}

// Allowed decides whether the author may run a verb under r. The reason is
// plain text for a person: on refusal who may ("only members of
// @acme/core-sre may run this command"), on success which condition
// allowed it ("member of @acme/core-sre"), for logs.
func Allowed(r Rule, f Facts) (bool, string) {
	if ok, why := allowedByPayload(r, f); ok {
		return true, why
	}
	if r.Permission > PermNone && f.Permission >= r.Permission {
		return true, f.Permission.String() + " permission on the repository"
	}
	for _, t := range r.Teams {
		if k := TeamKey(t); k != "" && f.Teams[k] {
			return true, "member of @" + k
		}
	}
	if r.IsZero() {
		return false, "no one may run this command here"
	}
	return false, "only " + Who(r) + " may run this command"
}

// allowedByPayload decides on what the payload carries alone.
func allowedByPayload(r Rule, f Facts) (bool, string) {
	if r.Anyone {
		return true, "anyone may run it"
	}
	for _, a := range r.Associations {
		if f.Association != "" && strings.EqualFold(a, f.Association) {
			return true, "author association " + strings.ToUpper(f.Association)
		}
	}
	if r.IssueAuthor && f.Author != "" && strings.EqualFold(f.Author, f.IssueAuthor) {
		return true, "author of the issue"
	}
	return false, ""
}

// needs adds to n what r needs beyond the payload facts f; nothing when the
// payload already allows.
func (n *Needs) add(r Rule, f Facts) {
	if ok, _ := allowedByPayload(r, f); ok {
		return
	}
	if r.Permission > PermNone {
		n.Permission = true
	}
	for _, t := range r.Teams {
		if k := TeamKey(t); k != "" && !slices.Contains(n.Teams, k) {
			n.Teams = append(n.Teams, k)
		}
	}
	slices.Sort(n.Teams)
}

var assocWho = map[string]string{
	Owner:                "the repository owner",
	Member:               "organisation members",
	Collaborator:         "collaborators",
	Contributor:          "earlier contributors",
	FirstTimeContributor: "first-time contributors",
	FirstTimer:           "first-time GitHub users",
	Mannequin:            "mannequins",
	NoAssociation:        "people without an association",
}

// Who describes in plain text the people r allows: "collaborators, people
// with write permission or more, members of @acme/core-sre or the issue's
// author".
func Who(r Rule) string {
	if r.Anyone {
		return "anyone"
	}
	var parts []string
	for _, a := range r.Associations {
		w, ok := assocWho[strings.ToUpper(a)]
		if !ok {
			w = "people associated as " + strings.ToUpper(a)
		}
		parts = append(parts, w)
	}
	switch {
	case r.Permission >= PermAdmin:
		parts = append(parts, "repository admins")
	case r.Permission > PermNone:
		parts = append(parts, "people with "+r.Permission.String()+" permission or more")
	}
	var teams []string
	for _, t := range r.Teams {
		if k := TeamKey(t); k != "" {
			teams = append(teams, "@"+k)
		}
	}
	if len(teams) > 0 {
		parts = append(parts, "members of "+orList(teams))
	}
	if r.IssueAuthor {
		parts = append(parts, "the issue's author")
	}
	if len(parts) == 0 {
		return "no one"
	}
	return orList(parts)
}

func orList(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
