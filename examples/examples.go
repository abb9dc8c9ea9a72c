// Package examples bundles the demo's inputs: real Terraform plans, webhook
// deliveries shaped like GitHub's, and the files of the demo repository.
package examples

import "embed"

// FS holds plans/*.json, events/*.json and repo/ (the demo repository's files).
//
//go:embed plans/*.json events/*.json repo repo/.github
var FS embed.FS
