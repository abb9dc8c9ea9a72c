package review

// Caps on the changes CommentKeep keeps, over all the plans read through
// one. A comment or check run summary (64 KiB) names at most some 3,000
// destroys (compact, 20 bytes each) and lists the changes that destroy
// nothing only when every one fits with its attributes (25 bytes or
// more: 2,600 at most). Past the caps the comment counts; only the 1 MiB
// job summary of a plan that big could have listed more. Each kept change
// costs the process about 1.5 KB at its peak (the Change, its address and
// attributes, the garbage collector's headroom): the caps keep a plan of
// any size under 48 MiB, of which 16 are the binary.
const (
	KeptDestroys = 10000 // destroys and replaces kept
	KeptOthers   = 5000  // other changes the comment lists, kept
)

// CommentKeep is a ReadOptions.Keep filter for RenderComment and
// RenderCheck, so that memory stays flat whatever the plan size: it keeps
// every destroy and replace up to KeptDestroys, the other changes the
// comment lists up to KeptOthers, and never a no-op that neither moves
// nor imports; the rest are only counted (Plan.Unkept, Plan.UnkeptListed),
// and, through a RiskSample, so are the risky ones, the first of each
// reason always kept. The comment then states the true counts and says
// what it does not list. Read the plans in the order given to Summarize
// through one CommentKeep, then call Apply on the Summary before
// Evaluate.
type CommentKeep struct {
	rs               *RiskSample
	destroys, others int
	// risky and keptRisky count the risky changes read and kept.
	risky, keptRisky int
	// maxDestroys and maxOthers are KeptDestroys and KeptOthers; tests
	// lower them.
	maxDestroys, maxOthers int
}

// NewCommentKeep returns a CommentKeep for cfg.
func NewCommentKeep(cfg Config) *CommentKeep {
	return &CommentKeep{rs: NewRiskSample(cfg), maxDestroys: KeptDestroys, maxOthers: KeptOthers}
}

// Keep reports whether ch is kept; it is the ReadOptions.Keep filter.
func (ck *CommentKeep) Keep(ch *Change) bool {
	keep, risky := ck.rs.sample(ch)
	switch {
	case isDestroy(ch):
		keep = keep || ck.destroys < ck.maxDestroys
		if keep {
			ck.destroys++
		}
	case listed(ch):
		keep = keep || ck.others < ck.maxOthers
		if keep {
			ck.others++
		}
	}
	if risky {
		ck.risky++
		if keep {
			ck.keptRisky++
		} else {
			ck.rs.cut = true
		}
	}
	return keep
}

// Apply gives s the true number of risky changes per reason when some
// were not kept (Summary.RiskTotals) and counts those not in s.Risky
// (Summary.RiskyOmitted).
func (ck *CommentKeep) Apply(s *Summary) {
	ck.rs.Apply(s)
	s.RiskyOmitted += ck.risky - ck.keptRisky
}
