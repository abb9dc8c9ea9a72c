package leadtime

import (
	"fmt"
	"hash/maphash"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file turns a History into linked facts, once per Compute: which
// deployments count, which pull request each shipped, each pull request's
// first qualifying review, which deployments failed and which were rework.
// Everything is kept in slices indexed like History.Pulls and the sorted
// deployments, so that a million pull requests cost a few arrays rather
// than a million map entries of strings.

const none = -1

// gitEpoch is git's first commit. An author date before it is a bad clock or
// a forged date, not the start of a change: it counts as unknown.
var gitEpoch = nanos(time.Date(2005, 4, 7, 0, 0, 0, 0, time.UTC))

// Instants are kept as Unix nanoseconds between 1970 and 2200, so that the
// difference of any two fits in an int64: a date a user wrote (a commit's
// author date) outside that range is clamped rather than wrapped.
var (
	minNanos = int64(0)
	maxNanos = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	maxTime  = time.Unix(0, maxNanos)
)

// nanos is t in Unix nanoseconds, clamped to [1970, 2200].
func nanos(t time.Time) int64 {
	switch {
	case t.Unix() < 0:
		return minNanos
	case t.After(maxTime):
		return maxNanos
	}
	return t.UnixNano()
}

// defs is a Config compiled.
type defs struct {
	cfg          Config
	loc          *time.Location
	prodEnv      []string
	workflows    []string
	jobRE        [3]*regexp.Regexp // test, build, deploy
	bots         []string
	baseWindow   time.Duration
	baseAt       time.Time
	window       time.Duration
	hotfixRE     *regexp.Regexp
	revertRE     *regexp.Regexp
	hotfixLabels []string
	svcNames     []string // configured services, sorted
}

func compile(cfg Config) (*defs, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("leadtime config: %w", err)
	}
	d := &defs{cfg: cfg, loc: cfg.Location(), bots: cfg.Bots, hotfixLabels: cfg.HotfixLabels, svcNames: sortedKeys(cfg.Services)}
	for _, e := range cfg.ProductionEnvironments {
		d.prodEnv = append(d.prodEnv, strings.TrimSpace(e))
	}
	d.workflows = cfg.DeployWorkflows
	d.jobRE = [3]*regexp.Regexp{regexp.MustCompile(cfg.Jobs.Test), regexp.MustCompile(cfg.Jobs.Build), regexp.MustCompile(cfg.Jobs.Deploy)}
	d.baseWindow, d.baseAt, _ = parseBaseline(cfg.Baseline)
	d.window, _ = time.ParseDuration(cfg.IncidentWindow)
	d.hotfixRE = regexp.MustCompile(cfg.HotfixRef)
	d.revertRE = regexp.MustCompile(cfg.RevertTitle)
	return d, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// isBot reports whether a login is a bot: marked by GitHub, named "[bot]",
// or configured.
func (d *defs) isBot(login string, marked bool) bool {
	const suffix = "[bot]"
	return marked || len(login) >= len(suffix) && strings.EqualFold(login[len(login)-len(suffix):], suffix) || containsFold(d.bots, login)
}

// jobKind classifies a job name: test, build, deploy, in that order.
func (d *defs) jobKind(name string) JobKind {
	for i, k := range []JobKind{JobTest, JobBuild, JobDeploy} {
		if d.jobRE[i].MatchString(name) {
			return k
		}
	}
	return JobOther
}

// ClassifyJob returns the kind of a CI job named name under cfg, for the
// shell recording Job.Kind. An invalid cfg classifies everything as other.
func ClassifyJob(cfg Config, name string) JobKind {
	d, err := compile(cfg)
	if err != nil {
		return JobOther
	}
	return d.jobKind(name)
}

// dep is one deployment that counts.
type dep struct {
	d      *Deployment
	repo   int32
	svc    int32 // index into engine.svcs, none without a service
	stream int32
	fin    int64 // FinishedAt, Unix nanoseconds
	// low is the exclusive lower bound of what the deployment may ship by
	// time: the previous deployment's finish in its stream; for the first
	// deployment the baseline (inclusive, see base).
	low   int64
	first bool // the first of its stream in the History
	// baseline: first, and what it shipped is not bounded by a known
	// previous deployment (no commit list, or a range read from the
	// repository's root): only merges at or after low count.
	baseline bool
	pr       int32 // for synthesised merge deployments: the one pull request
	// failed: blamed for an incident or shipped a change reverted later.
	failed   bool
	reverted bool
	incident bool
}

type stream struct {
	repo, svc int32
	source    Source
	deps      []int32 // indices into engine.deps, by finish
}

// pull flags.
const (
	fMerged   uint8 = 1 << iota // merged into the default branch
	fRevert                     // reverts another pull request
	fReverted                   // reverted by a later merged pull request
	fBeforeBaseline
	fBot         // author is a bot
	fClosed      // merged or closed: no longer waiting for anything
	fMergedOther // merged into another branch than the default one
)

type engine struct {
	*defs
	defaultBranches map[string]string
	deploys         []Deployment
	jobList         []Job
	incidents       []Incident

	repos  []string
	repoID map[string]int32
	svcs   []string
	svcID  map[string]int32

	deps    []dep
	streams []stream
	byRepo  [][]int32         // repo -> deps by finish
	bySvc   map[int32][]int32 // service -> deps by finish
	base    []int64           // repo -> earliest baseline of its first deployments; none: no deployment
	// synth holds the merge deployments made up for repositories with none.
	synth []Deployment

	// Pull requests, by the order they were added. Their strings are
	// packed in text (see texts); logins and base branches are symbols.
	prRepo     []int32
	prNum      []int32
	prAuthor   []int32 // symbol
	prBase     []int32 // symbol
	prText     []uint64
	prReverts  []int32
	prMergedAt []int64 // merge time into any branch, 0 when not merged
	prMerged   []int64 // merge time, 0 when not merged into the default branch
	prReady    []int64 // ready-for-review time, 0 when unknown
	prFirst    []int64 // first commit time, 0 when unknown or before git existed
	// prHash is the hash of the merge SHA of merged pulls, 0 for others
	// (see shaTable).
	prHash   []uint64
	prDep    []int32
	prFlags  []uint8
	prReview []int64 // first qualifying review, 0 if none
	prSvcOff []int32 // with configured services: prSvcs[prSvcOff[i]:prSvcOff[i+1]]
	prSvcs   []int32
	numbers  numbers // (repo, number) -> pull
	text     texts
	syms     []string
	symID    map[string]int32
	// The repository of the pull added last, and its default branch.
	lastRepo    string
	lastRepoID  int32
	lastDefault string
	hasDefault  bool

	// depPRs lists the pulls each deployment shipped:
	// depPRs[depPROff[d]:depPROff[d+1]].
	depPROff []int32
	depPRs   []int32

	incDep  []int32 // incident -> blamed deployment
	depByID map[string]int32
	// When incidents were open (see openIncidents).
	openByRepo, openByRepoNoSvc, openBySvc map[int32]intervals
}

var shaSeed = maphash.MakeSeed()

func (e *engine) repo(name string) int32 {
	if id, ok := e.repoID[name]; ok {
		return id
	}
	id := int32(len(e.repos))
	name = strings.Clone(name) // it may point into a reader's buffer
	e.repos = append(e.repos, name)
	e.repoID[name] = id
	return id
}

func (e *engine) service(name string) int32 {
	if name == "" {
		return none
	}
	if id, ok := e.svcID[name]; ok {
		return id
	}
	id := int32(len(e.svcs))
	e.svcs = append(e.svcs, name)
	e.svcID[name] = id
	return id
}

// numbers finds a pull request by repository and number: an array per
// repository, since GitHub numbers them densely, and a map only for a
// repository whose numbers are too sparse for that.
type numbers struct {
	dense  [][]int32 // repo -> number -> pull+1, 0 for none
	sparse map[uint64]int32
}

func (x *numbers) build(prRepo []int32, nums []int32, repos int) {
	count := make([]int, repos)
	top := make([]int32, repos)
	for i, n := range nums {
		r := prRepo[i]
		count[r]++
		top[r] = max(top[r], n)
	}
	x.dense = make([][]int32, repos)
	for r := range repos {
		if int(top[r]) <= 4*count[r]+1024 {
			x.dense[r] = make([]int32, int(top[r])+1)
		}
	}
	for i, n := range nums {
		r := prRepo[i]
		switch {
		case n <= 0:
		case x.dense[r] != nil:
			x.dense[r][n] = int32(i) + 1
		default:
			if x.sparse == nil {
				x.sparse = map[uint64]int32{}
			}
			x.sparse[uint64(r)<<32|uint64(uint32(n))] = int32(i)
		}
	}
}

func (x *numbers) get(repo int32, n int) (int32, bool) {
	if repo < 0 || int(repo) >= len(x.dense) || n <= 0 {
		return 0, false
	}
	if d := x.dense[repo]; d != nil {
		if n >= len(d) || d[n] == 0 {
			return 0, false
		}
		return d[n] - 1, true
	}
	i, ok := x.sparse[uint64(repo)<<32|uint64(uint32(n))]
	return i, ok
}

// pullSvcs returns the services pull i touches (nil without configured
// services or when its paths match none).
func (e *engine) pullSvcs(i int32) []int32 {
	if e.prSvcOff == nil {
		return nil
	}
	return e.prSvcs[e.prSvcOff[i]:e.prSvcOff[i+1]]
}

// production reports whether a deployment counts as a production one, and
// its service: Deployment.Service when the shell set it, else the first
// configured service (by name) whose environments or workflows name it.
func (e *engine) production(d *Deployment) (bool, string) {
	svc, byEnv, byWorkflow := d.Service, false, false
	if svc == "" {
		for _, name := range e.svcNames {
			s := e.cfg.Services[name]
			byEnv = d.Environment != "" && containsFold(s.Environments, d.Environment)
			byWorkflow = d.Workflow != "" && containsFold(s.Workflows, d.Workflow)
			if byEnv || byWorkflow {
				svc = name
				break
			}
		}
	}
	switch d.Source {
	case SourceDeploymentStatus:
		// A service's own environment ("production-api") is production too.
		if !containsFold(e.prodEnv, d.Environment) && !byEnv {
			return false, ""
		}
	case SourceWorkflowRun:
		// Without configured workflows the shell's choice stands.
		if d.Workflow != "" && len(e.workflows) > 0 && !containsFold(e.workflows, d.Workflow) && !byWorkflow {
			return false, ""
		}
	case SourceRelease, SourceMerge:
	default:
		return false, ""
	}
	return !d.FinishedAt.IsZero(), svc
}

// pickDeployments keeps the production deployments of each stream's chosen
// source, synthesises merge deployments for repositories with none, and
// sorts them by finish.
func (e *engine) pickDeployments() {
	type key struct{ repo, svc int32 }
	type cand struct {
		i   int
		k   key
		svc int32
	}
	cands := make([]cand, 0, len(e.deploys))
	present := map[key]uint8{} // bit per source rank
	rank := map[Source]int{}
	for i, s := range e.cfg.DeploySources {
		rank[s] = i
	}
	for i := range e.deploys {
		d := &e.deploys[i]
		r, ok := rank[d.Source]
		if !ok {
			continue
		}
		ok, svcName := e.production(d)
		if !ok {
			continue
		}
		k := key{e.repo(d.Repo), e.service(svcName)}
		cands = append(cands, cand{i, k, k.svc})
		present[k] |= 1 << r
	}
	chosen := map[key]Source{}
	for k, bits := range present {
		for r, s := range e.cfg.DeploySources {
			if bits&(1<<r) != 0 {
				chosen[k] = s
				break
			}
		}
	}
	hasDeps := make([]bool, len(e.repos))
	e.deps = make([]dep, 0, len(cands))
	for _, c := range cands {
		if e.deploys[c.i].Source != chosen[c.k] {
			continue
		}
		hasDeps[c.k.repo] = true
		d := &e.deploys[c.i]
		e.deps = append(e.deps, dep{d: d, repo: c.k.repo, svc: c.svc, fin: nanos(d.FinishedAt), pr: none})
	}
	if slices.Contains(e.cfg.DeploySources, SourceMerge) {
		n := 0
		for i := range e.prRepo {
			if e.prFlags[i]&fMerged != 0 && !hasDeps[e.prRepo[i]] {
				n++
			}
		}
		e.synth = make([]Deployment, 0, n)
		e.deps = slices.Grow(e.deps, n)
		for i := range e.prRepo {
			if e.prFlags[i]&fMerged == 0 || hasDeps[e.prRepo[i]] {
				continue
			}
			sha := e.sha(int32(i))
			id := "merge:" + sha
			if sha == "" {
				id = "merge:#" + strconv.Itoa(int(e.prNum[i]))
			}
			e.synth = append(e.synth, Deployment{Repo: e.repos[e.prRepo[i]], ID: id, Source: SourceMerge, SHA: sha,
				FinishedAt: e.mergedTime(int32(i)), Creator: e.author(int32(i)), Ref: e.syms[e.prBase[i]]})
			e.deps = append(e.deps, dep{d: &e.synth[len(e.synth)-1], repo: e.prRepo[i], svc: none, fin: e.prMerged[i], pr: int32(i)})
		}
	}
	slices.SortFunc(e.deps, func(a, b dep) int {
		if a.fin != b.fin {
			if a.fin < b.fin {
				return -1
			}
			return 1
		}
		return strings.Compare(a.d.ID, b.d.ID)
	})
	streamOf := map[key]int32{}
	e.byRepo = make([][]int32, len(e.repos))
	e.base = make([]int64, len(e.repos))
	for i := range e.base {
		e.base[i] = none
	}
	for i := range e.deps {
		dp := &e.deps[i]
		k := key{dp.repo, dp.svc}
		if dp.pr != none {
			k.svc = -2 // synthesised merge deployments are a stream of their own
		}
		si, ok := streamOf[k]
		if !ok {
			si = int32(len(e.streams))
			streamOf[k] = si
			e.streams = append(e.streams, stream{repo: dp.repo, svc: dp.svc, source: dp.d.Source})
		}
		st := &e.streams[si]
		dp.stream = si
		if len(st.deps) == 0 {
			dp.first = true
			dp.low = dp.fin - int64(e.baseWindow)
			if !e.baseAt.IsZero() {
				dp.low = nanos(e.baseAt)
			}
			// A History loaded from a point in time starts with a deployment
			// that is not the repository's first; when the shell read its
			// range from a previous SHA, that range bounds it and no
			// baseline is needed.
			dp.baseline = dp.pr == none && (dp.d.Commits == nil || dp.d.PreviousSHA == "")
			if dp.baseline && (e.base[dp.repo] == none || dp.low < e.base[dp.repo]) {
				e.base[dp.repo] = dp.low
			}
		} else {
			dp.low = e.deps[st.deps[len(st.deps)-1]].fin
		}
		st.deps = append(st.deps, int32(i))
		e.byRepo[dp.repo] = append(e.byRepo[dp.repo], int32(i))
		if dp.svc != none {
			e.bySvc[dp.svc] = append(e.bySvc[dp.svc], int32(i))
		}
	}
}

// shippable reports whether deployment di may ship pull i: same
// repository, finished at or after the merge, after the baseline when it is
// the first, and of one of the pull's services when both have services.
func (e *engine) shippable(i int32, di int32) bool {
	dp := &e.deps[di]
	if e.prFlags[i]&fMerged == 0 || e.prRepo[i] != dp.repo {
		return false
	}
	m := e.prMerged[i]
	if dp.fin < m {
		return false
	}
	if dp.baseline && m < dp.low {
		return false
	}
	if dp.svc != none {
		if svcs := e.pullSvcs(i); len(svcs) > 0 && !slices.Contains(svcs, dp.svc) {
			return false
		}
	}
	return true
}

// link gives each merged pull request the first deployment that shipped it.
func (e *engine) link() {
	t := newSHATable(e.prHash)
	e.prHash = nil // needed only here
	offer := func(i, di int32) {
		if (e.prDep[i] == none || di < e.prDep[i]) && e.shippable(i, di) {
			e.prDep[i] = di
		}
	}
	lookup := func(sha string, di int32) {
		t.find(e, sha, func(i int32) { offer(i, di) })
	}
	var fb findBatch
	var byMerge [][]int32 // repo -> merged pulls by merge time, built on first need
	for di := range e.deps {
		dp := &e.deps[di]
		switch {
		case dp.pr != none:
			if e.prDep[dp.pr] == none {
				e.prDep[dp.pr] = int32(di)
			}
		case dp.d.Commits != nil:
			t.findAll(e, dp.d.Commits, &fb, func(i int32) { offer(i, int32(di)) })
			if dp.d.SHA != "" {
				lookup(dp.d.SHA, int32(di))
			}
		default:
			if byMerge == nil {
				byMerge = e.mergeOrder()
			}
			list := byMerge[dp.repo]
			lo := dp.low
			if !dp.first {
				lo++ // after the previous deployment finished
			}
			start, _ := slices.BinarySearchFunc(list, lo, func(i int32, t int64) int { return cmpInt(e.prMerged[i], t) })
			for _, i := range list[start:] {
				if e.prMerged[i] > dp.fin {
					break
				}
				offer(i, int32(di))
			}
		}
	}
	for i := range e.prRepo {
		if e.prFlags[i]&fMerged != 0 && e.prDep[i] == none {
			if b := e.base[e.prRepo[i]]; b != none && e.prMerged[i] < b {
				e.prFlags[i] |= fBeforeBaseline
			}
		}
	}
	// Deployment -> pulls, by counting.
	e.depPROff = make([]int32, len(e.deps)+1)
	for _, di := range e.prDep {
		if di != none {
			e.depPROff[di+1]++
		}
	}
	for i := 1; i < len(e.depPROff); i++ {
		e.depPROff[i] += e.depPROff[i-1]
	}
	e.depPRs = make([]int32, e.depPROff[len(e.deps)])
	fill := slices.Clone(e.depPROff[:len(e.deps)])
	for i, di := range e.prDep {
		if di != none {
			e.depPRs[fill[di]] = int32(i)
			fill[di]++
		}
	}
}

// shaTable finds merged pulls by merge SHA: open addressing over 64-bit
// hashes, each hit checked against the full SHA, in one flat array rather
// than a map of a million strings.
type shaTable struct {
	slots []shaSlot
	mask  uint64
}

// shaSlot holds a pull and 32 bits of its SHA's hash, enough to skip
// nearly every string comparison that would fail.
type shaSlot struct {
	tag  uint32
	pull int32 // pull+1; 0: empty, so that a new table needs no filling
}

// newSHATable indexes the pulls whose merge SHA hashes to hashes[i] (0:
// none). The hashes are computed during the one pass over the pulls that
// indexPulls makes, so that building the table does not read the pulls
// again.
func newSHATable(hashes []uint64) *shaTable {
	size := 1
	for size < 2*len(hashes)+1 {
		size <<= 1
	}
	t := &shaTable{slots: make([]shaSlot, size), mask: uint64(size - 1)}
	for i, h := range hashes {
		if h == 0 {
			continue // not merged, or no SHA
		}
		s := h & t.mask
		for t.slots[s].pull != 0 {
			s = (s + 1) & t.mask
		}
		t.slots[s] = shaSlot{uint32(h >> 32), int32(i) + 1}
	}
	return t
}

// shaHash hashes a SHA, never to 0 (newSHATable's "none").
func shaHash(sha string) uint64 {
	if h := maphash.String(shaSeed, sha); h != 0 {
		return h
	}
	return 1
}

// find calls fn with every merged pull whose merge SHA is sha.
func (t *shaTable) find(e *engine, sha string, fn func(int32)) {
	h := shaHash(sha)
	tag := uint32(h >> 32)
	for s := h & t.mask; t.slots[s].pull != 0; s = (s + 1) & t.mask {
		if sl := t.slots[s]; sl.tag == tag && e.sha(sl.pull-1) == sha {
			fn(sl.pull - 1)
		}
	}
}

// findBatch is findAll's scratch space.
type findBatch struct {
	hash [32]uint64
	slot [32]shaSlot
	sha  [32]string // merge SHA of the first slot's pull, when its tag matches
}

// findAll is find for many SHAs. It works in batches, each step over the
// whole batch before the next (hash, load the first slot, check), so that
// the processor waits for many cache misses at once instead of one after
// another: the table and the pulls are far larger than the caches.
func (t *shaTable) findAll(e *engine, shas []string, b *findBatch, fn func(int32)) {
	for len(shas) > 0 {
		n := min(len(shas), len(b.hash))
		chunk := shas[:n]
		shas = shas[n:]
		for j, sha := range chunk {
			b.hash[j] = shaHash(sha)
		}
		for j := range chunk {
			b.slot[j] = t.slots[b.hash[j]&t.mask]
		}
		for j := range chunk {
			b.sha[j] = ""
			if sl := b.slot[j]; sl.pull != 0 && sl.tag == uint32(b.hash[j]>>32) {
				b.sha[j] = e.sha(sl.pull - 1)
			}
		}
		for j, sha := range chunk {
			h, sl := b.hash[j], b.slot[j]
			tag := uint32(h >> 32)
			if sl.pull != 0 && b.sha[j] == sha {
				fn(sl.pull - 1)
			}
			for s := (h + 1) & t.mask; ; s = (s + 1) & t.mask {
				sl = t.slots[s]
				if sl.pull == 0 {
					break
				}
				if sl.tag == tag && e.sha(sl.pull-1) == sha {
					fn(sl.pull - 1)
				}
			}
		}
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeOrder lists each repository's merged pulls by merge time.
func (e *engine) mergeOrder() [][]int32 {
	out := make([][]int32, len(e.repos))
	count := make([]int, len(e.repos))
	for i := range e.prRepo {
		if e.prFlags[i]&fMerged != 0 {
			count[e.prRepo[i]]++
		}
	}
	for r := range out {
		out[r] = make([]int32, 0, count[r])
	}
	for i := range e.prRepo {
		if e.prFlags[i]&fMerged != 0 {
			out[e.prRepo[i]] = append(out[e.prRepo[i]], int32(i))
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b int32) int {
			return cmpInt(e.prMerged[a], e.prMerged[b])
		})
	}
	return out
}

// reverts marks the pull requests that a later merged pull request reverted,
// and their deployments as failed.
func (e *engine) reverts() {
	var byTitle map[string][]int32
	for i := range e.prRepo {
		if e.prFlags[i]&(fRevert|fMerged) != fRevert|fMerged {
			continue
		}
		if r := e.prReverts[i]; r > 0 {
			if j, ok := e.numbers.get(e.prRepo[i], int(r)); ok && j != int32(i) {
				e.markReverted(j, int32(i))
			}
			continue
		}
		if title, ok := revertedTitle(e.title(int32(i))); ok {
			if byTitle == nil {
				byTitle = map[string][]int32{}
			}
			byTitle[title] = append(byTitle[title], int32(i))
		}
	}
	if len(byTitle) == 0 {
		return
	}
	for j := range e.prRepo {
		for _, i := range byTitle[e.title(int32(j))] {
			if e.prRepo[i] == e.prRepo[j] && int32(j) != i {
				e.markReverted(int32(j), i)
			}
		}
	}
}

// revertedTitle is X of `Revert "X"`.
func revertedTitle(t string) (string, bool) {
	rest, ok := strings.CutPrefix(t, `Revert "`)
	if !ok || !strings.HasSuffix(rest, `"`) || len(rest) < 2 {
		return "", false
	}
	return rest[:len(rest)-1], true
}

func (e *engine) markReverted(target, by int32) {
	if e.prFlags[target]&fMerged == 0 || e.prMergedAt[by] < e.prMergedAt[target] {
		return
	}
	e.prFlags[target] |= fReverted
	if di := e.prDep[target]; di != none {
		e.deps[di].failed = true
		e.deps[di].reverted = true
	}
}

// blame finds the deployment each incident is blamed on: the one its
// CausedBy names, else the last production deployment of its service (or
// repository) that finished within the incident window before it started.
func (e *engine) blame() {
	e.incDep = make([]int32, len(e.incidents))
	for k := range e.incidents {
		inc := &e.incidents[k]
		di := e.explicit(inc)
		if di == none {
			di = e.lastBefore(inc)
		}
		e.incDep[k] = di
		if di != none {
			e.deps[di].failed = true
			e.deps[di].incident = true
		}
	}
}

var hexRE = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// explicit resolves Incident.CausedBy: "#123" or "owner/name#123" (a pull
// request), "deployment:ID" or any deployment ID, a commit SHA or prefix of
// at least 7 hex digits.
func (e *engine) explicit(inc *Incident) int32 {
	ref := strings.TrimSpace(inc.CausedBy)
	if ref == "" {
		return none
	}
	if repo, num, ok := strings.Cut(ref, "#"); ok {
		if repo == "" {
			repo = inc.Repo
		}
		n, err := strconv.Atoi(num)
		rid, known := e.repoID[repo]
		if err != nil || !known {
			return none
		}
		if i, ok := e.numbers.get(rid, n); ok {
			return e.prDep[i]
		}
		return none
	}
	if e.depByID == nil {
		e.depByID = make(map[string]int32, len(e.deps))
		for di := len(e.deps) - 1; di >= 0; di-- { // the first of equal IDs wins
			e.depByID[e.deps[di].d.ID] = int32(di)
		}
	}
	if di, ok := e.depByID[ref]; ok {
		return di
	}
	if di, ok := e.depByID["deployment:"+ref]; ok {
		return di
	}
	if !hexRE.MatchString(ref) {
		return none
	}
	ref = strings.ToLower(ref)
	best := int32(none)
	for i := range e.prRepo {
		if e.prDep[i] != none && strings.HasPrefix(strings.ToLower(e.sha(int32(i))), ref) && (best == none || e.prDep[i] < best) {
			best = e.prDep[i]
		}
	}
	if best != none {
		return best
	}
	for di := range e.deps {
		d := e.deps[di].d
		if strings.HasPrefix(strings.ToLower(d.SHA), ref) || slices.ContainsFunc(d.Commits, func(c string) bool { return strings.HasPrefix(strings.ToLower(c), ref) }) {
			return int32(di)
		}
	}
	return none
}

func (e *engine) lastBefore(inc *Incident) int32 {
	if e.window <= 0 || inc.StartedAt.IsZero() {
		return none
	}
	var list []int32
	if inc.Service != "" {
		if s, ok := e.svcID[inc.Service]; ok {
			list = e.bySvc[s]
		}
	}
	if list == nil {
		if r, ok := e.repoID[inc.Repo]; ok {
			list = e.byRepo[r]
		}
	}
	start := nanos(inc.StartedAt)
	// First deployment finishing after the start; the one before it is the
	// last one before.
	k, _ := slices.BinarySearchFunc(list, start+1, func(di int32, t int64) int { return cmpInt(e.deps[di].fin, t) })
	if k == 0 {
		return none
	}
	di := list[k-1]
	if start-e.deps[di].fin > int64(e.window) {
		return none
	}
	return di
}

// isRevertTitle matches Config.RevertTitle, rejecting quickly the titles
// without the expression's literal prefix.
func (d *defs) isRevertTitle(t string) bool {
	if p, _ := d.revertRE.LiteralPrefix(); p != "" && !strings.Contains(t, p) {
		return false
	}
	return d.revertRE.MatchString(t)
}

// isHotfix reports whether deployment di is a hotfix or revert: a hotfix
// ref, or it shipped a pull request from a hotfix branch, with a hotfix
// label, or reverting another. Asked only of deployments made during an
// incident, so the patterns run on few of them.
func (e *engine) isHotfix(di int32) bool {
	dp := &e.deps[di]
	if e.hotfixRE.MatchString(dp.d.Ref) {
		return true
	}
	for _, i := range e.depPRs[e.depPROff[di]:e.depPROff[di+1]] {
		if e.prFlags[i]&fRevert != 0 || e.hotfixRE.MatchString(e.headRef(i)) ||
			slices.ContainsFunc(e.labels(i), func(l string) bool { return containsFold(e.hotfixLabels, l) }) {
			return true
		}
	}
	return false
}

// intervals is a sorted union of [start, end) spans; end is MaxInt64 while
// an incident is open.
type intervals [][2]int64

func (iv intervals) contains(t int64) bool {
	k, _ := slices.BinarySearchFunc(iv, t, func(s [2]int64, t int64) int {
		if s[1] <= t {
			return -1
		}
		if s[0] > t {
			return 1
		}
		return 0
	})
	return k < len(iv) && iv[k][0] <= t && t < iv[k][1]
}

func union(iv intervals) intervals {
	slices.SortFunc(iv, func(a, b [2]int64) int { return cmpInt(a[0], b[0]) })
	var out intervals
	for _, s := range iv {
		if n := len(out); n > 0 && s[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], s[1])
			continue
		}
		out = append(out, s)
	}
	return out
}

// openIncidents indexes when incidents were open: by repository (the
// incident's, and the one of the deployment it is blamed on), by repository
// for incidents naming no service, and by service.
func (e *engine) openIncidents() {
	repoAny := map[int32]intervals{}
	repoNoSvc := map[int32]intervals{}
	bySvc := map[int32]intervals{}
	for k := range e.incidents {
		inc := &e.incidents[k]
		if inc.StartedAt.IsZero() {
			continue
		}
		span := [2]int64{nanos(inc.StartedAt), int64(^uint64(0) >> 1)}
		if !inc.ResolvedAt.IsZero() {
			span[1] = max(nanos(inc.ResolvedAt), span[0])
		}
		var repos []int32
		if r, ok := e.repoID[inc.Repo]; ok {
			repos = append(repos, r)
		}
		if b := e.incDep[k]; b != none && !slices.Contains(repos, e.deps[b].repo) {
			repos = append(repos, e.deps[b].repo)
		}
		for _, r := range repos {
			repoAny[r] = append(repoAny[r], span)
			if inc.Service == "" {
				repoNoSvc[r] = append(repoNoSvc[r], span)
			}
		}
		if s, ok := e.svcID[inc.Service]; ok && inc.Service != "" {
			bySvc[s] = append(bySvc[s], span)
		}
	}
	e.openByRepo, e.openByRepoNoSvc, e.openBySvc = map[int32]intervals{}, map[int32]intervals{}, map[int32]intervals{}
	for r, iv := range repoAny {
		e.openByRepo[r] = union(iv)
	}
	for r, iv := range repoNoSvc {
		e.openByRepoNoSvc[r] = union(iv)
	}
	for s, iv := range bySvc {
		e.openBySvc[s] = union(iv)
	}
}

// duringIncident reports whether deployment di finished while an incident
// concerning it was open: one of its service, or of its repository naming
// no service (any incident of its repository for a deployment of the whole
// repository).
func (e *engine) duringIncident(di int32) bool {
	dp := &e.deps[di]
	if dp.svc == none {
		return e.openByRepo[dp.repo].contains(dp.fin)
	}
	return e.openBySvc[dp.svc].contains(dp.fin) || e.openByRepoNoSvc[dp.repo].contains(dp.fin)
}

// rework reports whether deployment di is rework: a hotfix or revert made
// while an incident concerning it was open.
func (e *engine) rework(di int32) bool {
	return e.duringIncident(di) && e.isHotfix(di)
}
