package planreview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler"
)

// PullRequestReview re-evaluates plan review when a review is submitted,
// dismissed or edited.
type PullRequestReview struct {
	Review *Review
}

// PullRequest re-evaluates plan review when the head moves (synchronize:
// the plan becomes stale) or a pull request is reopened.
type PullRequest struct {
	Review *Review
}

var (
	_ handler.Feature = (*PullRequestReview)(nil)
	_ handler.Feature = (*PullRequest)(nil)
	_ handler.Feature = (*Rerun)(nil)
)

// permissions are what plan review needs, whichever event starts it:
// contents read (the configuration, CODEOWNERS, catalog-info.yaml), pull
// requests write (the pull request, its commits, reviews and files; the
// sticky comment), checks write (tasuki/plan-review), members read
// (approvers' team membership) and issues read (the SRE handoff issue,
// whose phase says who may approve a risky plan).
func permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterCheckRuns(), handler.WriterPullRequestComments(),
		map[string]string{handler.PermPullRequests: handler.Read, handler.PermMembers: handler.Read, handler.PermIssues: handler.Read})
}

// Handles lists pull_request_review.
func (*PullRequestReview) Handles() []string { return []string{"pull_request_review"} }

// Permissions are plan review's.
func (*PullRequestReview) Permissions() map[string]string { return permissions() }

// Handles lists pull_request.
func (*PullRequest) Handles() []string { return []string{"pull_request"} }

// Permissions are plan review's.
func (*PullRequest) Permissions() map[string]string { return permissions() }

// Handles lists check_run.
func (*Rerun) Handles() []string { return []string{"check_run"} }

// Permissions are plan review's.
func (*Rerun) Permissions() map[string]string { return permissions() }

// Handle decodes a pull_request_review delivery and re-evaluates its pull
// request.
func (h *PullRequestReview) Handle(ctx context.Context, d dispatch.Delivery) error {
	var ev github.PullRequestReviewEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return fmt.Errorf("decode %s delivery %s: %w", d.Event, d.ID, err)
	}
	switch ev.GetAction() {
	case "submitted", "dismissed", "edited":
	default:
		return nil
	}
	return h.Review.reevaluateEvent(ctx, d, ev.GetAction(), ev.GetSender(), ev.GetInstallation(), ev.GetRepo(), ev.GetPullRequest())
}

// Handle decodes a pull_request delivery and re-evaluates its pull request.
func (h *PullRequest) Handle(ctx context.Context, d dispatch.Delivery) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return fmt.Errorf("decode %s delivery %s: %w", d.Event, d.ID, err)
	}
	switch ev.GetAction() {
	case "synchronize", "reopened":
	default:
		return nil
	}
	return h.Review.reevaluateEvent(ctx, d, ev.GetAction(), ev.GetSender(), ev.GetInstallation(), ev.GetRepo(), ev.GetPullRequest())
}

func (r *Review) reevaluateEvent(ctx context.Context, d dispatch.Delivery, action string, sender *github.User, inst *github.Installation, repo *github.Repository, pr *github.PullRequest) error {
	instID := inst.GetID()
	if instID == 0 {
		instID = d.InstallationID
	}
	log := r.base.Logger().With("delivery", d.ID, "event", d.Event, "action", action,
		"installation", instID, "repo", repo.GetFullName(), "pr", pr.GetNumber())
	if r.base.Identity.Trusts(sender) {
		// tasuki's own writes do not change reviews or commits; answering
		// them would only spend API calls.
		log.DebugContext(ctx, "ignoring event caused by tasuki")
		return nil
	}
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	if owner == "" || name == "" || pr.GetNumber() == 0 {
		return fmt.Errorf("%s %s delivery %s: payload lacks repository or pull request number", d.Event, action, d.ID)
	}
	if r.base.Clients == nil {
		return handler.ErrNoClient
	}
	c, err := r.base.Clients.Client(ctx, instID)
	if err != nil {
		return fmt.Errorf("client for installation %d: %w", instID, err)
	}
	// The payload's pull request (head, author, requested reviewers) is as
	// of the event; the reviews are read afresh.
	_, err = r.reevaluateLocked(ctx, log, c, owner, name, pr.GetNumber(), pr)
	return err
}

// Rerun re-evaluates plan review when someone presses "Re-run"
// on the tasuki/plan-review check (check_run rerequested, sent only to the
// App owning the check).
type Rerun struct {
	Review *Review
}

// Handle decodes a check_run delivery and re-evaluates the pull requests of
// a rerequested tasuki/plan-review check.
func (h *Rerun) Handle(ctx context.Context, d dispatch.Delivery) error {
	var ev github.CheckRunEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return fmt.Errorf("decode %s delivery %s: %w", d.Event, d.ID, err)
	}
	switch ev.GetAction() {
	case "rerequested":
	default:
		return nil
	}
	cr := ev.GetCheckRun()
	if cr.GetName() != CheckName {
		return nil
	}
	// GitHub lists no pull requests for a head in a fork; the external ID
	// names the pull request in every case.
	numbers := map[int]bool{}
	for _, pr := range cr.PullRequests {
		numbers[pr.GetNumber()] = true
	}
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	// externalID's form: plan-review:OWNER/REPO#N.
	if rest, ok := strings.CutPrefix(cr.GetExternalID(), "plan-review:"+owner+"/"+repo+"#"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			numbers[n] = true
		}
	}
	var errs []error
	for _, n := range slices.Sorted(maps.Keys(numbers)) {
		pr := &github.PullRequest{Number: github.Int(n)}
		// "Re-run" writes the check run even if tasuki remembers it saying
		// the same.
		if err := h.Review.reevaluateEvent(forceCheck(ctx), d, ev.GetAction(), ev.GetSender(), ev.GetInstallation(), ev.GetRepo(), pr); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
