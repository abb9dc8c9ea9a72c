// Package metrics declares tasuki's Prometheus metrics in one place so that
// the intake, the job workers and the GitHub client report under stable names.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the set of collectors of one process.
type Metrics struct {
	Registry *prometheus.Registry

	// DeliveriesReceived counts webhook requests by event and outcome
	// (accepted, duplicate, unauthorized, too_large, bad_request, busy, error).
	DeliveriesReceived *prometheus.CounterVec
	// DeliveriesProcessed counts finished job attempts by event and outcome
	// (done, retry, snoozed, failed).
	DeliveriesProcessed *prometheus.CounterVec
	// AckLatency is the time from request start to 202, in seconds.
	AckLatency prometheus.Histogram
	// JobLatency is the time a handler ran for a delivery, by event.
	JobLatency *prometheus.HistogramVec
	// QueueDepth is the number of deliveries waiting or running.
	QueueDepth prometheus.Gauge
	// GitHubRequests counts GitHub API calls by endpoint template and status.
	GitHubRequests *prometheus.CounterVec
	// RateLimitRemaining is the last X-RateLimit-Remaining seen per installation.
	RateLimitRemaining *prometheus.GaugeVec
	// WebhookRejected counts webhook requests refused before storing, by
	// reason (no_signature, malformed_signature, bad_signature, too_large,
	// too_slow, timeout, read_error, busy, bad_headers, bad_json,
	// invalid_utf8, nul_character).
	WebhookRejected *prometheus.CounterVec
	// WebhookBodyBytes is the bytes of webhook bodies held in memory, as
	// reserved from the intake's body budget.
	WebhookBodyBytes prometheus.Gauge
	// LeadTime is the lead time for changes (first commit to production)
	// of each pull request a recorded deployment shipped, by repository;
	// LeadTimeStage the time of each stage (coding, pickup, review,
	// deploy), by repository and stage. See leadtime.go.
	LeadTime      *prometheus.HistogramVec
	LeadTimeStage *prometheus.HistogramVec

	ltRepos leadTimeRepos
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		DeliveriesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasuki_webhook_deliveries_total", Help: "Webhook deliveries received, by event and outcome.",
		}, []string{"event", "outcome"}),
		DeliveriesProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasuki_jobs_total", Help: "Delivery job attempts finished, by event and outcome.",
		}, []string{"event", "outcome"}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tasuki_webhook_ack_seconds", Help: "Time from receiving a delivery to acknowledging it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		JobLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tasuki_job_seconds", Help: "Handler run time per delivery, by event.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"event"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tasuki_queue_depth", Help: "Deliveries waiting or running.",
		}),
		GitHubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasuki_github_requests_total", Help: "GitHub API requests, by method, endpoint template and status.",
		}, []string{"method", "endpoint", "status"}),
		RateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tasuki_github_rate_limit_remaining", Help: "Last X-RateLimit-Remaining seen, per installation.",
		}, []string{"installation"}),
		WebhookRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasuki_webhook_rejected_total", Help: "Webhook requests refused before storing, by reason.",
		}, []string{"reason"}),
		WebhookBodyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tasuki_webhook_body_bytes", Help: "Bytes of webhook bodies held in memory.",
		}),
	}
	m.LeadTime, m.LeadTimeStage = leadTimeHistograms()
	r.MustRegister(m.DeliveriesReceived, m.DeliveriesProcessed, m.AckLatency, m.JobLatency,
		m.QueueDepth, m.GitHubRequests, m.RateLimitRemaining, m.WebhookRejected, m.WebhookBodyBytes,
		m.LeadTime, m.LeadTimeStage,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
