package review

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// genPlan runs the benchmark's plan generator once per benchmark.
func genPlan(b *testing.B, n string) []byte {
	b.Helper()
	out := filepath.Join(b.TempDir(), "plan.json")
	cmd := exec.Command("go", "run", "./bench/genplan", "-n", n)
	cmd.Dir = filepath.Join(testenv.ModuleRoot(), "internal", "review")
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = f
	if err := cmd.Run(); err != nil {
		b.Fatalf("genplan: %v", err)
	}
	f.Close()
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkReadPlan reads generated plans of 20,000 and 100,000 changes
// (35 and 175 MB) as the comment needs them (attribute diffs while
// AttrBudget lasts, every change kept, or through a CommentKeep) and as the CLI's --format json
// does (no attribute, a RiskSample keeping a few risky changes per
// reason). MB/s is of plan text; retained-MB is the heap the plan holds
// once read.
func BenchmarkReadPlan(b *testing.B) {
	for _, n := range []string{"20000", "100000"} {
		data := genPlan(b, n)
		for _, mode := range []struct {
			name string
			opts func() ReadOptions
		}{
			{"comment", func() ReadOptions { return ReadOptions{} }},
			{"comment-kept", func() ReadOptions { return ReadOptions{Keep: NewCommentKeep(DefaultConfig()).Keep} }},
			{"json", func() ReadOptions {
				return ReadOptions{NoAttrs: true, Keep: NewRiskSample(DefaultConfig()).Keep}
			}},
		} {
			b.Run(mode.name+"/"+n, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ReadPlanWith(bytes.NewReader(data), "plan.json", mode.opts()); err != nil {
						b.Fatal(err)
					}
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p, _ := ReadPlanWith(bytes.NewReader(data), "plan.json", mode.opts())
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "retained-MB")
				runtime.KeepAlive(p)
			})
		}
	}
}

func BenchmarkRenderComment20k(b *testing.B) {
	data := genPlan(b, "20000")
	p, err := ReadPlan(bytes.NewReader(data), "plan.json")
	if err != nil {
		b.Fatal(err)
	}
	s := Summarize([]*Plan{p}, DefaultConfig())
	v := Evaluate(s, DefaultConfig(), ApprovalFacts{})
	b.ReportAllocs()
	for b.Loop() {
		RenderComment(s, v, Meta{}, CommentLimit)
	}
}
