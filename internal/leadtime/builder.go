package leadtime

import (
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Builder makes a Prepared from events fed one at a time, without a
// History: a store streams its rows into it, and each pull request costs
// the engine's flat arrays and its few strings packed in shared blocks,
// not a Pull of 288 bytes plus its reviews. Prepare uses it too, so there
// is one way in.
//
// Strings passed to Add* may point into a buffer the caller reuses (a
// database row): the Builder copies what it keeps. AddDeployments, AddJobs
// and AddIncidents keep the events as given (they are few).
//
// A Builder is not safe for concurrent use; Build may be called once.
type Builder struct {
	e *engine
	// reviews are those added with AddReviews, resolved to their pulls by
	// Build.
	reviews []Review
	built   bool
}

// PullRecord is a pull request as a Builder takes it: Pull's fields with
// times as Unix microseconds (0: not known), as the store keeps them.
type PullRecord struct {
	Repo                                       string
	Number                                     int
	Title, Author                              string
	AuthorIsBot                                bool
	FirstCommitAt, OpenedAt, ReadyAt, MergedAt int64
	ClosedAt                                   int64
	MergeSHA, BaseRef, HeadRef                 string
	// Paths serve only to attribute the pull to configured services
	// (NeedsPaths); Labels to tell a hotfix.
	Paths, Labels []string
	Reverts       int
}

// NewBuilder starts a Prepared under cfg. defaultBranches is
// History.DefaultBranches (nil: every base branch ships). It returns an
// error when cfg does not validate.
func NewBuilder(cfg Config, defaultBranches map[string]string) (*Builder, error) {
	d, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	e := &engine{defs: d, defaultBranches: defaultBranches, repoID: map[string]int32{}, svcID: map[string]int32{},
		bySvc: map[int32][]int32{}, symID: map[string]int32{}}
	for _, name := range d.svcNames {
		e.service(name)
	}
	if len(d.svcNames) > 0 {
		e.prSvcOff = []int32{0}
	}
	return &Builder{e: e}, nil
}

// NeedsPaths reports whether PullRecord.Paths matter: only with configured
// services. Without, a reader may leave them out.
func (b *Builder) NeedsPaths() bool { return len(b.e.svcNames) > 0 }

// Grow makes room for n more pull requests, so that a million of them are
// not grown by copying.
func (b *Builder) Grow(n int) {
	e := b.e
	e.prRepo = slices.Grow(e.prRepo, n)
	e.prNum = slices.Grow(e.prNum, n)
	e.prAuthor = slices.Grow(e.prAuthor, n)
	e.prText = slices.Grow(e.prText, n)
	e.prReverts = slices.Grow(e.prReverts, n)
	e.prMergedAt = slices.Grow(e.prMergedAt, n)
	e.prMerged = slices.Grow(e.prMerged, n)
	e.prReady = slices.Grow(e.prReady, n)
	e.prFirst = slices.Grow(e.prFirst, n)
	e.prHash = slices.Grow(e.prHash, n)
	e.prFlags = slices.Grow(e.prFlags, n)
	e.prReview = slices.Grow(e.prReview, n)
}

// microNanos is a stored time (Unix microseconds) as the engine keeps it:
// Unix nanoseconds clamped to [1970, 2200].
func microNanos(us int64) int64 {
	switch {
	case us < 0:
		return minNanos
	case us > maxNanos/1000:
		return maxNanos
	}
	return us * 1000
}

// pullIn is a pull request in the engine's units: nanoseconds (see nanos),
// and whether it was merged or closed at all.
type pullIn struct {
	repo                       string
	number                     int
	title, author              string
	authorIsBot                bool
	first, ready, mergedAt     int64
	merged, closed             bool
	mergeSHA, baseRef, headRef string
	paths, labels              []string
	reverts                    int
}

// AddPull adds a pull request.
func (b *Builder) AddPull(p *PullRecord) {
	b.e.addPull(&pullIn{
		repo: p.Repo, number: p.Number, title: p.Title, author: p.Author, authorIsBot: p.AuthorIsBot,
		first: microNanos(p.FirstCommitAt), ready: microNanos(p.ReadyAt), mergedAt: microNanos(p.MergedAt),
		merged: p.MergedAt != 0, closed: p.ClosedAt != 0,
		mergeSHA: p.MergeSHA, baseRef: p.BaseRef, headRef: p.HeadRef, paths: p.Paths, labels: p.Labels, reverts: p.Reverts,
	})
}

func (b *Builder) addPull(p *Pull) {
	b.e.addPull(&pullIn{
		repo: p.Repo, number: p.Number, title: p.Title, author: p.Author, authorIsBot: p.AuthorIsBot,
		first: nanos(p.FirstCommitAt), ready: nanos(p.ReadyAt), mergedAt: nanos(p.MergedAt),
		merged: !p.MergedAt.IsZero(), closed: !p.ClosedAt.IsZero(),
		mergeSHA: p.MergeSHA, baseRef: p.BaseRef, headRef: p.HeadRef, paths: p.Paths, labels: p.Labels, reverts: p.Reverts,
	})
}

// ReviewLast adds a review of the pull request added last (at in Unix
// microseconds): how a store that keeps a pull's reviews on its row feeds
// them, with no lookup.
func (b *Builder) ReviewLast(reviewer string, reviewerIsBot bool, at int64) {
	e := b.e
	if len(e.prRepo) == 0 || at == 0 {
		return
	}
	e.offerReview(int32(len(e.prRepo)-1), reviewer, reviewerIsBot, microNanos(at))
}

// AddReviews adds reviews of any pull requests, added before or after
// them, as AddDeployments.
func (b *Builder) AddReviews(rs []Review) { b.reviews = keepOrAppend(b.reviews, rs) }

// AddDeployments adds deployments. The Builder keeps ds itself when it has
// none yet (no copy of a large slice), so the caller must not change it.
func (b *Builder) AddDeployments(ds []Deployment) { b.e.deploys = keepOrAppend(b.e.deploys, ds) }

// AddJobs adds CI jobs, as AddDeployments.
func (b *Builder) AddJobs(js []Job) { b.e.jobList = keepOrAppend(b.e.jobList, js) }

// AddIncidents adds incidents, as AddDeployments.
func (b *Builder) AddIncidents(is []Incident) { b.e.incidents = keepOrAppend(b.e.incidents, is) }

func keepOrAppend[T any](have, more []T) []T {
	if have == nil {
		return more
	}
	return append(have, more...)
}

// Build links what was added. The Builder is done with afterwards.
func (b *Builder) Build() (*Prepared, error) {
	if b.built {
		panic("leadtime: Builder.Build called twice")
	}
	b.built = true
	e := b.e
	e.prDep = make([]int32, e.pulls())
	for i := range e.prDep {
		e.prDep[i] = none
	}
	e.numbers.build(e.prRepo, e.prNum, len(e.repos))
	// Reviews added apart from their pulls need only the pulls; resolve
	// them on the other core while deployments are picked and linked,
	// which add repositories: hence a copy of the IDs.
	ids := maps.Clone(e.repoID)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lastRepo, lastID := "", int32(none)
		for k := range b.reviews {
			r := &b.reviews[k]
			if r.Repo != lastRepo || lastID == none {
				id, ok := ids[r.Repo]
				if !ok {
					continue
				}
				lastRepo, lastID = r.Repo, id
			}
			if i, ok := e.numbers.get(lastID, r.Number); ok && !r.At.IsZero() {
				e.offerReview(i, r.Reviewer, r.ReviewerIsBot, nanos(r.At))
			}
		}
	}()
	e.pickDeployments()
	e.link()
	<-done
	b.reviews = nil
	e.reverts()
	e.blame()
	e.openIncidents()
	return &Prepared{e: e}, nil
}

// Prepare links h under cfg for Prepared.Compute and Prepared.Shipped. The
// Prepared does not keep h's pull requests or reviews.
func Prepare(h History, cfg Config) (*Prepared, error) {
	b, err := NewBuilder(cfg, h.DefaultBranches)
	if err != nil {
		return nil, err
	}
	b.Grow(len(h.Pulls))
	for i := range h.Pulls {
		b.addPull(&h.Pulls[i])
	}
	b.AddReviews(h.Reviews)
	b.AddDeployments(h.Deployments)
	b.AddJobs(h.Jobs)
	b.AddIncidents(h.Incidents)
	return b.Build()
}

// sym interns a string that repeats (a login, a branch) and returns its
// number.
func (e *engine) sym(s string) int32 {
	if id, ok := e.symID[s]; ok {
		return id
	}
	s = strings.Clone(s)
	id := int32(len(e.syms))
	e.syms = append(e.syms, s)
	e.symID[s] = id
	return id
}

func (e *engine) addPull(p *pullIn) {
	if len(e.prRepo) == 0 || p.repo != e.lastRepo {
		e.lastRepoID = e.repo(p.repo)
		e.lastRepo = e.repos[e.lastRepoID]
		e.lastDefault, e.hasDefault = e.defaultBranches[p.repo]
		e.lastDefault = strings.TrimPrefix(e.lastDefault, "refs/heads/")
	}
	e.prRepo = append(e.prRepo, e.lastRepoID)
	e.prNum = append(e.prNum, int32(min(max(p.number, -1), 1<<31-1)))
	e.prAuthor = append(e.prAuthor, e.sym(p.author))
	e.prBase = append(e.prBase, e.sym(p.baseRef))
	e.prText = append(e.prText, e.text.add(p.mergeSHA, p.title, p.headRef, p.labels))
	e.prReverts = append(e.prReverts, int32(min(max(p.reverts, 0), 1<<31-1)))
	var f uint8
	var merged int64
	var hash uint64
	// Only merges into the default branch ship, when it is known.
	if p.merged && (!e.hasDefault || e.lastDefault == "" || strings.TrimPrefix(p.baseRef, "refs/heads/") == e.lastDefault) {
		f |= fMerged
		merged = p.mergedAt
		if p.mergeSHA != "" {
			hash = shaHash(p.mergeSHA)
		}
	}
	mergedAt := int64(0)
	if p.merged {
		mergedAt = p.mergedAt
	}
	e.prMergedAt = append(e.prMergedAt, mergedAt)
	e.prMerged = append(e.prMerged, merged)
	e.prHash = append(e.prHash, hash)
	e.prReady = append(e.prReady, p.ready)
	first := int64(0)
	if p.first >= gitEpoch {
		first = p.first
	}
	e.prFirst = append(e.prFirst, first)
	if p.merged || p.closed {
		f |= fClosed
	}
	if p.merged && f&fMerged == 0 {
		f |= fMergedOther
	}
	if p.reverts > 0 || e.isRevertTitle(p.title) {
		f |= fRevert
	}
	if e.isBot(p.author, p.authorIsBot) {
		f |= fBot
	}
	e.prFlags = append(e.prFlags, f)
	e.prReview = append(e.prReview, 0)
	if e.prSvcOff != nil {
		for si, name := range e.svcNames {
			if slices.ContainsFunc(p.paths, func(path string) bool {
				return slices.ContainsFunc(e.cfg.Services[name].Paths, func(pat string) bool { return matchPath(pat, path) })
			}) {
				e.prSvcs = append(e.prSvcs, int32(si)) // configured services are interned first, in order
			}
		}
		e.prSvcOff = append(e.prSvcOff, int32(len(e.prSvcs)))
	}
}

// offerReview records a review of pull i at at (nanoseconds) if it is the
// earliest by someone other than the author and not a bot.
func (e *engine) offerReview(i int32, reviewer string, bot bool, at int64) {
	if e.prReview[i] != 0 && at >= e.prReview[i] {
		return // not earlier than one already found
	}
	if strings.EqualFold(reviewer, e.syms[e.prAuthor[i]]) || e.isBot(reviewer, bot) {
		return
	}
	e.prReview[i] = at
}

// pulls is the number of pull requests.
func (e *engine) pulls() int { return len(e.prRepo) }

func (e *engine) author(i int32) string { return e.syms[e.prAuthor[i]] }

func (e *engine) mergedTime(i int32) time.Time {
	if e.prMergedAt[i] == 0 && e.prFlags[i]&(fMerged|fMergedOther) == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.prMergedAt[i]).UTC()
}

// sha, title and headRef read pull i's packed strings (see texts).
func (e *engine) sha(i int32) string {
	s, _ := e.text.field(e.prText[i], 0)
	return s
}

func (e *engine) title(i int32) string {
	s, _ := e.text.field(e.prText[i], 1)
	return s
}

func (e *engine) headRef(i int32) string {
	s, _ := e.text.field(e.prText[i], 2)
	return s
}

// labels returns pull i's labels (a new slice; asked of few pulls).
func (e *engine) labels(i int32) []string {
	_, rest := e.text.field(e.prText[i], 3)
	n, k := binary.Uvarint(rest)
	rest = rest[k:]
	out := make([]string, 0, n)
	for range n {
		var s string
		s, rest = texts{}.next(rest)
		out = append(out, s)
	}
	return out
}

// texts packs the strings of pull requests (merge SHA, title, head ref,
// labels) into large blocks with no pointers, which the garbage collector
// need not scan: a million pulls' strings as separate Go strings cost 16
// bytes of header each and a pointer to follow. A pull's strings are one
// record, found by a reference: block << 32 | offset.
type texts struct {
	blocks [][]byte
}

const textBlock = 1 << 20

func (t *texts) add(sha, title, headRef string, labels []string) uint64 {
	n := 4*binary.MaxVarintLen32 + len(sha) + len(title) + len(headRef)
	for _, l := range labels {
		n += binary.MaxVarintLen32 + len(l)
	}
	k := len(t.blocks) - 1
	if k < 0 || cap(t.blocks[k])-len(t.blocks[k]) < n {
		t.blocks = append(t.blocks, make([]byte, 0, max(textBlock, n)))
		k++
	}
	b := t.blocks[k]
	off := len(b)
	for _, s := range [...]string{sha, title, headRef} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(labels)))
	for _, l := range labels {
		b = binary.AppendUvarint(b, uint64(len(l)))
		b = append(b, l...)
	}
	t.blocks[k] = b
	return uint64(k)<<32 | uint64(off)
}

// field returns the f-th string of the record at ref and the bytes after
// it (for f == 3, the labels: what follows the third string).
func (t *texts) field(ref uint64, f int) (string, []byte) {
	b := t.blocks[ref>>32]
	b = b[uint32(ref):len(b):len(b)]
	var s string
	for range f {
		_, b = t.next(b)
	}
	if f == 3 {
		return "", b
	}
	s, b = t.next(b)
	return s, b
}

// next reads one string. The blocks are never written again where a
// record was written, so the string may share their memory.
func (texts) next(b []byte) (string, []byte) {
	n, k := binary.Uvarint(b)
	b = b[k:]
	if n == 0 {
		return "", b
	}
	return unsafeString(b[:n]), b[n:]
}

func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
