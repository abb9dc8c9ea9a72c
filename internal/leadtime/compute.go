package leadtime

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// scope is a Query's repository, service and team filter applied to the
// linked facts.
type scope struct {
	all  bool
	prIn []bool // by pull
	dpIn []bool // by deployment
}

func (e *engine) scope(q Query) scope {
	if q.Repo == "" && q.Service == "" && q.Team == "" {
		return scope{all: true}
	}
	repo := int32(none)
	if q.Repo != "" {
		id, ok := e.repoID[q.Repo]
		if !ok {
			return scope{prIn: make([]bool, e.pulls()), dpIn: make([]bool, len(e.deps))}
		}
		repo = id
	}
	// svcOK says whether a service (by index; the last slot is "no
	// service") passes the service and team filters.
	svcOK := make([]bool, len(e.svcs)+1)
	for s := range svcOK {
		name := ""
		if s < len(e.svcs) {
			name = e.svcs[s]
		}
		ok := true
		if q.Service != "" && name != q.Service {
			ok = false
		}
		if q.Team != "" && (q.TeamOf == nil || q.TeamOf(name) != q.Team) {
			ok = false
		}
		svcOK[s] = ok
	}
	noSvc := len(e.svcs)
	sc := scope{prIn: make([]bool, e.pulls()), dpIn: make([]bool, len(e.deps))}
	viaPull := make([]bool, len(e.deps))
	for i := range e.prRepo {
		if repo != none && e.prRepo[i] != repo {
			continue
		}
		in := false
		if svcs := e.pullSvcs(int32(i)); len(svcs) > 0 {
			for _, s := range svcs {
				in = in || svcOK[s]
			}
		} else if di := e.prDep[i]; di != none && e.deps[di].svc != none {
			in = svcOK[e.deps[di].svc]
		} else {
			in = svcOK[noSvc]
		}
		sc.prIn[i] = in
		if in && e.prDep[i] != none {
			viaPull[e.prDep[i]] = true
		}
	}
	for di := range e.deps {
		dp := &e.deps[di]
		if repo != none && dp.repo != repo {
			continue
		}
		if dp.svc != none {
			sc.dpIn[di] = svcOK[dp.svc]
		} else {
			// A deployment of the whole repository belongs to a service or
			// team when it shipped one of its changes.
			sc.dpIn[di] = svcOK[noSvc] && q.Service == "" || viaPull[di]
		}
	}
	return sc
}

func (s scope) pull(i int32) bool { return s.all || s.prIn[i] }
func (s scope) dep(di int32) bool { return s.all || s.dpIn[di] }

// timeline cuts a period into weeks or months in the configured zone.
type timeline struct {
	starts []int64 // bucket starts; bucket k is [starts[k], starts[k+1])
	labels []string
	times  []time.Time
}

func (t *timeline) index(at int64) int {
	k, found := slices.BinarySearch(t.starts, at)
	if found {
		return k
	}
	return k - 1 // -1 before the first
}

// weeks returns the ISO weeks (Monday 00:00 in loc) overlapping [from, to).
func weeks(from, to time.Time, loc *time.Location) timeline {
	l := from.In(loc)
	offset := (int(l.Weekday()) + 6) % 7 // days since Monday
	start := time.Date(l.Year(), l.Month(), l.Day()-offset, 0, 0, 0, 0, loc)
	var t timeline
	for d := start; d.Before(to); d = time.Date(d.Year(), d.Month(), d.Day()+7, 0, 0, 0, 0, loc) {
		y, w := d.ISOWeek()
		t.add(d, fmt.Sprintf("%04d-W%02d", y, w))
	}
	t.starts = append(t.starts, endOf(t, to, loc, 7))
	return t
}

// months returns the calendar months in loc overlapping [from, to).
func months(from, to time.Time, loc *time.Location) timeline {
	l := from.In(loc)
	var t timeline
	for d := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc); d.Before(to); d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, loc) {
		t.add(d, d.Format("2006-01"))
	}
	t.starts = append(t.starts, endOf(t, to, loc, 0))
	return t
}

// days returns the calendar days in loc overlapping [from, to).
func days(from, to time.Time, loc *time.Location) timeline {
	l := from.In(loc)
	var t timeline
	for d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc); d.Before(to); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc) {
		t.starts = append(t.starts, nanos(d))
	}
	t.starts = append(t.starts, nanos(to))
	return t
}

func (t *timeline) add(d time.Time, label string) {
	t.starts = append(t.starts, nanos(d))
	t.labels = append(t.labels, label)
	t.times = append(t.times, d)
}

// endOf is the end of the last bucket: the next week's or month's start.
func endOf(t timeline, to time.Time, loc *time.Location, days int) int64 {
	if len(t.times) == 0 {
		return nanos(to)
	}
	d := t.times[len(t.times)-1]
	if days > 0 {
		return nanos(time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, loc))
	}
	return nanos(time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, loc))
}

// bucketed collects durations per bucket.
type bucketed struct {
	idx  []int32
	vals []int64
}

func (b *bucketed) add(k int, v int64) {
	if k >= 0 {
		b.idx = append(b.idx, int32(k))
		b.vals = append(b.vals, v)
	}
}

// split returns the values of each of n buckets.
func (b *bucketed) split(n int) [][]int64 {
	off := make([]int, n+1)
	for _, k := range b.idx {
		if int(k) < n {
			off[k+1]++
		}
	}
	for k := 1; k <= n; k++ {
		off[k] += off[k-1]
	}
	flat := make([]int64, off[n])
	fill := slices.Clone(off[:n])
	for j, k := range b.idx {
		if int(k) < n {
			flat[fill[k]] = b.vals[j]
			fill[k]++
		}
	}
	out := make([][]int64, n)
	for k := range out {
		out[k] = flat[off[k]:off[k+1]]
	}
	return out
}

// period is what one period measured, before levels and rendering.
type period struct {
	deployments, failed, rework, deployDays int
	lead, recovery                          []int64
	stages                                  [4][]int64
	stageMissing                            [4]int
	missing                                 Missing
	rows                                    []int32 // shipped pulls, when asked
}

func (e *engine) measure(q Query, sc scope, from, to int64, full bool, wk, mo *timeline, wb, mb *[2]bucketed, wCount, mCount *[3][]int) period {
	var p period
	lo, _ := slices.BinarySearchFunc(e.deps, from, func(d dep, t int64) int { return cmpInt(d.fin, t) })
	var dayIdx []bool
	var dl timeline
	if full {
		dl = days(time.Unix(0, from), time.Unix(0, to), e.loc)
		dayIdx = make([]bool, len(dl.starts))
	}
	n := 0
	for di := lo; di < len(e.deps) && e.deps[di].fin < to; di++ {
		n += int(e.depPROff[di+1] - e.depPROff[di])
	}
	if full {
		wb[0].idx, wb[0].vals = make([]int32, 0, n), make([]int64, 0, n)
		mb[0].idx, mb[0].vals = make([]int32, 0, n), make([]int64, 0, n)
	}
	p.lead = make([]int64, 0, n)
	for s := range p.stages {
		p.stages[s] = make([]int64, 0, n)
	}
	for di := lo; di < len(e.deps) && e.deps[di].fin < to; di++ {
		if !sc.dep(int32(di)) {
			continue
		}
		dp := &e.deps[di]
		p.deployments++
		wi, mi := -1, -1
		if full {
			dayIdx[max(dl.index(dp.fin), 0)] = true
			wi, mi = wkIndex(wk, dp.fin), wkIndex(mo, dp.fin)
			count(wCount, wi, 0)
			count(mCount, mi, 0)
		}
		if dp.failed {
			p.failed++
			if full {
				count(wCount, wi, 1)
				count(mCount, mi, 1)
			}
		}
		if e.rework(int32(di)) {
			p.rework++
			if full {
				count(wCount, wi, 2)
				count(mCount, mi, 2)
			}
		}
		for _, i := range e.depPRs[e.depPROff[di]:e.depPROff[di+1]] {
			if !sc.pull(i) {
				continue
			}
			if full && q.Rows {
				p.rows = append(p.rows, i)
			}
			st := e.stagesOf(i)
			if st.outOfOrder {
				p.missing.OutOfOrder++
			}
			if !st.hasFirst {
				p.missing.NoFirstCommit++
			}
			if !st.hasReady {
				p.missing.NoReady++
			}
			if !st.hasReview {
				p.missing.NoReview++
			}
			for s, v := range st.d {
				if v == unknown {
					p.stageMissing[s]++
					continue
				}
				p.stages[s] = append(p.stages[s], v)
			}
			if st.lead != unknown {
				p.lead = append(p.lead, st.lead)
				if full {
					wb[0].add(wi, st.lead)
					mb[0].add(mi, st.lead)
				}
			}
		}
	}
	for _, b := range dayIdx {
		if b {
			p.deployDays++
		}
	}
	// Merged in the period and not shipped.
	for i := range e.prRepo {
		if e.prFlags[i]&fMerged == 0 || e.prDep[i] != none || !sc.pull(int32(i)) {
			continue
		}
		if m := e.prMerged[i]; m < from || m >= to {
			continue
		}
		if e.prFlags[i]&fBeforeBaseline != 0 {
			p.missing.BeforeBaseline++
		} else {
			p.missing.Undeployed++
		}
	}
	for k := range e.incidents {
		inc := &e.incidents[k]
		s := nanos(inc.StartedAt)
		if inc.StartedAt.IsZero() || s < from || s >= to {
			continue
		}
		di := e.incDep[k]
		if di == none {
			if e.incidentInScope(q, inc) {
				p.missing.UnlinkedIncidents++
			}
			continue
		}
		if !sc.dep(di) {
			continue
		}
		if inc.ResolvedAt.IsZero() {
			p.missing.OpenIncidents++
			continue
		}
		v := max(nanos(inc.ResolvedAt)-s, 0)
		p.recovery = append(p.recovery, v)
		if full {
			wb[1].add(wkIndex(wk, s), v)
			mb[1].add(wkIndex(mo, s), v)
		}
	}
	return p
}

func wkIndex(t *timeline, at int64) int {
	if t == nil {
		return -1
	}
	k := t.index(at)
	if k >= len(t.labels) {
		return -1
	}
	return k
}

func count(c *[3][]int, k, what int) {
	if c != nil && k >= 0 {
		c[what][k]++
	}
}

// incidentInScope judges an incident blamed on nothing by its own fields.
func (e *engine) incidentInScope(q Query, inc *Incident) bool {
	if q.Repo != "" && inc.Repo != q.Repo {
		return false
	}
	if q.Service != "" && inc.Service != q.Service {
		return false
	}
	if q.Team != "" && (q.TeamOf == nil || q.TeamOf(inc.Service) != q.Team) {
		return false
	}
	return true
}

// unknown marks a duration that could not be measured.
const unknown = int64(-1) << 63

type pullStages struct {
	d                             [4]int64 // coding, pickup, review, deploy
	lead                          int64
	hasFirst, hasReady, hasReview bool
	outOfOrder                    bool
}

// stagesOf measures pull i (shipped or not: deploy and lead are unknown
// while it is not).
func (e *engine) stagesOf(i int32) pullStages {
	// Only the flat arrays: this runs for every shipped pull of a period,
	// and the pulls' strings are far apart in memory.
	st := pullStages{d: [4]int64{unknown, unknown, unknown, unknown}, lead: unknown}
	first, ready, rev, merged := e.prFirst[i], e.prReady[i], e.prReview[i], e.prMerged[i]
	st.hasFirst, st.hasReady, st.hasReview = first != 0, ready != 0, rev != 0
	if merged == 0 && e.prFlags[i]&fMergedOther != 0 {
		merged = e.prMergedAt[i]
	}
	fin := int64(0)
	if di := e.prDep[i]; di != none {
		fin = e.deps[di].fin
	}
	span := func(a, b int64) int64 {
		if b < a {
			st.outOfOrder = true
			return 0
		}
		return b - a
	}
	if st.hasFirst && st.hasReady {
		st.d[0] = span(first, ready)
	}
	if st.hasReady && st.hasReview {
		st.d[1] = span(ready, rev)
	}
	if st.hasReview && merged != 0 {
		st.d[2] = span(rev, merged)
	}
	if merged != 0 && fin != 0 {
		st.d[3] = span(merged, fin)
	}
	if st.hasFirst && fin != 0 {
		st.lead = span(first, fin)
	}
	return st
}

// metrics computes Metrics for q.
func (e *engine) metrics(q Query) Metrics {
	sc := e.scope(q)
	from, to := nanos(q.From), nanos(q.To)
	wk, mo := weeks(q.From, q.To, e.loc), months(q.From, q.To, e.loc)
	var wb, mb [2]bucketed
	var wc, mc [3][]int
	for k := range 3 {
		wc[k] = make([]int, len(wk.labels))
		mc[k] = make([]int, len(mo.labels))
	}
	p := e.measure(q, sc, from, to, true, &wk, &mo, &wb, &mb, &wc, &mc)
	m := Metrics{
		Repo: q.Repo, Service: q.Service, Team: q.Team,
		From: q.From, To: q.To,
		Timezone: e.loc.String(), ReportYear: e.cfg.ReportYear,
		Missing: p.missing,
	}
	for _, st := range e.streams {
		if q.Repo != "" && e.repos[st.repo] != q.Repo {
			continue
		}
		svc := ""
		if st.svc >= 0 {
			svc = e.svcs[st.svc]
		}
		ss := StreamSource{Repo: e.repos[st.repo], Service: svc, Source: st.source}
		if !slices.Contains(m.Sources, ss) {
			m.Sources = append(m.Sources, ss)
		}
	}
	slices.SortFunc(m.Sources, func(a, b StreamSource) int {
		return cmp.Or(strings.Compare(a.Repo, b.Repo), strings.Compare(a.Service, b.Service))
	})
	daysLen := float64(to-from) / float64(24*time.Hour)
	m.DeploymentFrequency = Frequency{Deployments: p.deployments, Days: daysLen, DeployDays: p.deployDays}
	if daysLen > 0 {
		m.DeploymentFrequency.PerWeek = float64(p.deployments) / daysLen * 7
	}
	m.ChangeLeadTime.Stats = Percentiles(p.lead)
	m.ChangeFailRate = Rate{Count: p.failed, Deployments: p.deployments, Rate: ratio(p.failed, p.deployments)}
	m.RecoveryTime.Stats = Percentiles(p.recovery)
	m.ReworkRate = Rate{Count: p.rework, Deployments: p.deployments, Rate: ratio(p.rework, p.deployments)}
	year := e.cfg.ReportYear
	m.DeploymentFrequency.Level = Classify(MetricDeploymentFrequency, year, m.DeploymentFrequency.PerWeek, p.deployments > 0)
	m.ChangeLeadTime.Level = Classify(MetricChangeLeadTime, year, m.ChangeLeadTime.Median.Seconds(), m.ChangeLeadTime.Count > 0)
	m.ChangeFailRate.Level = Classify(MetricChangeFailRate, year, m.ChangeFailRate.Rate, p.deployments > 0)
	m.RecoveryTime.Level = Classify(MetricRecoveryTime, year, m.RecoveryTime.Median.Seconds(), m.RecoveryTime.Count > 0)
	m.ReworkRate.Level = Classify(MetricReworkRate, year, m.ReworkRate.Rate, p.deployments > 0)

	var slowest Duration = -1
	for s, stage := range Stages {
		ss := StageStats{Stage: stage, Stats: Percentiles(p.stages[s]), Missing: p.stageMissing[s]}
		m.Stages = append(m.Stages, ss)
		if ss.Count > 0 && ss.Median > slowest {
			slowest, m.SlowestStage = ss.Median, stage
		}
	}
	m.Jobs = e.jobs(q, from, to)
	m.Weekly = buckets(&wk, &wb, &wc)
	m.Monthly = buckets(&mo, &mb, &mc)
	m.LongestPickup = e.longest(q, sc, from, to)
	if q.Rows {
		m.Pulls = make([]PullRow, 0, len(p.rows))
		for _, i := range p.rows {
			m.Pulls = append(m.Pulls, e.row(i, 0))
		}
	}
	// The period of equal length just before.
	length := to - from
	pp := e.measure(q, sc, from-length, from, false, nil, nil, nil, nil, nil, nil)
	prevDays := float64(length) / float64(24*time.Hour)
	prev := &Summary{
		From: q.From.Add(-q.To.Sub(q.From)), To: q.From,
		Deployments:    pp.deployments,
		LeadTime:       Percentiles(pp.lead),
		ChangeFailRate: ratio(pp.failed, pp.deployments),
		Recovery:       Percentiles(pp.recovery),
		ReworkRate:     ratio(pp.rework, pp.deployments),
	}
	if prevDays > 0 {
		prev.PerWeek = float64(pp.deployments) / prevDays * 7
	}
	m.Previous = prev
	return m
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func buckets(t *timeline, b *[2]bucketed, c *[3][]int) []Bucket {
	n := len(t.labels)
	lead, rec := b[0].split(n), b[1].split(n)
	out := make([]Bucket, n)
	for k := range out {
		out[k] = Bucket{
			Start: t.times[k], Label: t.labels[k],
			Deployments: c[0][k], Failed: c[1][k], Rework: c[2][k],
			LeadTime: Percentiles(lead[k]), Recovery: Percentiles(rec[k]),
		}
	}
	return out
}

// jobs measures the CI jobs of the period's repository.
func (e *engine) jobs(q Query, from, to int64) []JobStats {
	kinds := []JobKind{JobTest, JobBuild, JobDeploy, JobOther}
	var queue, run [4][]int64
	var failed [4]int
	cache := map[string]JobKind{}
	for k := range e.jobList {
		j := &e.jobList[k]
		if j.CompletedAt.IsZero() || q.Repo != "" && j.Repo != q.Repo {
			continue
		}
		if c := nanos(j.CompletedAt); c < from || c >= to {
			continue
		}
		kind := j.Kind
		if kind == "" {
			var ok bool
			if kind, ok = cache[j.Name]; !ok {
				kind = e.jobKind(j.Name)
				cache[j.Name] = kind
			}
		}
		ki := slices.Index(kinds, kind)
		if ki < 0 {
			ki = 3
		}
		if !j.QueuedAt.IsZero() && !j.StartedAt.IsZero() {
			queue[ki] = append(queue[ki], max(j.StartedAt.Sub(j.QueuedAt).Nanoseconds(), 0))
		}
		if !j.StartedAt.IsZero() {
			run[ki] = append(run[ki], max(j.CompletedAt.Sub(j.StartedAt).Nanoseconds(), 0))
		}
		switch j.Conclusion {
		case "success", "skipped", "neutral":
		default:
			failed[ki]++
		}
	}
	var out []JobStats
	for ki, kind := range kinds {
		out = append(out, JobStats{Kind: kind, Queue: Percentiles(queue[ki]), Run: Percentiles(run[ki]), Failed: failed[ki]})
	}
	return out
}

// longest lists the pulls that became ready in the period and waited longest
// for a first review, bots' pull requests left out (dependency updates
// waiting for days would fill the list).
func (e *engine) longest(q Query, sc scope, from, to int64) []PullRow {
	n := q.Longest
	if n <= 0 {
		n = 10
	}
	now := q.Now
	if now.IsZero() {
		now = q.To
	}
	type cand struct {
		i    int32
		wait int64
	}
	var top []cand // longest first, at most n
	for i := range e.prRepo {
		r := e.prReady[i]
		if r == 0 || r < from || r >= to || e.prFlags[i]&fBot != 0 || !sc.pull(int32(i)) {
			continue
		}
		var wait int64
		switch rev := e.prReview[i]; {
		case rev != 0:
			wait = rev - r
		case e.prFlags[i]&fClosed == 0:
			wait = nanos(now) - r
		default:
			continue // closed or merged without a review: never waited on one
		}
		if len(top) == n && wait <= top[n-1].wait {
			continue
		}
		k, _ := slices.BinarySearchFunc(top, wait, func(c cand, w int64) int { return cmpInt(w, c.wait) })
		for k < len(top) && top[k].wait == wait {
			k++
		}
		top = slices.Insert(top, k, cand{int32(i), wait})
		if len(top) > n {
			top = top[:n]
		}
	}
	out := make([]PullRow, 0, len(top))
	for _, c := range top {
		out = append(out, e.row(c.i, nanos(now)))
	}
	return out
}

// row describes pull i; now, when not zero, measures a pickup still waiting.
func (e *engine) row(i int32, now int64) PullRow {
	repo, num := e.repos[e.prRepo[i]], int(e.prNum[i])
	r := PullRow{Repo: repo, Number: num, Title: strings.Clone(e.title(i)), Author: e.author(i), URL: PullURL(repo, num), MergedAt: e.mergedTime(i)}
	for _, s := range e.pullSvcs(i) {
		r.Services = append(r.Services, e.svcs[s])
	}
	if di := e.prDep[i]; di != none {
		d := e.deps[di].d
		r.Deployment, r.DeployedAt, r.Source = d.ID, d.FinishedAt, d.Source
	}
	st := e.stagesOf(i)
	dur := func(v int64) *Duration {
		if v == unknown {
			return nil
		}
		d := Duration(v)
		return &d
	}
	r.Coding, r.Pickup, r.Review, r.Deploy, r.LeadTime = dur(st.d[0]), dur(st.d[1]), dur(st.d[2]), dur(st.d[3]), dur(st.lead)
	if now != 0 && !st.hasReview && st.hasReady && e.prFlags[i]&fClosed == 0 {
		r.Pickup = dur(max(now-e.prReady[i], 0))
		r.Waiting = true
	}
	return r
}

// PullURL is the web address of a pull request of repo ("owner/name").
func PullURL(repo string, number int) string {
	return fmt.Sprintf("https://github.com/%s/pull/%d", repo, number)
}

// Shipped returns the pull requests deployment id of repo shipped, with
// their stages and lead times, in merge order: what the Action's
// record-deployment prints. It returns nil when the deployment is unknown
// or is not a production deployment of the chosen source.
func Shipped(h History, cfg Config, repo, id string) ([]PullRow, error) {
	p, err := Prepare(h, cfg)
	if err != nil {
		return nil, err
	}
	return p.Shipped(repo, id), nil
}

// Shipped is Shipped over the prepared History.
func (p *Prepared) Shipped(repo, id string) []PullRow {
	e := p.e
	for di := range e.deps {
		if e.deps[di].d.ID != id || e.repos[e.deps[di].repo] != repo {
			continue
		}
		prs := slices.Clone(e.depPRs[e.depPROff[di]:e.depPROff[di+1]])
		slices.SortFunc(prs, func(a, b int32) int {
			return cmp.Or(cmpInt(e.prMerged[a], e.prMerged[b]), cmp.Compare(e.prNum[a], e.prNum[b]))
		})
		out := make([]PullRow, 0, len(prs))
		for _, i := range prs {
			out = append(out, e.row(i, 0))
		}
		return out
	}
	return nil
}
