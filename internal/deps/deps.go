//go:build tools

// Package deps pins the libraries tasuki is built on so that go.mod keeps
// them while packages are being written in parallel.
package deps

import (
	_ "github.com/bradleyfalzon/ghinstallation/v2"
	_ "github.com/goccy/go-yaml"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-github/v60/github"
	_ "github.com/hashicorp/go-tfe"
	_ "github.com/hashicorp/terraform-json"
	_ "github.com/hmarr/codeowners"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/riverqueue/river"
	_ "github.com/riverqueue/river/riverdriver/riverpgxv5"
	_ "github.com/riverqueue/river/riverdriver/riversqlite"
	_ "github.com/riverqueue/river/rivermigrate"
	_ "github.com/sethvargo/go-githubactions"
	_ "github.com/shurcooL/githubv4"
	_ "github.com/yuin/goldmark"
	_ "modernc.org/sqlite"
)
