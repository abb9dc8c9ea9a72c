package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// Lead-time events are kept for good (unlike delivery rows, which are
// pruned): the metrics of past weeks are computed from them again.
//
// Recording is an idempotent merge, the same whether an event arrives by
// webhook, by redelivery or by a backfill, in any order: a record fills what
// it knows and never erases what an earlier one knew. The merge of each kind
// is written once, in Go (merge* below), rather than as SQL on two
// dialects: a recording transaction reads the rows it touches, merges and
// writes them back. On PostgreSQL those transactions are serialised by one
// advisory transaction lock, so two replicas merging into the same row
// cannot lose each other's fields; lead-time events arrive at webhook pace,
// so one lock costs nothing worth a finer scheme. SQLite has one writer.

// maxReviewsPerPull bounds the reviews kept on a pull's row (the
// tasuki_lt_review table keeps them all): the earliest ones, which are the
// ones the metrics use (first review, first approval).
const maxReviewsPerPull = 200

// recordChunk bounds the rows one statement reads or writes, well under
// SQLite's and PostgreSQL's limits on bound parameters.
const recordChunk = 256

var leadtimeLockKey = advisoryKey("tasuki lead-time events")

// RecordPulls merges pull requests into the store, keyed by (Repo, Number).
// Per field: text, flags and lists are replaced by a record that knows them
// (non-empty, non-nil); FirstCommitAt, OpenedAt and ReadyAt keep the
// earliest time known, ClosedAt the latest, MergedAt the first one known.
func (s *Store) RecordPulls(ctx context.Context, ps []leadtime.Pull) error {
	for _, p := range ps {
		if p.Repo == "" || p.Number <= 0 {
			return fmt.Errorf("record pull %q #%d: want a repository and a positive number", p.Repo, p.Number)
		}
	}
	return recordEvents(ctx, s, "pull requests", ps, eventKind[leadtime.Pull]{
		group: func(p leadtime.Pull) string { return p.Repo },
		key:   func(p leadtime.Pull) string { return strconv.Itoa(p.Number) },
		load:  loadPulls,
		merge: mergePull,
		write: writePulls,
	})
}

// RecordReviews merges reviews and review comments, keyed by (Repo,
// Number, ID): At keeps the earliest time known, the rest is replaced by a
// record that knows it. A review may arrive before its pull request.
func (s *Store) RecordReviews(ctx context.Context, rs []leadtime.Review) error {
	for _, r := range rs {
		if r.Repo == "" || r.Number <= 0 || r.ID == 0 {
			return fmt.Errorf("record review %q #%d/%d: want a repository, a pull request number and a review ID", r.Repo, r.Number, r.ID)
		}
	}
	return recordEvents(ctx, s, "reviews", rs, eventKind[leadtime.Review]{
		group: func(r leadtime.Review) string { return r.Repo + "\x00" + strconv.Itoa(r.Number) },
		key:   func(r leadtime.Review) string { return strconv.FormatInt(r.ID, 10) },
		load:  loadReviews,
		merge: mergeReview,
		write: writeReviews,
	})
}

// RecordDeployments merges production deployments, keyed by (Repo, ID):
// FinishedAt keeps the earliest success known; Commits is replaced by a
// record that read the range (non-nil); the rest by a record that knows it.
func (s *Store) RecordDeployments(ctx context.Context, ds []leadtime.Deployment) error {
	for _, d := range ds {
		if d.Repo == "" || d.ID == "" {
			return fmt.Errorf("record deployment %q %q: want a repository and an ID", d.Repo, d.ID)
		}
	}
	return recordEvents(ctx, s, "deployments", ds, eventKind[leadtime.Deployment]{
		group: func(d leadtime.Deployment) string { return d.Repo },
		key:   func(d leadtime.Deployment) string { return d.ID },
		load:  loadDeployments,
		merge: mergeDeployment,
		write: writeDeployments,
	})
}

// RecordJobs merges CI jobs, keyed by (Repo, ID): QueuedAt keeps the
// earliest time known, StartedAt and CompletedAt the latest; the rest is
// replaced by a record that knows it.
func (s *Store) RecordJobs(ctx context.Context, js []leadtime.Job) error {
	for _, j := range js {
		if j.Repo == "" || j.ID == 0 {
			return fmt.Errorf("record job %q %d: want a repository and an ID", j.Repo, j.ID)
		}
	}
	return recordEvents(ctx, s, "jobs", js, eventKind[leadtime.Job]{
		group: func(j leadtime.Job) string { return j.Repo },
		key:   func(j leadtime.Job) string { return strconv.FormatInt(j.ID, 10) },
		load:  loadJobs,
		merge: mergeJob,
		write: writeJobs,
	})
}

// RecordIncidents merges incidents, keyed by (Repo, Number): StartedAt keeps
// the earliest time known, ResolvedAt and ReopenedAt the latest (a reopened
// and closed incident was restored when it was closed last), and a
// ResolvedAt not after ReopenedAt is cleared (reopened, open again); the
// rest is replaced by a record that knows it.
func (s *Store) RecordIncidents(ctx context.Context, is []leadtime.Incident) error {
	for _, i := range is {
		if i.Repo == "" || i.Number <= 0 {
			return fmt.Errorf("record incident %q #%d: want a repository and a positive number", i.Repo, i.Number)
		}
	}
	return recordEvents(ctx, s, "incidents", is, eventKind[leadtime.Incident]{
		group: func(i leadtime.Incident) string { return i.Repo },
		key:   func(i leadtime.Incident) string { return strconv.Itoa(i.Number) },
		load:  loadIncidents,
		merge: mergeIncident,
		write: writeIncidents,
	})
}

// eventKind is how recordEvents reads, merges and writes one kind of event.
// Events of one group (a repository, or a pull request for reviews) are
// read together by key.
type eventKind[T any] struct {
	group func(T) string
	key   func(T) string
	// load reads the stored events of one group with these keys.
	load  func(ctx context.Context, q querier, sample T, keys []string) (map[string]T, error)
	merge func(old, new T) T
	write func(ctx context.Context, q querier, ts []T) error
}

func recordEvents[T any](ctx context.Context, s *Store, what string, items []T, k eventKind[T]) error {
	if len(items) == 0 {
		return nil
	}
	// Merge duplicates within the call first, in order, so that one
	// statement never names a row twice.
	type slot struct {
		group, key string
	}
	byGroup := map[string][]T{}
	var groups []string
	index := map[slot]int{}
	for _, it := range items {
		g, key := k.group(it), k.key(it)
		sl := slot{g, key}
		if i, ok := index[sl]; ok {
			byGroup[g][i] = k.merge(byGroup[g][i], it)
			continue
		}
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		index[sl] = len(byGroup[g])
		byGroup[g] = append(byGroup[g], it)
	}
	sort.Strings(groups)
	err := s.inTx(ctx, func(q querier, _ jobInserter) error {
		if s.dialect == DialectPostgres {
			if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, leadtimeLockKey); err != nil {
				return fmt.Errorf("take the lead-time lock: %w", err)
			}
		}
		for _, g := range groups {
			evs := byGroup[g]
			for start := 0; start < len(evs); start += recordChunk {
				chunk := evs[start:min(start+recordChunk, len(evs))]
				keys := make([]string, len(chunk))
				for i, e := range chunk {
					keys[i] = k.key(e)
				}
				old, err := k.load(ctx, q, chunk[0], keys)
				if err != nil {
					return fmt.Errorf("read stored: %w", err)
				}
				merged := make([]T, len(chunk))
				for i, e := range chunk {
					if o, ok := old[keys[i]]; ok {
						merged[i] = k.merge(o, e)
					} else {
						merged[i] = e
					}
				}
				if err := k.write(ctx, q, merged); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d %s in %s: %w", len(items), what, s.where, err)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func orTime(a, b time.Time) time.Time { // a if known, else b
	if a.IsZero() {
		return b
	}
	return a
}

func orStr(newer, old string) string {
	if newer != "" {
		return newer
	}
	return old
}

func orList(newer, old []string) []string {
	if newer != nil {
		return newer
	}
	return old
}

func mergePull(o, n leadtime.Pull) leadtime.Pull {
	o.Title = orStr(n.Title, o.Title)
	o.Author = orStr(n.Author, o.Author)
	o.AuthorIsBot = o.AuthorIsBot || n.AuthorIsBot
	o.FirstCommitAt = minTime(o.FirstCommitAt, n.FirstCommitAt)
	o.OpenedAt = minTime(o.OpenedAt, n.OpenedAt)
	o.ReadyAt = minTime(o.ReadyAt, n.ReadyAt)
	o.MergedAt = orTime(o.MergedAt, n.MergedAt)
	o.ClosedAt = maxTime(o.ClosedAt, n.ClosedAt)
	o.MergeSHA = orStr(n.MergeSHA, o.MergeSHA)
	o.BaseRef = orStr(n.BaseRef, o.BaseRef)
	o.HeadRef = orStr(n.HeadRef, o.HeadRef)
	o.Paths = orList(n.Paths, o.Paths)
	o.Labels = orList(n.Labels, o.Labels)
	if n.Reverts != 0 {
		o.Reverts = n.Reverts
	}
	return o
}

func mergeReview(o, n leadtime.Review) leadtime.Review {
	o.Reviewer = orStr(n.Reviewer, o.Reviewer)
	o.ReviewerIsBot = o.ReviewerIsBot || n.ReviewerIsBot
	o.State = orStr(n.State, o.State)
	o.At = minTime(o.At, n.At)
	return o
}

func mergeDeployment(o, n leadtime.Deployment) leadtime.Deployment {
	o.Source = leadtime.Source(orStr(string(n.Source), string(o.Source)))
	o.Environment = orStr(n.Environment, o.Environment)
	o.Service = orStr(n.Service, o.Service)
	o.SHA = orStr(n.SHA, o.SHA)
	o.FinishedAt = minTime(o.FinishedAt, n.FinishedAt)
	o.PreviousSHA = orStr(n.PreviousSHA, o.PreviousSHA)
	o.Commits = orList(n.Commits, o.Commits)
	o.Creator = orStr(n.Creator, o.Creator)
	o.Ref = orStr(n.Ref, o.Ref)
	return o
}

func mergeJob(o, n leadtime.Job) leadtime.Job {
	if n.RunID != 0 {
		o.RunID = n.RunID
	}
	o.Workflow = orStr(n.Workflow, o.Workflow)
	o.Name = orStr(n.Name, o.Name)
	o.Kind = leadtime.JobKind(orStr(string(n.Kind), string(o.Kind)))
	o.HeadSHA = orStr(n.HeadSHA, o.HeadSHA)
	o.HeadBranch = orStr(n.HeadBranch, o.HeadBranch)
	o.QueuedAt = minTime(o.QueuedAt, n.QueuedAt)
	o.StartedAt = maxTime(o.StartedAt, n.StartedAt)
	o.CompletedAt = maxTime(o.CompletedAt, n.CompletedAt)
	o.Conclusion = orStr(n.Conclusion, o.Conclusion)
	return o
}

func mergeIncident(o, n leadtime.Incident) leadtime.Incident {
	o.Title = orStr(n.Title, o.Title)
	o.Severity = orStr(n.Severity, o.Severity)
	o.Service = orStr(n.Service, o.Service)
	o.StartedAt = minTime(o.StartedAt, n.StartedAt)
	o.ResolvedAt = maxTime(o.ResolvedAt, n.ResolvedAt)
	o.ReopenedAt = maxTime(o.ReopenedAt, n.ReopenedAt)
	// The one field a record may clear: a reopening voids the resolve
	// time it follows. Comparing times rather than taking the last record
	// keeps the merge independent of the order events arrive in (a
	// redelivered close of before the reopening changes nothing).
	if !o.ReopenedAt.IsZero() && !o.ResolvedAt.After(o.ReopenedAt) {
		o.ResolvedAt = time.Time{}
	}
	o.CausedBy = orStr(n.CausedBy, o.CausedBy)
	return o
}

// micros is a time as stored: Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func keyArgs(first []any, keys []string, asInt bool) ([]any, error) {
	args := first
	for _, k := range keys {
		if asInt {
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return nil, err
			}
			args = append(args, n)
		} else {
			args = append(args, k)
		}
	}
	return args, nil
}

func loadPulls(ctx context.Context, q querier, p leadtime.Pull, keys []string) (map[string]leadtime.Pull, error) {
	args, err := keyArgs([]any{p.Repo}, keys, true)
	if err != nil {
		return nil, err
	}
	rs, err := q.query(ctx, `SELECT number, opened_at, merged_at, closed_at, data FROM tasuki_lt_pull
		WHERE repo = ? AND number IN (`+list(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]leadtime.Pull{}
	a := newArena()
	var scratch leadtime.PullRecord
	for rs.Next() {
		var num, opened, merged, closed int64
		var data []byte
		if err := rs.Scan(&num, &opened, &merged, &closed, &data); err != nil {
			return nil, err
		}
		x := leadtime.Pull{Repo: p.Repo, Number: int(num), OpenedAt: fromMicros(opened), MergedAt: fromMicros(merged), ClosedAt: fromMicros(closed)}
		if err := decodePull(data, a, &x, false, &scratch); err != nil {
			return nil, fmt.Errorf("pull %s#%d: %w", p.Repo, num, err)
		}
		out[strconv.FormatInt(num, 10)] = x
	}
	return out, rs.Err()
}

func writePulls(ctx context.Context, q querier, ps []leadtime.Pull) error {
	args := make([]any, 0, 6*len(ps))
	for _, p := range ps {
		args = append(args, p.Repo, p.Number, micros(p.OpenedAt), micros(p.MergedAt), micros(p.ClosedAt), encodePull(p))
	}
	_, err := q.exec(ctx, `INSERT INTO tasuki_lt_pull (repo, number, opened_at, merged_at, closed_at, data)
		VALUES `+placeholders(len(ps), 6)+`
		ON CONFLICT (repo, number) DO UPDATE SET opened_at = excluded.opened_at, merged_at = excluded.merged_at,
			closed_at = excluded.closed_at, data = excluded.data`, args...)
	return err
}

func loadReviews(ctx context.Context, q querier, r leadtime.Review, keys []string) (map[string]leadtime.Review, error) {
	args, err := keyArgs([]any{r.Repo, r.Number}, keys, true)
	if err != nil {
		return nil, err
	}
	rs, err := q.query(ctx, `SELECT id, at, data FROM tasuki_lt_review
		WHERE repo = ? AND number = ? AND id IN (`+list(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]leadtime.Review{}
	a := newArena()
	for rs.Next() {
		var id, at int64
		var data []byte
		if err := rs.Scan(&id, &at, &data); err != nil {
			return nil, err
		}
		x := leadtime.Review{Repo: r.Repo, Number: r.Number, ID: id, At: fromMicros(at)}
		if err := decodeReview(data, a, &x); err != nil {
			return nil, fmt.Errorf("review %s#%d/%d: %w", r.Repo, r.Number, id, err)
		}
		out[strconv.FormatInt(id, 10)] = x
	}
	return out, rs.Err()
}

// writeReviews stores reviews of one pull request, then rewrites the
// pull's copy of its earliest reviews (making a placeholder row, with no
// times, for a pull request not recorded yet).
func writeReviews(ctx context.Context, q querier, rs []leadtime.Review) error {
	args := make([]any, 0, 5*len(rs))
	for _, r := range rs {
		args = append(args, r.Repo, r.Number, r.ID, micros(r.At), encodeReview(r))
	}
	if _, err := q.exec(ctx, `INSERT INTO tasuki_lt_review (repo, number, id, at, data)
		VALUES `+placeholders(len(rs), 5)+`
		ON CONFLICT (repo, number, id) DO UPDATE SET at = excluded.at, data = excluded.data`, args...); err != nil {
		return err
	}
	repo, number := rs[0].Repo, rs[0].Number
	rows, err := q.query(ctx, `SELECT id, at, data FROM tasuki_lt_review WHERE repo = ? AND number = ?
		ORDER BY at, id LIMIT `+strconv.Itoa(maxReviewsPerPull), repo, number)
	if err != nil {
		return err
	}
	var all []leadtime.Review
	a := newArena()
	for rows.Next() {
		var id, at int64
		var data []byte
		if err := rows.Scan(&id, &at, &data); err != nil {
			rows.Close()
			return err
		}
		x := leadtime.Review{Repo: repo, Number: number, ID: id, At: fromMicros(at)}
		if err := decodeReview(data, a, &x); err != nil {
			rows.Close()
			return fmt.Errorf("review %s#%d/%d: %w", repo, number, id, err)
		}
		all = append(all, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO tasuki_lt_pull (repo, number, opened_at, merged_at, closed_at, data, reviews)
		VALUES (?, ?, 0, 0, 0, ?, ?)
		ON CONFLICT (repo, number) DO UPDATE SET reviews = excluded.reviews`,
		repo, number, encodePull(leadtime.Pull{Repo: repo, Number: number}), encodeReviews(all))
	return err
}

func loadDeployments(ctx context.Context, q querier, d leadtime.Deployment, keys []string) (map[string]leadtime.Deployment, error) {
	args, _ := keyArgs([]any{d.Repo}, keys, false)
	rs, err := q.query(ctx, `SELECT id, finished_at, data FROM tasuki_lt_deployment
		WHERE repo = ? AND id IN (`+list(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]leadtime.Deployment{}
	a := newArena()
	for rs.Next() {
		var id string
		var at int64
		var data []byte
		if err := rs.Scan(&id, &at, &data); err != nil {
			return nil, err
		}
		x := leadtime.Deployment{Repo: d.Repo, ID: id, FinishedAt: fromMicros(at)}
		if err := decodeDeployment(data, a, &x); err != nil {
			return nil, fmt.Errorf("deployment %s %s: %w", d.Repo, id, err)
		}
		out[id] = x
	}
	return out, rs.Err()
}

func writeDeployments(ctx context.Context, q querier, ds []leadtime.Deployment) error {
	args := make([]any, 0, 4*len(ds))
	for _, d := range ds {
		args = append(args, d.Repo, d.ID, micros(d.FinishedAt), encodeDeployment(d))
	}
	_, err := q.exec(ctx, `INSERT INTO tasuki_lt_deployment (repo, id, finished_at, data)
		VALUES `+placeholders(len(ds), 4)+`
		ON CONFLICT (repo, id) DO UPDATE SET finished_at = excluded.finished_at, data = excluded.data`, args...)
	return err
}

func loadJobs(ctx context.Context, q querier, j leadtime.Job, keys []string) (map[string]leadtime.Job, error) {
	args, err := keyArgs([]any{j.Repo}, keys, true)
	if err != nil {
		return nil, err
	}
	rs, err := q.query(ctx, `SELECT id, data FROM tasuki_lt_job
		WHERE repo = ? AND id IN (`+list(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]leadtime.Job{}
	a := newArena()
	for rs.Next() {
		var id int64
		var data []byte
		if err := rs.Scan(&id, &data); err != nil {
			return nil, err
		}
		x := leadtime.Job{Repo: j.Repo, ID: id}
		if err := decodeJob(data, a, &x); err != nil {
			return nil, fmt.Errorf("job %s %d: %w", j.Repo, id, err)
		}
		out[strconv.FormatInt(id, 10)] = x
	}
	return out, rs.Err()
}

// jobAt is the time a job is found by: when it was queued, or else the
// first later time known.
func jobAt(j leadtime.Job) int64 {
	return micros(orTime(j.QueuedAt, orTime(j.StartedAt, j.CompletedAt)))
}

func writeJobs(ctx context.Context, q querier, js []leadtime.Job) error {
	args := make([]any, 0, 4*len(js))
	for _, j := range js {
		args = append(args, j.Repo, j.ID, jobAt(j), encodeJob(j))
	}
	_, err := q.exec(ctx, `INSERT INTO tasuki_lt_job (repo, id, at, data)
		VALUES `+placeholders(len(js), 4)+`
		ON CONFLICT (repo, id) DO UPDATE SET at = excluded.at, data = excluded.data`, args...)
	return err
}

func loadIncidents(ctx context.Context, q querier, i leadtime.Incident, keys []string) (map[string]leadtime.Incident, error) {
	args, err := keyArgs([]any{i.Repo}, keys, true)
	if err != nil {
		return nil, err
	}
	rs, err := q.query(ctx, `SELECT number, started_at, resolved_at, data FROM tasuki_lt_incident
		WHERE repo = ? AND number IN (`+list(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]leadtime.Incident{}
	a := newArena()
	for rs.Next() {
		var num, started, resolved int64
		var data []byte
		if err := rs.Scan(&num, &started, &resolved, &data); err != nil {
			return nil, err
		}
		x := leadtime.Incident{Repo: i.Repo, Number: int(num), StartedAt: fromMicros(started), ResolvedAt: fromMicros(resolved)}
		if err := decodeIncident(data, a, &x); err != nil {
			return nil, fmt.Errorf("incident %s#%d: %w", i.Repo, num, err)
		}
		out[strconv.FormatInt(num, 10)] = x
	}
	return out, rs.Err()
}

func writeIncidents(ctx context.Context, q querier, is []leadtime.Incident) error {
	args := make([]any, 0, 5*len(is))
	for _, i := range is {
		args = append(args, i.Repo, i.Number, micros(i.StartedAt), micros(i.ResolvedAt), encodeIncident(i))
	}
	_, err := q.exec(ctx, `INSERT INTO tasuki_lt_incident (repo, number, started_at, resolved_at, data)
		VALUES `+placeholders(len(is), 5)+`
		ON CONFLICT (repo, number) DO UPDATE SET started_at = excluded.started_at,
			resolved_at = excluded.resolved_at, data = excluded.data`, args...)
	return err
}

// HistoryQuery selects the events History returns.
type HistoryQuery struct {
	// Repo is "owner/name"; "" selects every repository.
	Repo string
	// Since and Until bound the window [Since, Until); a zero time leaves
	// that side open. Callers widen Since by the longest lead time they
	// want to see linked (a deployment in the window ships pull requests
	// merged before it).
	Since, Until time.Time
	// Bots are logins whose reviews never count as a pickup (the
	// leadtime.bots setting), besides accounts marked as bots and logins
	// ending in "[bot]"; see History.
	Bots []string
	// WithoutPaths leaves Pull.Paths nil: they serve only to attribute
	// changes to configured services, and are a large part of the memory a
	// big history takes.
	WithoutPaths bool
}

// History returns the recorded events touching the window:
//   - pull requests merged in it, and those not merged that were open
//     during it (opened before Until, not closed before Since), each with
//     its reviews in Reviews, earliest first, up to the first that counts
//     as a pickup: by someone other than the pull request's author and not
//     a bot (marked so by GitHub, a "[bot]" login, or one of q.Bots). Later
//     reviews change no metric, and a history of a million pull requests
//     would hold millions of them;
//   - deployments that finished in it;
//   - jobs queued in it (or started or completed, when the queued time is
//     not known);
//   - incidents open during it (started before Until, not resolved before
//     Since).
//
// Events come sorted by repository and time. History reads only the store,
// never GitHub.
func (s *Store) History(ctx context.Context, q HistoryQuery) (leadtime.History, error) {
	var h leadtime.History
	since, until, ok := q.window()
	if !ok {
		return h, nil
	}
	r := &historyReader{s: s, repo: q.Repo, a: newArena(), bots: q.Bots, noPaths: q.WithoutPaths}
	if err := r.pulls(ctx, since, until, &h); err != nil {
		return h, s.historyErr(q, "pull requests", err)
	}
	return h, r.rest(ctx, q, since, until, &h)
}

// window is q's window in stored times; ok is false when it is empty.
func (q HistoryQuery) window() (since, until int64, ok bool) {
	since, until = int64(1), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = max(q.Since.UnixMicro(), 1)
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixMicro()
	}
	return since, until, until > since
}

func (s *Store) historyErr(q HistoryQuery, what string, err error) error {
	name := q.Repo
	if name == "" {
		name = "all repositories"
	}
	return fmt.Errorf("read lead-time history of %s from %s: %s: %w", name, s.where, what, err)
}

// rest reads the deployments, jobs and incidents of History into h.
func (r *historyReader) rest(ctx context.Context, q HistoryQuery, since, until int64, h *leadtime.History) error {
	if err := r.deployments(ctx, since, until, h); err != nil {
		return r.s.historyErr(q, "deployments", err)
	}
	if err := r.jobs(ctx, since, until, h); err != nil {
		return r.s.historyErr(q, "jobs", err)
	}
	if err := r.incidents(ctx, since, until, h); err != nil {
		return r.s.historyErr(q, "incidents", err)
	}
	return nil
}

// historyReader reads History's rows with few allocations: the encoded
// columns are scanned without a copy on SQLite (sql.RawBytes), and their
// strings land in one arena.
type historyReader struct {
	s       *Store
	repo    string
	a       *arena
	bots    []string
	noPaths bool
	scratch leadtime.PullRecord // decodePull's
}

// pickup reports whether r counts as the pickup of a pull request by
// author (leadtime's rule: not the author, not a bot).
func (r *historyReader) pickup(rv *leadtime.Review, author string) bool {
	if rv.ReviewerIsBot || strings.EqualFold(rv.Reviewer, author) || strings.HasSuffix(strings.ToLower(rv.Reviewer), "[bot]") {
		return false
	}
	for _, b := range r.bots {
		if strings.EqualFold(b, rv.Reviewer) {
			return false
		}
	}
	return true
}

// where returns the repository condition and the first arguments, and the
// column list prefix: with one repository its name is not read per row.
func (r *historyReader) where() (cond, col string, args []any) {
	if r.repo == "" {
		return "", "repo, ", nil
	}
	return "repo = ? AND ", "", []any{r.repo}
}

// bytesDest returns a scan destination for an encoded column.
func (r *historyReader) bytesDest(b *[]byte) any {
	if r.s.dialect == DialectSQLite {
		// Valid until the next row; decoding copies what it keeps.
		return (*sql.RawBytes)(b)
	}
	return b
}

// repoOf returns the repository of a row: the query's, or the row's
// (interned).
func (r *historyReader) repoOf(raw []byte) string {
	if r.repo != "" {
		return r.repo
	}
	return r.a.intern(view(raw))
}

// count runs a COUNT(*) so that the result slices are allocated once, at
// their size: a million pulls grown by appending would briefly need twice
// their memory.
func (r *historyReader) count(ctx context.Context, sqlText string, args []any) (int, error) {
	var n int64
	if err := queryRow(ctx, r.s.r, sqlText, args, &n); err != nil {
		return 0, err
	}
	return int(n), nil
}

func (r *historyReader) pulls(ctx context.Context, since, until int64, h *leadtime.History) error {
	return r.pullRows(ctx, since, until, func(n int) {
		h.Pulls = make([]leadtime.Pull, 0, n)
		// Most merged pull requests have one review that counts: one slot
		// each spares growing a slice of a million reviews by copying.
		h.Reviews = make([]leadtime.Review, 0, n)
	}, func(repoRaw, data, revs []byte) error {
		h.Pulls = append(h.Pulls, leadtime.Pull{Repo: r.repoOf(repoRaw)})
		p := &h.Pulls[len(h.Pulls)-1]
		if err := decodePull(data, r.a, p, r.noPaths, &r.scratch); err != nil {
			return fmt.Errorf("pull of %s: %w", p.Repo, err)
		}
		var err error
		if h.Reviews, err = decodeReviews(revs, r.a, p.Repo, p.Number, h.Reviews, func(rv *leadtime.Review) bool {
			return r.pickup(rv, p.Author)
		}); err != nil {
			return fmt.Errorf("reviews of pull %s#%d: %w", p.Repo, p.Number, err)
		}
		return nil
	})
}

// pullRows calls size with the number of pull requests History returns,
// then row with each one's columns: its repository (nil when the query
// names one), data and reviews. The slices are valid until row returns.
func (r *historyReader) pullRows(ctx context.Context, since, until int64, size func(int), row func(repoRaw, data, revs []byte) error) error {
	cond, col, args := r.where()
	merged := cond + `merged_at >= ? AND merged_at < ?`
	open := cond + `merged_at = 0 AND opened_at > 0 AND opened_at < ? AND (closed_at = 0 OR closed_at >= ?)`
	margs := append(append([]any{}, args...), since, until)
	oargs := append(append([]any{}, args...), until, since)
	n1, err := r.count(ctx, `SELECT count(*) FROM tasuki_lt_pull WHERE `+merged, margs)
	if err != nil {
		return err
	}
	n2, err := r.count(ctx, `SELECT count(*) FROM tasuki_lt_pull WHERE `+open, oargs)
	if err != nil {
		return err
	}
	size(n1 + n2)
	// Merged pull requests in the index's order (pulls merged in the same
	// microsecond in no particular order): a further sort key would make
	// SQLite sort a million rows, blobs and all, in a temporary tree.
	for _, part := range []struct {
		cond, order string
		args        []any
	}{{merged, col + `merged_at`, margs}, {open, col + `opened_at, number`, oargs}} {
		// data holds the number and times too (encodePull): two columns a
		// row.
		rs, err := r.s.r.query(ctx, `SELECT `+col+`data, reviews
			FROM tasuki_lt_pull WHERE `+part.cond+` ORDER BY `+part.order, part.args...)
		if err != nil {
			return err
		}
		var repoRaw, data, revs []byte
		dests := []any{r.bytesDest(&data), r.bytesDest(&revs)}
		if r.repo == "" {
			dests = append([]any{r.bytesDest(&repoRaw)}, dests...)
		}
		for rs.Next() {
			if err := rs.Scan(dests...); err != nil {
				rs.Close()
				return err
			}
			if err := row(repoRaw, data, revs); err != nil {
				rs.Close()
				return err
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (r *historyReader) deployments(ctx context.Context, since, until int64, h *leadtime.History) error {
	cond, col, args := r.where()
	args = append(args, since, until)
	where := cond + `finished_at >= ? AND finished_at < ?`
	n, err := r.count(ctx, `SELECT count(*) FROM tasuki_lt_deployment WHERE `+where, args)
	if err != nil {
		return err
	}
	h.Deployments = make([]leadtime.Deployment, 0, n)
	rs, err := r.s.r.query(ctx, `SELECT `+col+`id, finished_at, data FROM tasuki_lt_deployment WHERE `+where+
		` ORDER BY `+col+`finished_at`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var repoRaw, id, data []byte
	var at int64
	dests := []any{r.bytesDest(&id), &at, r.bytesDest(&data)}
	if r.repo == "" {
		dests = append([]any{r.bytesDest(&repoRaw)}, dests...)
	}
	for rs.Next() {
		if err := rs.Scan(dests...); err != nil {
			return err
		}
		h.Deployments = append(h.Deployments, leadtime.Deployment{Repo: r.repoOf(repoRaw), ID: r.a.str(view(id)), FinishedAt: fromMicros(at)})
		d := &h.Deployments[len(h.Deployments)-1]
		if err := decodeDeployment(data, r.a, d); err != nil {
			return fmt.Errorf("deployment %s %s: %w", d.Repo, d.ID, err)
		}
	}
	return rs.Err()
}

func (r *historyReader) jobs(ctx context.Context, since, until int64, h *leadtime.History) error {
	cond, col, args := r.where()
	args = append(args, since, until)
	where := cond + `at >= ? AND at < ?`
	n, err := r.count(ctx, `SELECT count(*) FROM tasuki_lt_job WHERE `+where, args)
	if err != nil {
		return err
	}
	h.Jobs = make([]leadtime.Job, 0, n)
	rs, err := r.s.r.query(ctx, `SELECT `+col+`id, data FROM tasuki_lt_job WHERE `+where+
		` ORDER BY `+col+`at`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var repoRaw, data []byte
	var id int64
	dests := []any{&id, r.bytesDest(&data)}
	if r.repo == "" {
		dests = append([]any{r.bytesDest(&repoRaw)}, dests...)
	}
	for rs.Next() {
		if err := rs.Scan(dests...); err != nil {
			return err
		}
		h.Jobs = append(h.Jobs, leadtime.Job{Repo: r.repoOf(repoRaw), ID: id})
		j := &h.Jobs[len(h.Jobs)-1]
		if err := decodeJob(data, r.a, j); err != nil {
			return fmt.Errorf("job %s %d: %w", j.Repo, id, err)
		}
	}
	return rs.Err()
}

func (r *historyReader) incidents(ctx context.Context, since, until int64, h *leadtime.History) error {
	cond, col, args := r.where()
	args = append(args, until, since)
	where := cond + `started_at < ? AND (resolved_at = 0 OR resolved_at >= ?)`
	rs, err := r.s.r.query(ctx, `SELECT `+col+`number, started_at, resolved_at, data FROM tasuki_lt_incident WHERE `+where+
		` ORDER BY `+col+`started_at, number`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var repoRaw, data []byte
	var num, started, resolved int64
	dests := []any{&num, &started, &resolved, r.bytesDest(&data)}
	if r.repo == "" {
		dests = append([]any{r.bytesDest(&repoRaw)}, dests...)
	}
	for rs.Next() {
		if err := rs.Scan(dests...); err != nil {
			return err
		}
		h.Incidents = append(h.Incidents, leadtime.Incident{
			Repo: r.repoOf(repoRaw), Number: int(num), StartedAt: fromMicros(started), ResolvedAt: fromMicros(resolved),
		})
		i := &h.Incidents[len(h.Incidents)-1]
		if err := decodeIncident(data, r.a, i); err != nil {
			return fmt.Errorf("incident %s#%d: %w", i.Repo, num, err)
		}
	}
	return rs.Err()
}

// PreviousDeployment returns the latest recorded deployment of repo from the
// same source, environment and service as d that finished before d did (or,
// when d's finish time is not known, the latest one): the start of the
// commit range d shipped. ok is false when there is none among the 200
// deployments of repo before it.
func (s *Store) PreviousDeployment(ctx context.Context, d leadtime.Deployment) (prev leadtime.Deployment, ok bool, err error) {
	before := int64(math.MaxInt64)
	if !d.FinishedAt.IsZero() {
		before = d.FinishedAt.UnixMicro()
	}
	rs, err := s.r.query(ctx, `SELECT id, finished_at, data FROM tasuki_lt_deployment
		WHERE repo = ? AND finished_at < ? ORDER BY finished_at DESC LIMIT 200`, d.Repo, before)
	if err != nil {
		return prev, false, fmt.Errorf("read the deployment before %s %s from %s: %w", d.Repo, d.ID, s.where, err)
	}
	defer rs.Close()
	a := newArena()
	for rs.Next() {
		var id string
		var at int64
		var data []byte
		if err := rs.Scan(&id, &at, &data); err != nil {
			return prev, false, fmt.Errorf("read the deployment before %s %s: %w", d.Repo, d.ID, err)
		}
		x := leadtime.Deployment{Repo: d.Repo, ID: id, FinishedAt: fromMicros(at)}
		if err := decodeDeployment(data, a, &x); err != nil {
			return prev, false, fmt.Errorf("deployment %s %s: %w", d.Repo, id, err)
		}
		if id != d.ID && x.Source == d.Source && strings.EqualFold(x.Environment, d.Environment) && x.Service == d.Service {
			return x, true, nil
		}
	}
	return prev, false, rs.Err()
}

// Metrics returns the collectors the store reports to (WithMetrics), nil
// without them; the lead-time handler observes lead times on them.
func (s *Store) Metrics() *metrics.Metrics { return s.metrics }

// LeadTimeRepos lists the repositories with recorded pull requests or
// deployments, sorted.
func (s *Store) LeadTimeRepos(ctx context.Context) ([]string, error) {
	rs, err := s.r.query(ctx, `SELECT repo FROM tasuki_lt_pull UNION SELECT repo FROM tasuki_lt_deployment ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list repositories with lead-time events in %s: %w", s.where, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var r string
		if err := rs.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
