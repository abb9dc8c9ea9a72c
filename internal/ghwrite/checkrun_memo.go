package ghwrite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

// A check run the writer has set before is updated by its remembered ID,
// without the lookup: the lookup lists the commit's runs of the name, and
// GitHub answers that listing afresh after every write to one of them, so
// each changed verdict would pay one rate-limited read for an ID the writer
// already knew (issue #11).
//
// Trust is unchanged: only the GitHub App that created a check run may
// update it (GitHub answers 403 to anyone else), so a PATCH by ID can only
// ever change a run of tasuki's own App (a 403 sends the writer to the
// lookup, which checks the run's App); and the memo only holds IDs the
// writer created or found by the lookup.
//
// What the memo holds per commit, name and external ID: "ID COUNT FP". ID
// is the run; COUNT the annotations GitHub reported on it after the
// writer's last complete write (GitHub appends annotations sent on an
// update, so the direct update is taken only when none is left to send);
// FP a fingerprint of the output last written. When the run to set has
// the remembered fingerprint, nothing is known to have changed and the
// writer looks the run up as before, which skips the write when the run
// already says the same, so a repeated identical set never turns a read
// into a write. A remembered run that is gone (404) or not the App's (403)
// is looked up again: GitHub stays the truth.

// checkRunMemoKey is where the ID of tasuki's check run name (external ID
// ext) on a commit is remembered, built as the other memo keys are.
func checkRunMemoKey(owner, repo string, run CheckRun) string {
	return fmt.Sprintf("check-run:%s/%s@%s:%s:%s", owner, repo, run.HeadSHA, run.Name, run.ExternalID)
}

// checkRunFingerprint identifies what a check run says.
func checkRunFingerprint(name, externalID, status, conclusion string, o *github.CheckRunOutput, details string) string {
	h := sha256.New()
	for _, s := range []string{name, externalID, status, conclusion, o.GetTitle(), o.GetSummary(), o.GetText(), details} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// rememberedCheckRun is a memo entry of checkRunMemoKey.
type rememberedCheckRun struct {
	id          int64
	annotations int
	fingerprint string
}

func parseRememberedCheckRun(v string) (rememberedCheckRun, bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return rememberedCheckRun{}, false
	}
	id, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || id <= 0 {
		return rememberedCheckRun{}, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 {
		return rememberedCheckRun{}, false
	}
	return rememberedCheckRun{id: id, annotations: n, fingerprint: f[2]}, true
}

// rememberCheckRun remembers c, which now says what fingerprint fp stands
// for, under key.
func (w *Writer) rememberCheckRun(ctx context.Context, key string, c *github.CheckRun, fp string) {
	if c.GetID() == 0 {
		return
	}
	w.memoPut(ctx, key, fmt.Sprintf("%d %d %s", c.GetID(), c.GetOutput().GetAnnotationsCount(), fp))
}

// updateRememberedCheckRun updates the remembered run of key to say out
// (with status and run's conclusion and details URL) and sends no
// annotations: all annotations of the run's findings were sent before.
// ok is false when the lookup must decide instead: nothing remembered,
// annotations possibly unsent, the same output as last written, or the
// run gone.
func (w *Writer) updateRememberedCheckRun(ctx context.Context, owner, repo string, run CheckRun, key, fp, status string,
	out *github.CheckRunOutput, annotations int) (c *github.CheckRun, ok bool, err error) {
	r, found := parseRememberedCheckRun(w.memoGet(ctx, key))
	if !found || r.annotations < annotations || r.fingerprint == fp {
		return nil, false, nil
	}
	opts := github.UpdateCheckRunOptions{Name: run.Name, Status: github.String(status), Output: withAnnotations(out, nil),
		ExternalID: optional(run.ExternalID), Conclusion: optional(run.Conclusion), DetailsURL: optional(run.DetailsURL)}
	c, _, err = w.c.Checks.UpdateCheckRun(ctx, owner, repo, r.id, opts)
	if isNotFound(err) || isStatus(err, http.StatusForbidden) {
		// Gone, or (403) not a run of this App: the memo is wrong, the
		// lookup knows. A rate limit is not an *ErrorResponse, so it is
		// not taken for a 403 here.
		w.log.WarnContext(ctx, "remembered check run not updatable, looking it up", "repo", owner+"/"+repo, "check_run", r.id, "name", run.Name, "err", err)
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	w.rememberCheckRun(ctx, key, c, fp)
	w.log.InfoContext(ctx, "check run set", "repo", owner+"/"+repo, "check_run", c.GetID(), "name", run.Name, "conclusion", run.Conclusion, "by", "remembered ID")
	return c, true, nil
}
