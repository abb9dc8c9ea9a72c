package leadtime

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
)

// Metric names, as in levels.json and the API.
const (
	MetricDeploymentFrequency = "deployment_frequency"
	MetricChangeLeadTime      = "change_lead_time"
	MetricChangeFailRate      = "change_fail_rate"
	MetricRecoveryTime        = "failed_deployment_recovery_time"
	MetricReworkRate          = "deployment_rework_rate"
)

// levels.json holds DORA's performance levels per report year, with their
// source and the report's wording; see the file's comment for how the words
// became numbers.
//
//go:embed levels.json
var levelsJSON []byte

type levelTable struct {
	Years map[string]struct {
		Source  string `json:"source"`
		Metrics map[string]struct {
			Compare string `json:"compare"`
			Levels  []struct {
				Name  string   `json:"name"`
				Text  string   `json:"text"`
				Bound *float64 `json:"bound"`
			} `json:"levels"`
		} `json:"metrics"`
	} `json:"years"`
}

var loadLevels = sync.OnceValue(func() levelTable {
	var t levelTable
	if err := json.Unmarshal(levelsJSON, &t); err != nil {
		panic(fmt.Sprintf("leadtime: levels.json: %v", err)) // embedded, tested
	}
	return t
})

// ReportYears lists the years with level tables.
func ReportYears() []int {
	var out []int
	for y := range loadLevels().Years {
		n, _ := strconv.Atoi(y)
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// Classify places value of metric among the levels of report year:
// deployments per week for deployment frequency, the median in seconds for
// lead time and recovery time, the rate (0..1) for the rates. ok false
// (no data) gives no level. Ranges are "at least" (frequency) or "below"
// (durations), best level first; change fail rate goes to the level whose
// typical value is nearest, since the reports give one value per level, not
// a range.
func Classify(metric string, year int, value float64, ok bool) Level {
	l := Level{Year: year}
	y, found := loadLevels().Years[strconv.Itoa(year)]
	if !found {
		l.Note = fmt.Sprintf("no level table for %d", year)
		return l
	}
	m, found := y.Metrics[metric]
	if !found {
		l.Note = fmt.Sprintf("the %d report has no levels for this metric", year)
		return l
	}
	if !ok {
		l.Note = "no data"
		return l
	}
	pick := -1
	switch m.Compare {
	case "at_least_per_week":
		for i, lv := range m.Levels {
			if lv.Bound == nil || value >= *lv.Bound {
				pick = i
				break
			}
		}
	case "below_seconds":
		for i, lv := range m.Levels {
			if lv.Bound == nil || value < *lv.Bound {
				pick = i
				break
			}
		}
	case "nearest":
		best := math.Inf(1)
		for i, lv := range m.Levels {
			if lv.Bound == nil {
				continue
			}
			// Ties go to the better level (listed first).
			if d := math.Abs(value - *lv.Bound); d < best-1e-12 {
				best, pick = d, i
			}
		}
	}
	if pick < 0 {
		l.Note = "outside every level"
		return l
	}
	l.Name, l.Text = m.Levels[pick].Name, m.Levels[pick].Text
	return l
}
