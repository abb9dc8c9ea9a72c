package tfc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/tfc"
	"github.com/tasuki-sre/tasuki/internal/tfc/tfctest"
)

// BenchmarkRunTaskVerify measures answering a signed run task request
// (signature check and decoding, the work done before the 200).
func BenchmarkRunTaskVerify(b *testing.B) {
	key := []byte("bench-key")
	body := []byte(`{"payload_version":1,"stage":"test","access_token":"verify","organization_name":"acme","workspace_name":"w","run_id":"run-1","task_result_callback_url":"https://app.terraform.io/api/v2/task-results/1/callback"}`)
	sig := tfc.Sign(key, body)
	h := tfc.NewRunTaskHandler(key, &recordingReviewer{}, tfc.WithLogger(slog.New(slog.DiscardHandler)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(body))
		req.Header.Set("X-TFC-Task-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkClientRun measures reading a run with its plan JSON (a 26
// resource plan) through go-tfe from the in-memory API.
func BenchmarkClientRun(b *testing.B) {
	plan := planFixture(b, "infracost-tf014-26-resources-mixed.json")
	srv := tfctest.New(b)
	srv.AddRun(tfctest.Run{ID: "run-b", Organization: "acme", Workspace: "w", PlanID: "plan-b", PlanJSON: plan,
		Identifier: "acme/infra", PullRequest: 1, CommitSHA: "abc1234"})
	c, err := tfc.NewClient(srv.Address(), srv.Token, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(plan)))
	for i := 0; i < b.N; i++ {
		if _, err := c.Run(context.Background(), "run-b"); err != nil {
			b.Fatal(err)
		}
	}
}
