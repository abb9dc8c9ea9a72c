package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// BenchmarkEnqueue measures durable deliveries per second with many
// concurrent callers, as the webhook intake makes them: each Enqueue returns
// only after its row and job are committed. The payload is a real
// pull_request.opened delivery.
func BenchmarkEnqueue(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := open(b, be.url(b))
			base := fixture(b, "pull_request.opened.1")
			var n atomic.Int64
			b.SetBytes(int64(len(base.Payload)))
			b.SetParallelism(32) // 32 callers per core, like a burst of webhooks
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d := base
					d.ID = fmt.Sprintf("bench-%d", n.Add(1))
					created, err := s.Enqueue(ctx, d)
					if err != nil || !created {
						b.Errorf("Enqueue(%s) = %v, %v", d.ID, created, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			// CPU time of this process per delivery: on a shared, loaded
			// machine wall-clock rates vary a lot; this does not. (PostgreSQL's
			// own CPU is in its processes, not counted here.)
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/delivery")
		})
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

// BenchmarkProcess measures deliveries per second through the workers, from
// a full queue to every job completed, with a handler that does nothing:
// the store's own ceiling on job throughput.
func BenchmarkProcess(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := open(b, be.url(b))
			base := fixture(b, "issues.labeled.1")
			var wg sync.WaitGroup
			sem := make(chan struct{}, 64)
			for i := range b.N {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					d := base
					d.ID = fmt.Sprintf("proc-%d", i)
					if _, err := s.Enqueue(ctx, d); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			var done atomic.Int64
			all := make(chan struct{})
			b.ResetTimer()
			w, err := s.RunWorkers(ctx, dispatchFunc(func(context.Context, dispatch.Delivery) error {
				if done.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}), store.WorkerOptions{Concurrency: 50})
			if err != nil {
				b.Fatal(err)
			}
			<-all
			// Dispatched is not yet completed: wait until River has marked
			// every job done.
			for {
				rows, err := s.ListDeliveries(ctx, store.ListFilter{State: "done", Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				pending, _ := s.ListDeliveries(ctx, store.ListFilter{State: "pending", Limit: 1})
				running, _ := s.ListDeliveries(ctx, store.ListFilter{State: "running", Limit: 1})
				if len(rows) == 1 && len(pending) == 0 && len(running) == 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := w.Stop(sctx); err != nil {
				b.Error(err)
			}
		})
	}
}
