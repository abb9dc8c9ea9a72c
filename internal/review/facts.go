package review

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// FactsVersion is the version of the plan-facts block written by this build.
const FactsVersion = 1

// MaxFactsBytes bounds the encoded plan-facts block: it counts against the
// comment size limit though nobody sees it.
const MaxFactsBytes = 8 << 10

// maxWhereBytes bounds the job summary URL and artifact name the block
// records.
const maxWhereBytes = 512

// Facts is what a plan-review comment carries, hidden, for the App to
// re-evaluate a pull request on a review event without the plan: counts,
// risky addresses, workspaces and directories. Never an attribute value.
type Facts struct {
	V            int    `json:"v"`
	PlannedSHA   string `json:"sha,omitempty"`
	Counts       Counts `json:"counts"`
	Risky        []Risk `json:"risky,omitempty"`
	RiskyOmitted int    `json:"risky_omitted,omitempty"`
	// RiskTotals counts the risky changes per reason (a rule's name)
	// when Risky was cut to fit, so that the verdict still says how many
	// each reason covers: one entry per rule, never per change.
	RiskTotals map[string]int `json:"risk_totals,omitempty"`
	// SummaryURL and Artifact say where the changes not in Risky are
	// named (Meta.JobSummaryURL, Meta.ArtifactName); only when some are
	// left out.
	SummaryURL string   `json:"summary_url,omitempty"`
	Artifact   string   `json:"artifact,omitempty"`
	Errored    []string `json:"errored,omitempty"`
	Workspaces []string `json:"workspaces,omitempty"`
	Dirs       []string `json:"dirs,omitempty"`
}

// FactsOf extracts the Facts of s for a plan made from plannedSHA.
func FactsOf(s Summary, plannedSHA string) Facts {
	return Facts{
		V:            FactsVersion,
		PlannedSHA:   plannedSHA,
		Counts:       s.Counts,
		Risky:        s.Risky,
		RiskyOmitted: s.RiskyOmitted,
		RiskTotals:   s.RiskTotals,
		Errored:      s.Errored,
		Workspaces:   s.Workspaces,
		Dirs:         s.Dirs,
	}
}

// factsFor is FactsOf with where the full review is, as the comment's
// hidden block records it.
func factsFor(s Summary, m Meta) Facts {
	f := FactsOf(s, m.PlannedSHA)
	// Bounded: the block must keep room for the risks themselves.
	if u := safeURL(m.JobSummaryURL); len(u) <= maxWhereBytes {
		f.SummaryURL = u
	}
	if len(m.ArtifactName) <= maxWhereBytes {
		f.Artifact = m.ArtifactName
	}
	return f
}

// Summary rebuilds the Summary that Evaluate needs (without Plans).
func (f Facts) Summary() Summary {
	return Summary{
		Counts:       f.Counts,
		Risky:        f.Risky,
		RiskyOmitted: f.RiskyOmitted,
		RiskTotals:   f.RiskTotals,
		Errored:      f.Errored,
		Workspaces:   f.Workspaces,
		Dirs:         f.Dirs,
	}
}

const factsPrefix = "<!-- tasuki:plan-facts v="

var factsRe = regexp.MustCompile(`(?m)^<!-- tasuki:plan-facts v=(\d+) ([A-Za-z0-9_-]*) -->\r?$`)

// EncodeFacts renders f as a hidden block,
// <!-- tasuki:plan-facts v=1 BASE64URL(JSON) -->, at most MaxFactsBytes
// long: risky entries that do not fit are dropped and counted in
// RiskyOmitted (Evaluate still sees that a second reviewer is needed).
func EncodeFacts(f Facts) string {
	_, out := fitFacts(f)
	return out
}

// fitFacts returns f as EncodeFacts writes it (risky entries dropped to
// fit) with its encoding: what DecodeFacts will read back.
func fitFacts(f Facts) (Facts, string) {
	f.V = FactsVersion
	// Where the full list is matters only once some risks are left out.
	url, art := f.SummaryURL, f.Artifact
	if f.RiskyOmitted == 0 {
		f.SummaryURL, f.Artifact = "", ""
	}
	// drop cuts Risky to keep entries, recording the true count of every
	// reason first (when Risky is still complete) so that the verdict can
	// say it.
	drop := func(keep int) {
		if f.RiskTotals == nil && f.RiskyOmitted == 0 {
			f.RiskTotals = riskTotals(f.Risky)
		}
		// Workspace and directory risks are one per plan at most and
		// say the most in the fewest bytes: keep them first.
		f.Risky = slices.Clone(f.Risky)
		slices.SortStableFunc(f.Risky, func(a, b Risk) int {
			return cmp.Compare(min(len(a.Address), 1), min(len(b.Address), 1))
		})
		f.RiskyOmitted += len(f.Risky) - keep
		f.Risky = f.Risky[:keep]
		f.SummaryURL, f.Artifact = url, art
	}
	// A risk takes some 60 to 150 bytes encoded: start near what can fit
	// instead of encoding thousands to throw most away.
	if keep := MaxFactsBytes / 64; len(f.Risky) > keep {
		drop(keep)
	}
	for {
		js, err := json.Marshal(f)
		if err != nil {
			// Only plain strings and ints: cannot happen.
			panic(fmt.Sprintf("encode plan facts: %v", err))
		}
		out := fmt.Sprintf("%s%d %s -->", factsPrefix, FactsVersion, base64.RawURLEncoding.EncodeToString(js))
		if len(out) <= MaxFactsBytes || (len(f.Risky) == 0 && len(f.Workspaces) == 0 && len(f.Dirs) == 0 && f.SummaryURL == "") {
			return f, out
		}
		switch {
		case len(f.Risky) > 0:
			drop(len(f.Risky) / 2)
		case len(f.Workspaces) > 0 || len(f.Dirs) > 0:
			f.Workspaces, f.Dirs = nil, nil
		default:
			f.SummaryURL, url = "", ""
		}
	}
}

// DecodeFacts decodes the plan-facts block of a comment body: the last line
// of body that is exactly a block. RenderComment writes the block after
// everything it copies from a plan, so text copied into the comment (a
// plan's values, keys, outputs) always stands above it and cannot take its
// place even if it got past marker.Defang. found is false when body has no
// block; err says why a block present could not be read (a newer version,
// damaged content).
func DecodeFacts(body string) (f Facts, found bool, err error) {
	var m []string
	if all := factsRe.FindAllStringSubmatch(body, -1); len(all) > 0 {
		m = all[len(all)-1]
	}
	if m == nil {
		return Facts{}, false, nil
	}
	if m[1] != fmt.Sprint(FactsVersion) {
		return Facts{}, true, fmt.Errorf("decode plan facts: version %s, this tasuki reads %d", m[1], FactsVersion)
	}
	js, err := base64.RawURLEncoding.DecodeString(m[2])
	if err != nil {
		return Facts{}, true, fmt.Errorf("decode plan facts: %w", err)
	}
	if err := json.Unmarshal(js, &f); err != nil {
		return Facts{}, true, fmt.Errorf("decode plan facts: %w", err)
	}
	return f, true, nil
}
