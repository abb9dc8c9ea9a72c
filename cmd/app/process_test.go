package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

const procSecret = "crash-test-secret"

// The process tests run `app serve` as a process of its own, to SIGKILL and
// SIGTERM it. That process is this test binary, re-executed with childEnv
// set: TestMain then runs the app's real commands, with the workers'
// dispatcher replaced by a recordingSink for `serve`. `app serve` itself has
// no switch that replaces its handlers.
const (
	childEnv          = "APP_PROCESS_TEST_CHILD"      // "1": run the app, not the tests
	childSinkEnv      = "APP_PROCESS_TEST_SINK"       // the sink file serve records deliveries to
	childSinkDelayEnv = "APP_PROCESS_TEST_SINK_DELAY" // how long each delivery takes
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// childMain is main in a re-executed test binary: `serve` runs serve with
// the sink as its dispatcher, any other command runs as in the app.
func childMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if len(args) == 0 || args[0] != "serve" {
		return run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	}
	sink, err := newRecordingSink(os.Getenv(childSinkEnv), os.Getenv(childSinkDelayEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "tasuki test child: %v\n", err)
		return 2
	}
	defer sink.Close()
	if err := serve(ctx, args[1:], os.Getenv, os.Stderr, sink); err != nil {
		fmt.Fprintf(os.Stderr, "tasuki: %v\n", err)
		return 1
	}
	return 0
}

// appBinary is this test binary, which runs as the app with childEnv set.
func appBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// recordingSink is the dispatcher of the crash and shutdown tests: instead
// of running feature handlers it appends "start ID" and, after its delay,
// "done ID" lines to a file. Each line is one write(2) on an O_APPEND file,
// so a SIGKILL leaves whole lines behind. Recording the same ID twice is how
// a re-run shows up.
type recordingSink struct {
	mu    sync.Mutex
	f     *os.File
	delay time.Duration
}

func newRecordingSink(path, delay string) (*recordingSink, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is not set", childSinkEnv)
	}
	var d time.Duration
	if delay != "" {
		var err error
		if d, err = time.ParseDuration(delay); err != nil {
			return nil, fmt.Errorf("%s: %w", childSinkDelayEnv, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open test sink: %w", err)
	}
	return &recordingSink{f: f, delay: d}, nil
}

func (s *recordingSink) write(line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.f.WriteString(line + "\n")
	return err
}

// Dispatch records d.ID.
func (s *recordingSink) Dispatch(ctx context.Context, d dispatch.Delivery) error {
	if err := s.write("start " + d.ID); err != nil {
		return err
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.write("done " + d.ID)
}

// Close closes the file.
func (s *recordingSink) Close() error { return s.f.Close() }

// appProc is one run of the app binary.
type appProc struct {
	cmd  *exec.Cmd
	done chan error
}

// harness starts and restarts `app serve` on one port, database and sink.
type harness struct {
	t       *testing.T
	bin     string
	addr    string
	env     []string
	args    []string
	logPath string
	sink    string
	gh      *githubtest.Server
	mu      sync.Mutex
	cur     *appProc
}

func newHarness(t *testing.T, dbURL string, extraEnv ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	gh := githubtest.New(t)
	keyFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyFile, githubtest.AppKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, bin: appBinary(t), addr: freeAddr(t), gh: gh,
		logPath: filepath.Join(dir, "app.log"), sink: filepath.Join(dir, "sink.txt"),
		args: []string{"serve", "--redeliver-every", "0", "--shutdown-timeout", "20s", "--job-timeout", "5s"},
	}
	h.env = append([]string{
		"TASUKI_GITHUB_APP_ID=1",
		"TASUKI_GITHUB_PRIVATE_KEY_FILE=" + keyFile,
		"TASUKI_GITHUB_API_URL=" + gh.URL(),
		"TASUKI_WEBHOOK_SECRET=" + procSecret,
		"TASUKI_DATABASE_URL=" + dbURL,
		"TASUKI_LISTEN=" + h.addr,
		"TASUKI_LOG_LEVEL=info",
		childEnv + "=1",
		childSinkEnv + "=" + h.sink,
	}, extraEnv...)
	t.Cleanup(func() {
		h.mu.Lock()
		p := h.cur
		h.mu.Unlock()
		if p != nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(h.logPath)
			var problems []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
					problems = append(problems, l)
				}
			}
			if len(problems) > 20 {
				problems = problems[:20]
			}
			t.Logf("app warnings and errors (first 20):\n%s", strings.Join(problems, "\n"))
			t.Logf("app log (last 4 KiB):\n%s", tail(b, 4096))
		}
	})
	return h
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the server and waits until /readyz answers 200.
func (h *harness) start() *appProc {
	h.t.Helper()
	logf, err := os.OpenFile(h.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(h.bin, h.args...)
	cmd.Env = h.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &appProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	h.mu.Lock()
	h.cur = p
	h.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(h.logPath)
			h.t.Fatalf("app exited while starting: %v\n%s", err, tail(b, 2048))
		default:
		}
		resp, err := http.Get("http://" + h.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatal("app not ready within 30s")
	return nil
}

// kill SIGKILLs the running server and waits for it to be gone.
func (h *harness) kill() {
	h.mu.Lock()
	p := h.cur
	h.cur = nil
	h.mu.Unlock()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop SIGTERMs the server and returns its exit status.
func (h *harness) stop(timeout time.Duration) int {
	h.t.Helper()
	h.mu.Lock()
	p := h.cur
	h.cur = nil
	h.mu.Unlock()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		h.t.Fatalf("app did not exit within %s of SIGTERM", timeout)
		return -1
	}
}

// sinkLines counts the "done ID" (or "start ID") lines of the sink.
func (h *harness) sinkLines(kind string) map[string]int {
	h.t.Helper()
	f, err := os.Open(h.sink)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int{}
	}
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), kind+" "); ok {
			out[id]++
		}
	}
	return out
}

// send posts one signed delivery and returns the status code.
func send(c *http.Client, addr, id, event string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", server.Sign([]byte(procSecret), body))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

type payload struct {
	event string
	body  []byte
}

func fixturePayloads(t *testing.T) []payload {
	t.Helper()
	dir := testenv.Fixtures(t, "webhooks")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	var out []payload
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, payload{strings.SplitN(filepath.Base(f), ".", 2)[0], b})
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

func TestCrashLosesNothingAcknowledgedSQLite(t *testing.T) {
	// On SQLite (one process) the store requeues jobs a killed server left
	// running as soon as the next one starts.
	crashTest(t, "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"), 60*time.Second)
}

func TestCrashLosesNothingAcknowledgedPostgres(t *testing.T) {
	// On PostgreSQL another replica may still be running a job, so a job
	// left running by a killed server waits for River's rescuer: the store
	// sets it to JobTimeout + 1 minute, and the rescuer runs every 30 s.
	// Hence the short --job-timeout and the longer wait.
	crashTest(t, pgtest.Start(t), 150*time.Second, "--job-timeout", "1s")
}

// crashTest sends 1,000 signed deliveries from several goroutines while
// SIGKILLing the server three times, and then checks that every delivery
// that was answered 202 was processed, each by one job.
func crashTest(t *testing.T, dbURL string, drain time.Duration, args ...string) {
	if testing.Short() {
		t.Skip("starts the app binary several times")
	}
	const (
		total   = 1000
		senders = 8
	)
	payloads := fixturePayloads(t)
	h := newHarness(t, dbURL)
	h.args = append(h.args, args...)
	h.start()

	ids := make(chan int, total)
	for i := range total {
		ids <- i
	}
	close(ids)
	var (
		acked    atomic.Int64
		ackedMu  sync.Mutex
		ackedIDs = map[string]bool{}
		retries  atomic.Int64
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 15 * time.Second}
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				p := payloads[i%len(payloads)]
				id := fmt.Sprintf("crash-%04d", i)
				// Like GitHub's redelivery: try again until acknowledged.
				for time.Now().Before(deadline) {
					code, err := send(client, h.addr, id, p.event, p.body)
					if err == nil && code == http.StatusAccepted {
						ackedMu.Lock()
						ackedIDs[id] = true
						ackedMu.Unlock()
						acked.Add(1)
						break
					}
					if err == nil && code != http.StatusInternalServerError && code != http.StatusServiceUnavailable {
						t.Errorf("delivery %s: status %d", id, code)
						break
					}
					retries.Add(1)
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}

	// Kill the server three times while deliveries keep arriving, then
	// bring it back each time.
	kills := 0
	for _, at := range []int64{150, 450, 750} {
		for acked.Load() < at && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		h.kill()
		kills++
		t.Logf("SIGKILL %d at %d acknowledged", kills, acked.Load())
		time.Sleep(50 * time.Millisecond) // let senders hit a closed port
		h.start()
	}
	wg.Wait()
	if n := acked.Load(); n != total {
		t.Fatalf("only %d of %d deliveries acknowledged before the deadline", n, total)
	}
	t.Logf("%d deliveries acknowledged after %d retried requests and %d kills", total, retries.Load(), kills)

	// Wait for the queue to drain: every acknowledged delivery handled, and
	// the store showing every delivery done (a job whose completion a kill
	// cut off is run again first).
	deadline = time.Now().Add(drain)
	var (
		done   map[string]int
		rows   []deliveryRow
		states map[string]int
	)
	for {
		done = h.sinkLines("done")
		missing := 0
		for id := range ackedIDs {
			if done[id] == 0 {
				missing++
			}
		}
		rows, states = h.deliveries(dbURL)
		if missing == 0 && states["done"] == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d acknowledged deliveries never handled; store states %v", drain, missing, states)
		}
		time.Sleep(500 * time.Millisecond)
	}
	reruns := 0
	for id, n := range done {
		if !ackedIDs[id] {
			t.Errorf("processed %s, which was never sent", id)
		}
		reruns += n - 1
	}
	t.Logf("all %d acknowledged deliveries processed; %d re-runs of jobs whose completion a kill cut off", len(ackedIDs), reruns)

	// The store holds one delivery per ID: a delivery retried by a sender
	// after a kill made no second job.
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.ID] {
			t.Errorf("delivery %s stored twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(rows) != total {
		t.Errorf("deliveries list: %d rows, want %d", len(rows), total)
	}
	if code := h.stop(30 * time.Second); code != 0 {
		t.Errorf("exit status after SIGTERM %d, want 0", code)
	}
}

type deliveryRow struct{ ID, State string }

// deliveries runs `app deliveries list` against the database, as an
// operator would next to the running server.
func (h *harness) deliveries(dbURL string) ([]deliveryRow, map[string]int) {
	h.t.Helper()
	cmd := exec.Command(h.bin, "deliveries", "list", "--format", "json", "--limit", "1000", "--database-url", dbURL)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("app deliveries list: %v", err)
	}
	var rows []deliveryRow
	if err := json.Unmarshal(out, &rows); err != nil {
		h.t.Fatalf("decode deliveries list: %v\n%s", err, out)
	}
	states := map[string]int{}
	for _, r := range rows {
		states[r.State]++
	}
	return rows, states
}

func TestSIGTERMFinishesInFlightJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the app binary")
	}
	h := newHarness(t, "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"), childSinkDelayEnv+"=2s")
	h.start()
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	code, err := send(http.DefaultClient, h.addr, "slow-1", "ping", body)
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("send: %d %v", code, err)
	}
	for h.sinkLines("start")["slow-1"] == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if code := h.stop(20 * time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if n := h.sinkLines("done")["slow-1"]; n != 1 {
		t.Errorf("in-flight job finished %d times before exit, want 1", n)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))

	// A new delivery after the stop is refused: the port is closed.
	if _, err := send(&http.Client{Timeout: time.Second}, h.addr, "late", "ping", body); err == nil {
		t.Error("server still accepts deliveries after SIGTERM")
	}
}

func TestServeRedeliversMissedDeliveriesOnStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the app binary")
	}
	h := newHarness(t, "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"))
	h.args = append(h.args, "--redeliver-every", "1h") // overrides the harness's 0
	at := &github.Timestamp{Time: time.Now().Add(-time.Hour)}
	lost := h.gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("lost-while-down"), StatusCode: github.Int(0),
		Event: github.String("issues"), Action: github.String("labeled"), DeliveredAt: at})
	h.gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("acked"), StatusCode: github.Int(202),
		Event: github.String("issues"), Action: github.String("opened"), DeliveredAt: at})
	h.start()
	deadline := time.Now().Add(20 * time.Second)
	for len(h.gh.Redelivered()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if diff := cmp.Diff([]int64{lost.GetID()}, h.gh.Redelivered()); diff != "" {
		t.Errorf("redelivery requests after start (-want +got):\n%s", diff)
	}
	if code := h.stop(20 * time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
}
