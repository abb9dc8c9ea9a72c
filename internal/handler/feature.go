package handler

import "github.com/tasuki-sre/tasuki/internal/dispatch"

// Feature is a feature's webhook handler as the App registers it: it
// handles deliveries of the events Handles names, and works only when the
// App holds the permissions Permissions names. The App registers it for
// those events, and a test holds the App's manifest (docs/app-manifest.json)
// to the union of what the registered handlers handle and need.
//
// Handles and Permissions depend on the handler's type alone: they answer
// on a nil handler, so the App can register a handler for its events
// before it can build it (it waits for GitHub to say who the App is).
type Feature interface {
	dispatch.Handler
	// Handles lists the webhook events (X-GitHub-Event: "pull_request",
	// "issue_comment") the handler acts on.
	Handles() []string
	// Permissions maps each GitHub App permission the handler's reads and
	// writes need, as the manifest's default_permissions spells it
	// ("issues", "members"), to the access: Read or Write.
	Permissions() map[string]string
}

// Access levels of a permission.
const (
	Read  = "read"
	Write = "write"
)

// GitHub App permissions, as the App manifest's default_permissions spells
// them.
const (
	PermMetadata     = "metadata"
	PermContents     = "contents"
	PermPullRequests = "pull_requests"
	PermChecks       = "checks"
	PermIssues       = "issues"
	PermDeployments  = "deployments"
	PermMembers      = "members" // organisation members: team membership
)

// BasePermissions are what every feature needs: metadata, which GitHub
// grants every App (repositories, and a user's permission on one), and
// contents read, for .github/tasuki.yml (Base.Config).
func BasePermissions() map[string]string {
	return map[string]string{PermMetadata: Read, PermContents: Read}
}

// What the writer's calls (Base.Writer) need; a feature names those it
// uses in its Permissions.

// WriterCheckRuns is what UpsertCheckRun needs.
func WriterCheckRuns() map[string]string { return map[string]string{PermChecks: Write} }

// WriterIssues is what EnsureIssue and FindIssue (which may search issues),
// AddLabels, and the comment calls (EnsureComment, UpsertComment,
// FindComment, TrustedComments) on an issue need.
func WriterIssues() map[string]string { return map[string]string{PermIssues: Write} }

// WriterPullRequestComments is what the comment calls need on a pull
// request's conversation.
func WriterPullRequestComments() map[string]string {
	return map[string]string{PermPullRequests: Write}
}

// MergePermissions returns the union of sets, as a new map: every
// permission any of them names, at the highest access any asks for.
func MergePermissions(sets ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, s := range sets {
		for p, a := range s {
			if out[p] != Write {
				out[p] = a
			}
		}
	}
	return out
}
