package ghwrite_test

import (
	"testing"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/ghwrite/racetest"
)

// 50 workers race on one comment, check run, issue and pull request with
// the in-process lock: one of each.
func TestOneArtefactMemLock(t *testing.T) {
	racetest.OneArtefact(t, &ghwrite.MemLocker{})
}
