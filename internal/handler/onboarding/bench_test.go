package onboarding_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
)

type clientOf struct{ c *github.Client }

func (s clientOf) Client(context.Context, int64) (*github.Client, error) { return s.c, nil }

// BenchmarkVerifyOpenHandoff measures one re-verification of an open
// handoff (what every push to the default branch and every daily run
// costs): time, GitHub requests, the requests GitHub counts against the
// rate limit (a conditional request answered 304 is free), and writes.
// "plain" is a client without an ETag cache; "etag" is the App's and the
// Action's client (ghclient), idle (a daily run, nothing changed) and
// after a push changing one file the checklist does not read, and idle
// with the transfer pull request open.
func BenchmarkVerifyOpenHandoff(b *testing.B) {
	for _, bc := range []struct {
		name                 string
		etag, push, transfer bool
	}{{"plain/idle", false, false, false}, {"etag/idle", true, false, false}, {"etag/push", true, true, false},
		{"etag/transfer-open", true, false, true}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			if bc.etag {
				c, err := ghclient.NewTokenClient(e.srv.Token("tasuki[bot]"), e.srv.URL(), ghclient.WithTransport(e.srv.HTTPClient().Transport))
				if err != nil {
					b.Fatal(err)
				}
				e.h.Clients = clientOf{c}
			}
			if bc.transfer {
				e.toTransfer()
			} else {
				talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
				e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
				e.push(prepared)
			}
			if err := e.h.Sweep(context.Background(), org, repoName); err != nil { // warm the cache
				b.Fatal(err)
			}
			e.srv.ResetCalls()
			b.ResetTimer()
			for i := range b.N {
				if bc.push {
					b.StopTimer()
					e.srv.PutFile(full, "main", "README.md", []byte(fmt.Sprint("push ", i)))
					b.StartTimer()
				}
				if err := e.h.Sweep(context.Background(), org, repoName); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			charged := 0
			for _, c := range e.srv.Calls() {
				if c.Status != http.StatusNotModified {
					charged++
				}
			}
			b.ReportMetric(float64(len(e.srv.Calls()))/float64(b.N), "requests/op")
			b.ReportMetric(float64(charged)/float64(b.N), "charged/op")
			b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "writes/op")
		})
	}
}
