// Package config loads .github/tasuki.yml: one file, one section per feature,
// org defaults (the org's .github repository) merged under repo values,
// strict decoding with line numbers, defaults filled in one place.
package config

//go:generate go run ./schemagen -root ../..

import (
	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
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
	LeadTime   leadtime.Config   `yaml:"leadtime" json:"leadtime"`
	// Onboarding is the SRE handoff (internal/onboarding).
	Onboarding onboarding.Config `yaml:"onboarding" json:"onboarding"`
}

// Default returns the configuration used when a repository has none.
func Default() Config {
	return Config{
		Review:     review.DefaultConfig(),
		Postmortem: postmortem.DefaultConfig(),
		Ownership:  ownership.DefaultConfig(),
		LeadTime:   leadtime.DefaultConfig(),
		Onboarding: onboarding.DefaultConfig(),
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
