package review

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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

func BenchmarkReadPlan20k(b *testing.B) {
	data := genPlan(b, "20000")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPlan(bytes.NewReader(data), "plan.json"); err != nil {
			b.Fatal(err)
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
