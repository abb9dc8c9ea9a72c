package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// BenchmarkIngest drives the real HTTP intake over loopback with concurrent
// signed senders (real fixture payloads, one fresh delivery ID each) and
// reports durably acknowledged deliveries per second and the p50/p99 time
// to the 202, for the in-memory queue (the ceiling) and the real store on
// SQLite and PostgreSQL. No workers run: this is the intake alone.
//
//	go test ./internal/server -run '^$' -bench Ingest -benchtime 5000x
func BenchmarkIngest(b *testing.B) {
	fixtures := loadFixtures(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	backends := []struct {
		name string
		open func(b *testing.B) server.Queue
	}{
		{"memory", func(*testing.B) server.Queue { return &server.MemQueue{} }},
		{"sqlite", func(b *testing.B) server.Queue {
			return openStore(b, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"), quiet)
		}},
		{"postgres", func(b *testing.B) server.Queue { return openStore(b, pgtest.Start(b), quiet) }},
	}
	for _, senders := range []int{4, 16, 64} {
		for _, be := range backends {
			b.Run(fmt.Sprintf("%s/senders=%d", be.name, senders), func(b *testing.B) {
				q := be.open(b)
				s, err := server.New(q, testSecret, server.WithLogger(quiet), server.WithMetrics(metrics.New()))
				if err != nil {
					b.Fatal(err)
				}
				ts := httptest.NewServer(s)
				defer ts.Close()
				tr := &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr}

				// Sign ahead of time: the sender's HMAC is GitHub's cost, not ours.
				type req struct {
					id, event, sig string
					body           []byte
				}
				reqs := make([]req, b.N)
				for i := range reqs {
					f := fixtures[i%len(fixtures)]
					reqs[i] = req{fmt.Sprintf("bench-%s-%d-%d", be.name, senders, i), f.event, server.Sign(testSecret, f.body), f.body}
				}
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				cpu0 := cpuTime()
				start := time.Now()
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							r := reqs[i]
							hr, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhook", bytes.NewReader(r.body))
							hr.Header.Set("X-GitHub-Event", r.event)
							hr.Header.Set("X-GitHub-Delivery", r.id)
							hr.Header.Set("X-Hub-Signature-256", r.sig)
							t0 := time.Now()
							resp, err := client.Do(hr)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							lat[i] = time.Since(t0)
							if resp.StatusCode != http.StatusAccepted {
								b.Errorf("status %d", resp.StatusCode)
								return
							}
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				cpu := cpuTime() - cpu0
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
				b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
				// CPU time of the process (senders included) per delivery:
				// steadier than the rates on a shared machine.
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
			})
		}
	}
}

// cpuTime returns the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func openStore(b *testing.B, url string, log *slog.Logger) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), url, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
