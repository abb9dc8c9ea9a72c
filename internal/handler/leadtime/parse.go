package leadtime

import (
	"regexp"
	"strconv"
	"strings"
)

// The references below are written by people (an incident's author, a
// revert's author) and parsed defensively: bounded input, anchored
// patterns without nested repetition (RE2 runs in linear time anyway), and
// a cross-repository reference kept only in the form the core resolves.

// causedRE finds "caused by" (or "cause:") and the reference after it:
// "#123", "owner/name#123", a pull request or commit URL, "deployment 123",
// "deployment:123", "workflow_run:456", "release:789", or a SHA.
var causedRE = regexp.MustCompile(`(?i)\bcaused[ \t]+by[ \t]*:?[ \t]*` +
	`(` +
	`#[0-9]{1,9}` +
	`|[a-z0-9][a-z0-9-]{0,38}/[a-z0-9._-]{1,100}#[0-9]{1,9}` +
	`|https://github\.com/[a-z0-9][a-z0-9-]{0,38}/[a-z0-9._-]{1,100}/(?:pull|commit)/[0-9a-f]{1,40}` +
	`|deployment[ \t]*[:#]?[ \t]*(?:deployment:|workflow_run:|release:|merge:)?[0-9a-f]{1,40}` +
	`|(?:workflow_run|release|merge):[0-9a-f]{1,40}` +
	`|[0-9a-f]{7,40}` +
	`)\b`)

var (
	urlRE    = regexp.MustCompile(`(?i)^https://github\.com/([^/]+/[^/]+)/(pull|commit)/([0-9a-f]+)$`)
	deployRE = regexp.MustCompile(`(?i)^deployment[ \t]*[:#]?[ \t]*((?:deployment:|workflow_run:|release:|merge:)?[0-9a-f]+)$`)
	shaRE    = regexp.MustCompile(`(?i)^[0-9a-f]{7,40}$`)
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
)

// CausedBy returns the first cause an incident's body names, as
// leadtime.Incident.CausedBy spells it: "#123" (a pull request of repo),
// "owner/name#123" (of another repository), "deployment:123" or another
// deployment ID, or a lower-case commit SHA (prefix); "" when it names none.
// body should be bounded by the caller.
func CausedBy(repo, body string) string {
	for _, m := range causedRE.FindAllStringSubmatch(body, 20) {
		if ref := causeRef(repo, m[1]); ref != "" {
			return ref
		}
	}
	return ""
}

func causeRef(repo, s string) string {
	switch {
	case strings.HasPrefix(s, "#"):
		return s
	case urlRE.MatchString(s):
		m := urlRE.FindStringSubmatch(s)
		if m[2] == "pull" {
			if !digitsRE.MatchString(m[3]) {
				return ""
			}
			return pullRef(repo, m[1], m[3])
		}
		if !shaRE.MatchString(m[3]) {
			return ""
		}
		if !strings.EqualFold(m[1], repo) {
			return "" // the core links SHAs within the incident's repository
		}
		return strings.ToLower(m[3])
	case deployRE.MatchString(s):
		id := strings.ToLower(deployRE.FindStringSubmatch(s)[1])
		switch {
		case digitsRE.MatchString(id):
			return "deployment:" + id
		case strings.Contains(id, ":"):
			return id
		}
		return "" // hex without a source names no deployment
	case strings.Contains(s, "#"):
		other, num, _ := strings.Cut(s, "#")
		return pullRef(repo, other, num)
	case strings.Contains(s, ":"):
		return strings.ToLower(s)
	case shaRE.MatchString(s):
		return strings.ToLower(s)
	}
	return ""
}

func pullRef(repo, other, num string) string {
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return ""
	}
	if strings.EqualFold(other, repo) {
		return "#" + strconv.Itoa(n)
	}
	return other + "#" + strconv.Itoa(n)
}

var revertRE = regexp.MustCompile(`(?im)^[ \t]*reverts[ \t]+([a-z0-9][a-z0-9-]{0,38}/[a-z0-9._-]{1,100})?#([0-9]{1,9})\b`)

// Reverts returns the number of the pull request of repo that a pull
// request reverts, from its body: GitHub's revert button writes "Reverts
// owner/name#123" on a line of its own; "Reverts #123" is accepted too. 0
// when it reverts none (a title like `Revert "..."` alone is for the core's
// revert_title pattern).
func Reverts(repo, title, body string) int {
	_ = title
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	for _, m := range revertRE.FindAllStringSubmatch(body, 5) {
		if m[1] != "" && !strings.EqualFold(m[1], repo) {
			continue
		}
		if n, err := strconv.Atoi(m[2]); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
