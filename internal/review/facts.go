package review

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
)

// FactsVersion is the version of the plan-facts block written by this build.
const FactsVersion = 1

// MaxFactsBytes bounds the encoded plan-facts block: it counts against the
// comment size limit though nobody sees it.
const MaxFactsBytes = 8 << 10

// Facts is what a plan-review comment carries, hidden, for the App to
// re-evaluate a pull request on a review event without the plan: counts,
// risky addresses, workspaces and directories. Never an attribute value.
type Facts struct {
	V            int      `json:"v"`
	PlannedSHA   string   `json:"sha,omitempty"`
	Counts       Counts   `json:"counts"`
	Risky        []Risk   `json:"risky,omitempty"`
	RiskyOmitted int      `json:"risky_omitted,omitempty"`
	Errored      []string `json:"errored,omitempty"`
	Workspaces   []string `json:"workspaces,omitempty"`
	Dirs         []string `json:"dirs,omitempty"`
}

// FactsOf extracts the Facts of s for a plan made from plannedSHA.
func FactsOf(s Summary, plannedSHA string) Facts {
	return Facts{
		V:            FactsVersion,
		PlannedSHA:   plannedSHA,
		Counts:       s.Counts,
		Risky:        s.Risky,
		RiskyOmitted: s.RiskyOmitted,
		Errored:      s.Errored,
		Workspaces:   s.Workspaces,
		Dirs:         s.Dirs,
	}
}

// Summary rebuilds the Summary that Evaluate needs (without Plans).
func (f Facts) Summary() Summary {
	return Summary{
		Counts:       f.Counts,
		Risky:        f.Risky,
		RiskyOmitted: f.RiskyOmitted,
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
	// A risk takes some 60 to 150 bytes encoded: start near what can fit
	// instead of encoding thousands to throw most away.
	if keep := MaxFactsBytes / 64; len(f.Risky) > keep {
		f.RiskyOmitted += len(f.Risky) - keep
		f.Risky = f.Risky[:keep]
	}
	for {
		js, err := json.Marshal(f)
		if err != nil {
			// Only plain strings and ints: cannot happen.
			panic(fmt.Sprintf("encode plan facts: %v", err))
		}
		out := fmt.Sprintf("%s%d %s -->", factsPrefix, FactsVersion, base64.RawURLEncoding.EncodeToString(js))
		if len(out) <= MaxFactsBytes || (len(f.Risky) == 0 && len(f.Workspaces) == 0 && len(f.Dirs) == 0) {
			return f, out
		}
		switch {
		case len(f.Risky) > 0:
			drop := (len(f.Risky) + 1) / 2
			f.RiskyOmitted += drop
			f.Risky = f.Risky[:len(f.Risky)-drop]
		default:
			f.Workspaces, f.Dirs = nil, nil
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
