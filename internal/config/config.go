// Package config loads .github/tasuki.yml: one file, one section per feature,
// org defaults (the org's .github repository) merged under repo values,
// strict decoding with line numbers, defaults filled in one place.
package config

//go:generate go run ./schemagen -root ../..

import (
	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// Path is where a repository keeps its configuration.
const Path = ".github/tasuki.yml"

// Config is the effective configuration of one repository.
type Config struct {
	Review     review.Config     `yaml:"review" json:"review"`
	Postmortem postmortem.Config `yaml:"postmortem" json:"postmortem"`
	Ownership  ownership.Config  `yaml:"ownership" json:"ownership"`
	// Sections of features not built yet are accepted so that a file written
	// for a newer tasuki does not fail here.
	LeadTime map[string]any `yaml:"leadtime,omitempty" json:"leadtime,omitempty"`
	// Onboarding is accepted unchecked for the same reason.
	Onboarding map[string]any `yaml:"onboarding,omitempty" json:"onboarding,omitempty"`
}

// Default returns the configuration used when a repository has none.
func Default() Config {
	return Config{
		Review:     review.DefaultConfig(),
		Postmortem: postmortem.DefaultConfig(),
		Ownership:  ownership.DefaultConfig(),
	}
}

// Fetched is a configuration together with where it came from and what went
// wrong reading it. When Err is set, Config holds the defaults (merged with
// whatever part could be read) so that features keep working.
//
// Err is either one or more *ParseError joined with errors.Join (a bad file:
// the user's to fix, listed by ParseErrors; each bad section fell back), or a
// GitHub failure returned by ReadError (the job's to retry: Config is only
// the defaults).
type Fetched struct {
	Config  Config
	Sources []string // files present, e.g. "acme/.github:.github/tasuki.yml", "acme/api:.github/tasuki.yml"
	Err     error
}
