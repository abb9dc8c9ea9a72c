package onboarding

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	c := Default()
	d := Start(StartRequest{Repo: "acme/api", Team: "acme/payments-sre", Actor: "carol", Trigger: "command", ActorIsCore: true, CoreTeam: "core-sre"}, DefaultConfig(), c, now)
	s, body := d.State, d.Intents[0].Issue.Body
	s.Issue = 7
	f := goodFacts()
	b.ReportAllocs()
	for b.Loop() {
		Verify(s, body, c, f, DefaultConfig(), now)
	}
}

// BenchmarkRewriteCODEOWNERS edits a file at tasuki's bound on rules.
func BenchmarkRewriteCODEOWNERS(b *testing.B) {
	var sb strings.Builder
	for i := range MaxCODEOWNERSRulesForBench {
		owner := "@acme/team-" + fmt.Sprint(i%50)
		if i%10 == 0 {
			owner = "@acme/core-sre"
		}
		fmt.Fprintf(&sb, "/svc-%d/*.go %s @alice\n", i, owner)
	}
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RewriteCODEOWNERS(in, []string{"@acme/core-sre"}, []string{"@acme/payments-sre"}, true); err != nil {
			b.Fatal(err)
		}
	}
}

const MaxCODEOWNERSRulesForBench = 10000

func BenchmarkDecodeState(b *testing.B) {
	c := Default()
	d := Start(StartRequest{Repo: "acme/api", Team: "acme/payments-sre", Actor: "carol", Trigger: "command", ActorIsCore: true, CoreTeam: "core-sre"}, DefaultConfig(), c, now)
	body := d.Intents[0].Issue.Body + strings.Repeat("person notes\n", 4000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeState(body); err != nil {
			b.Fatal(err)
		}
	}
}
