package config

import "testing"

// BenchmarkParse measures a typical org + repo pair: what every delivery pays
// on a Loader cache miss, on top of two Contents API reads.
func BenchmarkParse(b *testing.B) {
	org := []byte(`ownership:
  core_sre_team: core-sre
  default_team: platform
  teams:
    payments: {sres: [alice, bob], sre_team: payments-sre}
    checkout: {sres: [carol]}
    search: {sre_team: search-sre}
postmortem:
  timezone: Europe/Berlin
  due_business_days: {sev1: 3, sev2: 5}
`)
	repo := []byte(`ownership:
  services:
    api: {repos: [acme/api], paths: [cmd/, internal/], team: payments}
    web: {repos: [acme/api], paths: [web/], team: checkout}
postmortem:
  incident_labels: [incident, outage]
`)
	b.ReportAllocs()
	for b.Loop() {
		if f := Parse("acme/api", org, repo); f.Err != nil {
			b.Fatal(f.Err)
		}
	}
}
