package leadtime

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Query selects what Compute measures. The period is [From, To): a
// deployment belongs to it when it finished inside, a pull request when the
// deployment that shipped it did, an incident when it started inside.
type Query struct {
	From, To time.Time
	// Now is the moment of computing, for pull requests still waiting for a
	// review; zero means To.
	Now time.Time
	// Repo ("owner/name"), Service and Team narrow the metrics; empty means
	// all. Team needs TeamOf.
	Repo    string
	Service string
	Team    string
	// TeamOf maps a service name to the slug of its owning team (from the
	// ownership model); nil when teams are unknown. A change or deployment
	// with no service belongs to the team TeamOf("") names, if any.
	TeamOf func(service string) string
	// Rows asks for every shipped pull request in Metrics.Pulls (the API and
	// CSV exports); off, only the longest waiting are listed.
	Rows bool
	// Longest is how many pull requests Metrics.LongestPickup lists; 0 means
	// 10.
	Longest int
}

// Metrics is the result of Compute, and the JSON body of GET
// /api/v1/metrics. Durations are JSON objects {"seconds": n, "human": "2d 3h"}.
type Metrics struct {
	Repo       string    `json:"repo,omitempty"`
	Service    string    `json:"service,omitempty"`
	Team       string    `json:"team,omitempty"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Timezone   string    `json:"timezone"`
	ReportYear int       `json:"report_year"`
	// Sources says, per repository and service, which deploy source the
	// deployments were taken from.
	Sources []StreamSource `json:"deploy_sources"`

	DeploymentFrequency Frequency      `json:"deployment_frequency"`
	ChangeLeadTime      DurationMetric `json:"change_lead_time"`
	ChangeFailRate      Rate           `json:"change_fail_rate"`
	RecoveryTime        DurationMetric `json:"failed_deployment_recovery_time"`
	ReworkRate          Rate           `json:"deployment_rework_rate"`

	// Stages are coding, pickup, review and deploy, in that order, over the
	// pull requests shipped in the period.
	Stages []StageStats `json:"stages"`
	// SlowestStage is the stage with the largest median ("" with no data).
	SlowestStage Stage `json:"slowest_stage,omitempty"`
	// Jobs are CI job durations by kind (test, build, deploy, other) of jobs
	// completed in the period.
	Jobs []JobStats `json:"jobs"`

	// Weekly buckets are ISO weeks (Monday 00:00 in Timezone); Monthly are
	// calendar months in Timezone. Both cover the period.
	Weekly  []Bucket `json:"weekly"`
	Monthly []Bucket `json:"monthly"`

	// LongestPickup are the pull requests that became ready in the period
	// and waited longest for a first review (still waiting ones included),
	// longest first.
	LongestPickup []PullRow `json:"longest_pickup"`
	// Pulls are all pull requests shipped in the period (Query.Rows).
	Pulls []PullRow `json:"pulls,omitempty"`

	Missing Missing `json:"missing"`
	// Previous is the same measure over the period of equal length just
	// before, for "change vs previous period".
	Previous *Summary `json:"previous,omitempty"`
}

// StreamSource is the deploy source used for one repository and service.
type StreamSource struct {
	Repo    string `json:"repo"`
	Service string `json:"service,omitempty"`
	Source  Source `json:"source"`
}

// Stats are nearest-rank percentiles of a set of durations (see Percentile).
// With Count 0 the durations are zero and mean nothing.
type Stats struct {
	Count  int      `json:"count"`
	Median Duration `json:"median"`
	P75    Duration `json:"p75"`
	P90    Duration `json:"p90"`
}

// DurationMetric is change lead time or failed deployment recovery time.
type DurationMetric struct {
	Stats
	Level Level `json:"level"`
}

// Rate is change fail rate or deployment rework rate: Count of Deployments.
type Rate struct {
	Count       int     `json:"count"`
	Deployments int     `json:"deployments"`
	Rate        float64 `json:"rate"` // 0..1; 0 with no deployments
	Level       Level   `json:"level"`
}

// Frequency is deployment frequency.
type Frequency struct {
	Deployments int `json:"deployments"`
	// Days is the length of the period in days; PerWeek = Deployments / Days * 7.
	Days    float64 `json:"days"`
	PerWeek float64 `json:"per_week"`
	// DeployDays counts the calendar days (in Timezone) with a deployment.
	DeployDays int   `json:"deploy_days"`
	Level      Level `json:"level"`
}

// Level is a metric's place among the performance levels of one report
// year. Name is "" when that year's report has no levels for the metric or
// there is no data; Note then says which.
type Level struct {
	Name string `json:"name,omitempty"` // "elite", "high", "medium", "low"
	Year int    `json:"year"`
	// Text is the report's wording of the level ("Less than one day").
	Text string `json:"text,omitempty"`
	Note string `json:"note,omitempty"`
}

// Stage is one stage of a change's way to production.
type Stage string

const (
	StageCoding Stage = "coding" // first commit -> ready for review
	StagePickup Stage = "pickup" // ready -> first review by someone else, not a bot
	StageReview Stage = "review" // first review -> merge
	StageDeploy Stage = "deploy" // merge -> deployment finished
)

// Stages in order.
var Stages = []Stage{StageCoding, StagePickup, StageReview, StageDeploy}

// StageStats are the percentiles of one stage; Missing counts shipped pull
// requests without the data for it (no first commit time, never reviewed).
type StageStats struct {
	Stage Stage `json:"stage"`
	Stats
	Missing int `json:"missing"`
}

// JobStats are the queue (queued -> started) and run (started -> completed)
// times of completed CI jobs of one kind.
type JobStats struct {
	Kind  JobKind `json:"kind"`
	Queue Stats   `json:"queue"`
	Run   Stats   `json:"run"`
	// Failed counts jobs whose conclusion was not success, skipped or neutral.
	Failed int `json:"failed"`
}

// Bucket is one week or month of the period.
type Bucket struct {
	Start       time.Time `json:"start"` // midnight in Timezone
	Label       string    `json:"label"` // "2026-W05", "2026-02"
	Deployments int       `json:"deployments"`
	// Failed and Rework count this bucket's deployments that failed or were
	// rework.
	Failed   int   `json:"failed"`
	Rework   int   `json:"rework"`
	LeadTime Stats `json:"lead_time"`
	Recovery Stats `json:"recovery"`
}

// PullRow is one pull request's way to production. A nil duration is
// unknown (see Missing).
type PullRow struct {
	Repo     string    `json:"repo"`
	Number   int       `json:"number"`
	Title    string    `json:"title"`
	Author   string    `json:"author"`
	URL      string    `json:"url"`
	Services []string  `json:"services,omitempty"`
	MergedAt time.Time `json:"merged_at,omitzero"`
	// Deployment is the ID of the deployment that shipped it, "" if none yet.
	Deployment string    `json:"deployment,omitempty"`
	DeployedAt time.Time `json:"deployed_at,omitzero"`
	Source     Source    `json:"source,omitempty"`
	Coding     *Duration `json:"coding,omitempty"`
	Pickup     *Duration `json:"pickup,omitempty"`
	Review     *Duration `json:"review,omitempty"`
	Deploy     *Duration `json:"deploy,omitempty"`
	LeadTime   *Duration `json:"lead_time,omitempty"`
	// Waiting is true when Pickup runs until Query.Now: no review yet.
	Waiting bool `json:"waiting,omitempty"`
}

// Missing counts what could not be measured, so that a metric is never
// quietly computed over less than it seems.
type Missing struct {
	// NoFirstCommit: shipped pull requests without a first commit time (no
	// coding stage, no lead time).
	NoFirstCommit int `json:"no_first_commit"`
	// NoReady: shipped pull requests without a ready-for-review time.
	NoReady int `json:"no_ready"`
	// NoReview: shipped pull requests merged without a review by someone
	// other than the author and not a bot (no pickup and review stage).
	NoReview int `json:"no_review"`
	// Undeployed: pull requests merged in the period that no deployment
	// shipped yet.
	Undeployed int `json:"undeployed"`
	// BeforeBaseline: pull requests merged before the baseline of their
	// repository's first deployment, never counted.
	BeforeBaseline int `json:"before_baseline"`
	// OutOfOrder: stage ends before it starts (an author date in the future,
	// a review on a draft); the stage counts as zero.
	OutOfOrder int `json:"out_of_order"`
	// OpenIncidents: incidents started in the period and not resolved (no
	// recovery time yet).
	OpenIncidents int `json:"open_incidents"`
	// UnlinkedIncidents: incidents started in the period that no deployment
	// could be blamed for (not in change fail rate or recovery time).
	UnlinkedIncidents int `json:"unlinked_incidents"`
}

// Summary is the five metrics of a period in brief.
type Summary struct {
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	Deployments    int       `json:"deployments"`
	PerWeek        float64   `json:"per_week"`
	LeadTime       Stats     `json:"lead_time"`
	ChangeFailRate float64   `json:"change_fail_rate"`
	Recovery       Stats     `json:"recovery"`
	ReworkRate     float64   `json:"rework_rate"`
}

// Duration is a time.Duration that reads as JSON {"seconds": 9000,
// "human": "2h 30m"}.
type Duration time.Duration

// D converts a time.Duration.
func D(d time.Duration) Duration { return Duration(d) }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Seconds returns the duration in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// String is the human form: the two largest units of days, hours, minutes,
// seconds ("3d 4h", "2h 30m", "45s", "0s").
func (d Duration) String() string { return human(time.Duration(d)) }

type durationJSON struct {
	Seconds float64 `json:"seconds"`
	Human   string  `json:"human"`
}

// MarshalJSON writes {"seconds": n, "human": "..."}; seconds are whole.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(durationJSON{Seconds: math.Round(d.Seconds()), Human: d.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v durationJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Duration(time.Duration(v.Seconds * float64(time.Second)))
	return nil
}

func human(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	units := []struct {
		n time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		if len(parts) == 2 {
			break
		}
		if v := d / u.n; v > 0 || len(parts) > 0 {
			if v > 0 {
				parts = append(parts, fmt.Sprintf("%d%s", v, u.s))
			} else {
				parts = append(parts, "")
			}
			d -= v * u.n
		}
	}
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += " "
		}
		out += p
	}
	if out == "" {
		out = "0s"
	}
	if neg {
		out = "-" + out
	}
	return out
}

// MaxPeriod is the longest period Compute measures; a longer one (a typo in
// an API query, a zero From) is refused rather than cut into a million
// daily buckets.
const MaxPeriod = 10 * 366 * 24 * time.Hour

// Compute measures History over the period and scope of q with the
// definitions of cfg. It returns an error when cfg does not validate or the
// period is empty or longer than MaxPeriod.
//
// Compute links every change of History anew; to measure several scopes of
// one History (every team of a weekly report), Prepare once and call
// Prepared.Compute for each.
func Compute(h History, cfg Config, q Query) (Metrics, error) {
	p, err := Prepare(h, cfg)
	if err != nil {
		return Metrics{}, err
	}
	return p.Compute(q)
}

// Prepared is a History linked under a Config: which deployments count,
// which one shipped each change, first reviews, failures. It is read-only
// once made and safe for concurrent use. It keeps the History's
// deployments, jobs and incidents (not its pull requests or reviews): the
// caller must not change those slices while it is in use. Make it with
// Prepare or a Builder.
type Prepared struct {
	e *engine
}

// Compute is Compute over the prepared History.
func (p *Prepared) Compute(q Query) (Metrics, error) {
	if !q.From.Before(q.To) {
		return Metrics{}, fmt.Errorf("leadtime query: the period %s to %s is empty", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if q.To.Sub(q.From) > MaxPeriod {
		return Metrics{}, fmt.Errorf("leadtime query: the period %s to %s is longer than ten years", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return p.e.metrics(q), nil
}
