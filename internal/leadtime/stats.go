package leadtime

import (
	"math/rand/v2"
	"time"
)

// Rank returns the 1-based nearest rank of the p-th percentile (0 < p <= 100)
// of n sorted values: ceil(p/100 * n). The median is Rank(50, n), which for
// an even n is the lower of the two middle values: always a value that was
// measured, never an average of two.
func Rank(p, n int) int {
	if n <= 0 {
		return 0
	}
	r := (p*n + 99) / 100
	return min(max(r, 1), n)
}

// Percentile returns the nearest-rank p-th percentile of vals (see Rank),
// reordering vals; 0 for no values.
func Percentile(vals []time.Duration, p int) time.Duration {
	if len(vals) == 0 {
		return 0
	}
	a := make([]int64, len(vals))
	for i, v := range vals {
		a[i] = int64(v)
	}
	return time.Duration(selectK(a, Rank(p, len(a))-1))
}

// Percentiles returns the count, median, p75 and p90 of vals (nanoseconds),
// reordering vals. It selects rather than sorts: three linear passes.
func Percentiles(vals []int64) Stats {
	n := len(vals)
	if n == 0 {
		return Stats{}
	}
	k50, k75, k90 := Rank(50, n)-1, Rank(75, n)-1, Rank(90, n)-1
	s := Stats{Count: n}
	s.Median = Duration(selectK(vals, k50))
	// After selecting k, everything at or above k is >= vals[k]: the higher
	// ranks are found in the upper part only.
	upper := vals[k50:]
	s.P75 = Duration(selectK(upper, k75-k50))
	upper = upper[k75-k50:]
	s.P90 = Duration(selectK(upper, k90-k75))
	return s
}

// selectK reorders a so that a[k] is the value of rank k+1 in sorted order,
// with nothing greater before it and nothing smaller after it, and returns
// it. Pivots are random so that no input (lead times are partly in users'
// hands) makes it quadratic.
func selectK(a []int64, k int) int64 {
	lo, hi := 0, len(a)-1
	for hi > lo {
		if hi-lo < 16 {
			insertion(a[lo : hi+1])
			break
		}
		pivot := a[lo+rand.IntN(hi-lo+1)]
		// Three-way partition: [lo,lt) < pivot, [lt,gt] == pivot, (gt,hi] > pivot.
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case a[i] < pivot:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > pivot:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return a[k]
		}
	}
	return a[k]
}

func insertion(a []int64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
