package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/store"
)

const crashLoopEnv = "TASUKI_STORE_CRASHLOOP_CHILD"

// crashLoopChild is a worker process whose handler exits the process on the
// delivery "poison", as a parser allocating gigabytes would get it killed.
func crashLoopChild(url string) {
	ctx := context.Background()
	s, err := store.Open(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, err = s.RunWorkers(ctx, dispatchFunc(func(ctx context.Context, d dispatch.Delivery) error {
		if d.ID == "poison" {
			os.Exit(3)
		}
		fmt.Println("handled " + d.ID)
		return nil
	}), store.WorkerOptions{
		MaxAttempts:       3,
		Backoff:           func(int) time.Duration { return 0 },
		FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {}
}

// A delivery whose handler kills the worker process, run by a process that
// is restarted each time (as systemd or Kubernetes would), spends an attempt
// per death; at the attempt limit it is failed with an error saying so, and
// the next process serves other deliveries normally.
func TestCrashingDeliveryFailsAtTheLimit(t *testing.T) {
	if url := os.Getenv(crashLoopEnv); url != "" {
		crashLoopChild(url)
		return
	}
	const limit = 3
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url := be.url(t)
			s := open(t, url) // enqueues and lists; runs no workers
			if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "poison", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
				t.Fatal(err)
			}
			start := func() (*exec.Cmd, *bufio.Scanner) {
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashingDeliveryFailsAtTheLimit$")
				cmd.Env = append(os.Environ(), crashLoopEnv+"="+url)
				cmd.Stderr = os.Stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd, bufio.NewScanner(out)
			}
			for i := 1; i <= limit; i++ {
				cmd, _ := start()
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != 3 {
						t.Fatalf("run %d: worker process ended with %v, want exit status 3 (killed by the delivery)", i, err)
					}
				case <-time.After(60 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("run %d: the worker process did not run the poison delivery", i)
				}
				rows, err := s.ListDeliveries(ctx, store.ListFilter{State: "running"})
				if err != nil || len(rows) != 1 || rows[0].Attempts != i {
					t.Fatalf("after death %d: running deliveries %+v, %v; want poison, attempt %d", i, rows, err, i)
				}
			}

			// The next process fails the delivery and serves the others.
			cmd, out := start()
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			lines := make(chan string, 8)
			go func() {
				for out.Scan() {
					lines <- out.Text()
				}
				close(lines)
			}()
			row := waitState(t, s, "poison", "failed")
			want := fmt.Sprintf("worker process died while running it %d times; gave up after %d attempts", limit, limit)
			if row.Attempts != limit || !strings.HasPrefix(row.LastError, want) {
				t.Errorf("poison: attempts %d, last error %q; want %d attempts and %q", row.Attempts, row.LastError, limit, want)
			}
			t.Logf("last error: %s", row.LastError)
			failed, err := s.ListDeliveries(ctx, store.ListFilter{State: "failed"})
			if err != nil || len(failed) != 1 || failed[0].ID != "poison" {
				t.Errorf("ListDeliveries(failed) = %+v, %v; want poison", failed, err)
			}
			if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "after", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
				t.Fatal(err)
			}
			waitState(t, s, "after", "done")
			timeout := time.After(30 * time.Second)
			for {
				select {
				case l, ok := <-lines:
					if l == "handled after" {
						return
					}
					if ok {
						continue
					}
				case <-timeout:
				}
				t.Fatal("the process after the deaths did not handle the next delivery")
			}
		})
	}
}
