package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// replicaEnv starts the test binary as a worker replica (replicaChild).
const replicaEnv = "TASUKI_STORE_REPLICA_CHILD"

// replica is a worker process started by startReplica.
type replica struct {
	cmd   *exec.Cmd
	lines chan string // what it prints, one line at a time
}

// startReplica runs the test binary as a worker process on url, whose
// handler prints "handling ID" and then waits until it is cancelled.
func startReplica(t *testing.T, url string, deadAfter time.Duration) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), replicaEnv+"="+url, fmt.Sprintf("TASUKI_STORE_DEAD_AFTER=%d", deadAfter))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	select {
	case l := <-r.lines:
		if l != "ready" {
			t.Fatalf("replica said %q, want ready", l)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("replica did not start")
	}
	return r
}

func replicaChild(url string) {
	ctx := context.Background()
	s, err := store.Open(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var deadAfter time.Duration
	fmt.Sscan(os.Getenv("TASUKI_STORE_DEAD_AFTER"), &deadAfter)
	_, err = s.RunWorkers(ctx, dispatchFunc(func(ctx context.Context, d dispatch.Delivery) error {
		fmt.Println("handling " + d.ID)
		<-ctx.Done()
		return ctx.Err()
	}), store.WorkerOptions{DeadAfter: deadAfter})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {}
}

// A delivery held by a replica that is killed (SIGKILL, as in an OOM kill)
// runs again on another replica once the dead one's heartbeat is stale.
//
// With TASUKI_MEASURE_FAILOVER=1 it runs three replicas with the production
// settings and reports the time from the kill to the delivery running again:
//
//	TASUKI_MEASURE_FAILOVER=1 go test ./internal/store -run 'TestReplicaDeathFailover$' -v
func TestReplicaDeathFailover(t *testing.T) {
	if url := os.Getenv(replicaEnv); url != "" {
		replicaChild(url)
		return
	}
	n, deadAfter, limit := 2, 3*time.Second, 30*time.Second
	if os.Getenv("TASUKI_MEASURE_FAILOVER") == "1" {
		n, deadAfter, limit = 3, 0, 2*time.Minute
	}
	url := pgtest.Start(t)
	s := open(t, url)
	rs := make([]*replica, n)
	for i := range rs {
		rs[i] = startReplica(t, url, deadAfter)
	}
	if _, err := s.Enqueue(context.Background(), dispatch.Delivery{ID: "fo-1", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	holder := waitHandling(t, rs, -1, "fo-1", time.Minute)
	killed := time.Now()
	_ = rs[holder].cmd.Process.Kill()
	next := waitHandling(t, rs, holder, "fo-1", 10*time.Minute)
	took := time.Since(killed)
	t.Logf("replica %d killed; delivery running again on replica %d after %v", holder, next, took.Round(100*time.Millisecond))
	if took > limit {
		t.Errorf("delivery ran again %v after its replica was killed, want within %v", took, limit)
	}
}

// With TASUKI_MEASURE_RESTART=sqlite or postgres, a lone worker process is
// killed and started again at once (as systemd or Kubernetes would), and the
// time from the kill to the delivery running again in the new process is
// reported:
//
//	TASUKI_MEASURE_RESTART=postgres go test ./internal/store -run 'TestMeasureRestart$' -v
func TestMeasureRestart(t *testing.T) {
	if url := os.Getenv(replicaEnv); url != "" {
		replicaChild(url)
		return
	}
	var url string
	switch os.Getenv("TASUKI_MEASURE_RESTART") {
	case "sqlite":
		url = backends[0].url(t)
	case "postgres":
		url = pgtest.Start(t)
	default:
		t.Skip("a measurement: set TASUKI_MEASURE_RESTART=sqlite or postgres")
	}
	s := open(t, url)
	first := startReplica(t, url, 0)
	if _, err := s.Enqueue(context.Background(), dispatch.Delivery{ID: "rs-1", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitHandling(t, []*replica{first}, -1, "rs-1", time.Minute)
	killed := time.Now()
	_ = first.cmd.Process.Kill()
	_ = first.cmd.Wait()
	second := startReplica(t, url, 0)
	waitHandling(t, []*replica{second}, -1, "rs-1", 10*time.Minute)
	t.Logf("process killed and started again; delivery running again after %v", time.Since(killed).Round(100*time.Millisecond))
}

// waitHandling waits until a replica other than skip prints "handling id",
// and returns its index.
func waitHandling(t *testing.T, rs []*replica, skip int, id string, within time.Duration) int {
	t.Helper()
	hits := make(chan int, len(rs))
	stop := make(chan struct{})
	defer close(stop)
	for i, r := range rs {
		if i == skip {
			continue
		}
		go func() {
			for {
				select {
				case l, ok := <-r.lines:
					if !ok {
						return
					}
					if strings.TrimSpace(l) == "handling "+id {
						hits <- i
						return
					}
				case <-stop:
					return
				}
			}
		}()
	}
	select {
	case i := <-hits:
		return i
	case <-time.After(within):
		t.Fatalf("no replica ran %s within %v", id, within)
		return -1
	}
}
