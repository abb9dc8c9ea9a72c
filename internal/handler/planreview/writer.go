package planreview

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// planWriter is the idempotent writes plan review needs; *ghwrite.Writer
// provides them.
type planWriter interface {
	// FindComment returns tasuki's comment carrying m, or nil. Comments by
	// anyone else are ignored, whatever they contain.
	FindComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error)
	// Execute carries out the publication's intents (the comment, then the
	// check run on its head SHA), each idempotently.
	Execute(ctx context.Context, owner, repo string, intents []ghwrite.Intent) ([]ghwrite.Result, error)
}

var _ planWriter = (*ghwrite.Writer)(nil)

// oneLine flattens s for a check run title.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// forceCheckKey marks a context whose check run must be written even when
// the memo says it already says the same: someone pressed "Re-run".
type forceCheckKey struct{}

func forceCheck(ctx context.Context) context.Context {
	return context.WithValue(ctx, forceCheckKey{}, true)
}

// checkMemo is a planWriter that skips setting a check run tasuki already
// set to the very same output on the same commit: it remembers, in the
// store's memo, a fingerprint of the last check run written per commit and
// the run's ID. Finding the run first would cost a read that GitHub
// answers afresh after every write (the write changed it), so an unchanged
// verdict would spend one rate-limited request for nothing. Only tasuki's
// App can change its own check runs, so what it wrote is what is there;
// "Re-run" (forceCheck) writes anyway.
type checkMemo struct {
	planWriter
	memo ghwrite.Memo
}

func checkMemoKey(owner, repo string, cr intent.CheckRun) string {
	return "plan-review-check:" + owner + "/" + repo + "@" + cr.HeadSHA + ":" + cr.Name + ":" + cr.ExternalID
}

func checkFingerprint(cr intent.CheckRun) string {
	h := sha256.New()
	for _, s := range []string{cr.Name, cr.Status, cr.Conclusion, cr.Title, cr.Summary, cr.Text, cr.DetailsURL} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	if len(cr.Annotations) > 0 {
		fmt.Fprintf(h, "annotations:%d:%v", len(cr.Annotations), cr.Annotations)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (m *checkMemo) Execute(ctx context.Context, owner, repo string, intents []ghwrite.Intent) ([]ghwrite.Result, error) {
	force, _ := ctx.Value(forceCheckKey{}).(bool)
	out := make([]ghwrite.Result, len(intents))
	var send []ghwrite.Intent
	var sentAt []int // index in intents of each sent intent
	for i, in := range intents {
		if in.Kind == intent.SetCheckRun && !force && in.CheckRun.DetailsURL != intent.CommentURL {
			if v, ok, err := m.memo.Get(ctx, checkMemoKey(owner, repo, in.CheckRun)); err == nil && ok {
				fp, idStr, _ := strings.Cut(v, " ")
				if id, err := strconv.ParseInt(idStr, 10, 64); err == nil && id > 0 && fp == checkFingerprint(in.CheckRun) {
					out[i] = ghwrite.Result{ID: id}
					continue
				}
			}
		}
		send = append(send, in)
		sentAt = append(sentAt, i)
	}
	if len(send) == 0 {
		return out, nil
	}
	done, err := m.planWriter.Execute(ctx, owner, repo, send)
	for j, i := range sentAt {
		in := intents[i]
		if in.Kind == intent.UpsertComment && in.Marker.Kind == CommentKind {
			// What tasuki wrote is what the comment holds; anything else
			// there later was edited by someone (factsEdited). After a
			// failure nobody knows.
			v := ""
			if err == nil && j < len(done) {
				v = factsDigest(in.Body)
			}
			if perr := m.memo.Put(ctx, factsMemoKey(owner, repo, in.Number), v); perr != nil {
				return out, errors.Join(err, fmt.Errorf("remember plan facts of %s/%s#%d: %w", owner, repo, in.Number, perr))
			}
		}
		if in.Kind != intent.SetCheckRun {
			if j < len(done) {
				out[i] = done[j]
			}
			continue
		}
		key := checkMemoKey(owner, repo, in.CheckRun)
		v := ""
		if err == nil && j < len(done) && done[j].ID > 0 {
			out[i] = done[j]
			cr := in.CheckRun
			if cr.DetailsURL == intent.CommentURL {
				// As the next evaluation will name it: the comment's URL.
				cr.DetailsURL = commentURL(send, done)
			}
			v = checkFingerprint(cr) + " " + strconv.FormatInt(done[j].ID, 10)
		}
		// After a failure the run may or may not have changed: forget it,
		// so the next evaluation writes.
		if perr := m.memo.Put(ctx, key, v); perr != nil {
			return out, errors.Join(err, fmt.Errorf("remember check run %s: %w", key, perr))
		}
	}
	return out, err
}

// commentURL is the URL of the comment written in a batch, which a check
// run's intent.CommentURL stands for.
func commentURL(sent []ghwrite.Intent, done []ghwrite.Result) string {
	for j, in := range sent {
		if (in.Kind == intent.UpsertComment || in.Kind == intent.EnsureComment) && j < len(done) {
			return done[j].URL
		}
	}
	return intent.CommentURL
}

// factsMemoKey is where the digest of the plan facts tasuki last wrote in a
// pull request's plan review comment is remembered.
func factsMemoKey(owner, repo string, number int) string {
	return fmt.Sprintf("plan-review-facts:%s/%s#%d", owner, repo, number)
}

// factsDigest is a digest of the plan facts in a comment body ("none"
// without a readable block).
func factsDigest(body string) string {
	f, found, err := review.DecodeFacts(body)
	if !found || err != nil {
		return "none"
	}
	js, err := json.Marshal(f)
	if err != nil {
		return "none"
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:])
}

// factsEdited reports whether the plan facts in tasuki's comment cm differ
// from the ones tasuki last wrote there: anyone with write access to the
// repository can edit a comment, tasuki's included, and facts claiming
// nothing risky would pass a risky plan. Only the memo knows what tasuki
// wrote; without a memo entry (a comment from before it was kept, or the
// Action's memo, which lives one job) nothing can be told.
func (r *Review) factsEdited(ctx context.Context, owner, repo string, number int, cm *github.IssueComment) bool {
	if r.base.Memo == nil {
		return false
	}
	v, ok, err := r.base.Memo.Get(ctx, factsMemoKey(owner, repo, number))
	if err != nil || !ok || v == "" {
		return false
	}
	return v != factsDigest(cm.GetBody())
}
