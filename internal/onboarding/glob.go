package onboarding

import (
	"fmt"
	"path"
	"strings"
)

// globMatch reports whether name (a repository path, no leading slash)
// matches pattern: segments separated by '/', each matched with path.Match,
// "**" matching any number of segments (zero included). A pattern without
// '/' matches a file of that name in any directory.
//
// A trailing "/**" matches everything inside, not the directory itself.
func globMatch(pattern, name string) bool {
	if !strings.Contains(pattern, "/") {
		pattern = "**/" + pattern
	}
	pattern = strings.TrimPrefix(pattern, "/")
	if strings.HasSuffix(pattern, "/**") {
		pattern += "/*" // "**" then at least one segment
	}
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"), 0)
}

// maxGlobSteps bounds the backtracking of one match; patterns come from a
// checklist anyone with write access edits.
const maxGlobSteps = 10000

func matchSegs(pat, name []string, steps int) bool {
	for len(pat) > 0 {
		if steps++; steps > maxGlobSteps {
			return false
		}
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat[1:], name[i:], steps+i) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if globMatch(p, name) {
			return true
		}
	}
	return false
}

// matching returns the paths of tree matching any of patterns, in tree
// order.
func matching(tree, patterns []string) []string {
	var out []string
	for _, t := range tree {
		if matchAny(t, patterns) {
			out = append(out, t)
		}
	}
	return out
}

// validGlobs checks that each pattern compiles.
func validGlobs(patterns []string) error {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" || len(p) > 200 {
			return fmt.Errorf("path pattern %q is empty or longer than 200 bytes", p)
		}
		if strings.Count(p, "**") > 4 {
			return fmt.Errorf("path pattern %q has more than four **", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "**" {
				continue
			}
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("bad path pattern %q", p)
			}
		}
	}
	return nil
}
