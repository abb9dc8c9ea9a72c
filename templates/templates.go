// Package templates holds the markdown and YAML files users may override or
// copy: the postmortem body template and the GitHub issue forms for
// incidents and postmortems. They are embedded so the binaries need no files
// beside them.
package templates

import "embed"

// FS holds postmortem.md, incident.yml, postmortem.yml and onboarding.yml.
//
//go:embed postmortem.md incident.yml postmortem.yml onboarding.yml
var FS embed.FS

// Onboarding is the path of the built-in SRE handoff checklist within FS.
const Onboarding = "onboarding.yml"

// Postmortem is the path of the built-in postmortem template within FS.
const Postmortem = "postmortem.md"
