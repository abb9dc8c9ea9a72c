package planreview_test

import (
	"context"
	"testing"
)

// BenchmarkReevaluate measures one re-evaluation (a review event) against
// the in-memory GitHub, reporting the API calls it makes.
func BenchmarkReevaluate(b *testing.B) {
	e := newReviewEnv(b, nil)
	e.post(b, fxHead, readPlan(b, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	ctx := context.Background()
	e.srv.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.rv.Reevaluate(ctx, e.c, fxOwner, fxName, fxPR); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.srv.Calls()))/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "api-writes/op")
}

// BenchmarkPostPlan measures publishing a plan (unchanged after the first
// iteration, so the writes are skipped), reporting API calls.
func BenchmarkPostPlan(b *testing.B) {
	e := newReviewEnv(b, nil)
	plan := readPlan(b, "infracost-tf014-26-resources-mixed.json")
	e.post(b, fxHead, plan)
	e.srv.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.post(b, fxHead, plan)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.srv.Calls()))/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "api-writes/op")
}
