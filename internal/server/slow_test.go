package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/server"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// forgedSignature is well formed, so the intake has to read the body
// before it can refuse it.
var forgedSignature = "sha256=" + strings.Repeat("0", 64)

// serve runs s on a loopback port the way cmd/app does (Server.Run, with
// its timeouts) and returns the address; it stops when t ends.
func serve(t *testing.T, s *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return ln.Addr().String()
}

// rawRequest is a webhook request written by hand on a raw connection, at
// a pace of its own.
type rawRequest struct {
	id     string
	length int64  // declared Content-Length
	sig    string // X-Hub-Signature-256; "" sends none
	chunk  int    // bytes written at a time (at least 1)
	every  time.Duration
	first  int // bytes written at once after the headers
}

// send writes r's headers and first bytes, then r.chunk bytes every
// r.every until the body is complete, the server answers or stop is
// closed. It returns the status the server answered with (0: none before
// stop) and how long after the headers it came.
func (r rawRequest) send(addr string, stop <-chan struct{}) (int, time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: tasuki\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\n", r.id); err != nil {
		return 0, 0, err
	}
	if r.sig != "" {
		fmt.Fprintf(c, "X-Hub-Signature-256: %s\r\n", r.sig)
	}
	if _, err := fmt.Fprintf(c, "Content-Length: %d\r\n\r\n", r.length); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answered <- -1 // closed without an answer
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	sent := int64(0)
	write := func(n int64) {
		n = min(n, r.length-sent)
		if n > 0 {
			c.Write(bytes.Repeat([]byte("x"), int(n))) // a failed write shows as the answer
			sent += n
		}
	}
	write(int64(r.first))
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case code := <-answered:
			return code, time.Since(start), nil
		case <-stop:
			return 0, time.Since(start), nil
		case <-tick.C:
			write(int64(max(r.chunk, 1)))
		}
	}
}

// value reads a counter or gauge.
func value(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// waitFor polls cond every 5 ms until it holds or 10 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSlowSendersDoNotStarveIntake is the attack that used to starve the
// intake (eleven connections declaring 256 MiB sufficed): 70 unsigned
// connections declare 512 MiB in all and send a byte a second, reconnecting
// whenever they are cut off, while signed deliveries arrive twice a second
// for 10 s. With the server's default limits every signed delivery is
// answered 202 within 2 s, the slow senders hold a few MiB between them,
// and each is cut off after the grace period.
//
//	go test ./internal/server -run SlowSendersDoNotStarve -v
func TestSlowSendersDoNotStarveIntake(t *testing.T) {
	const (
		senders  = 70
		declared = (512 << 20) / senders
		signed   = 20
		interval = 500 * time.Millisecond
	)
	pr := fixtureNamed(t, "pull_request.opened.1.json")
	m := metrics.New()
	q := &server.MemQueue{}
	s, err := server.New(q, testSecret, server.WithLogger(quiet), server.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cutAfter []time.Duration
	cutCodes := map[int]int{}
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ { // an attacker reconnects
				r := rawRequest{id: fmt.Sprintf("slow-%d-%d", i, n), length: declared, sig: forgedSignature, chunk: 1, every: time.Second}
				code, after, err := r.send(addr, stop)
				if err != nil || code == 0 {
					return
				}
				mu.Lock()
				cutCodes[code]++
				cutAfter = append(cutAfter, after)
				mu.Unlock()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// Each slow request holds its first chunk once the server reads it.
	waitFor(t, "the slow senders are all being read", func() bool {
		return value(m.WebhookBodyBytes) >= senders*64<<10
	})

	client := &http.Client{Timeout: 5 * time.Second}
	type result struct {
		code      int
		lat, conn time.Duration // to the answer, to the connection
	}
	results := make([]result, signed)
	var maxHeld float64
	var dwg sync.WaitGroup
	tick := time.NewTicker(interval)
	for i := range signed {
		maxHeld = max(maxHeld, value(m.WebhookBodyBytes))
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(pr.body))
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprint("signed-", i))
			req.Header.Set("X-Hub-Signature-256", server.Sign(testSecret, pr.body))
			t0 := time.Now()
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { results[i].conn = time.Since(t0) },
			}))
			resp, err := client.Do(req)
			results[i].lat = time.Since(t0)
			if err != nil {
				t.Errorf("signed-%d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i].code = resp.StatusCode
		}()
		<-tick.C
	}
	tick.Stop()
	dwg.Wait()

	var lats []time.Duration
	slowest := 0
	for i, r := range results {
		if r.lat > results[slowest].lat {
			slowest = i
		}
		if r.code != http.StatusAccepted || r.lat > 2*time.Second {
			t.Errorf("signed-%d: status %d after %v (connected after %v), want 202 within 2s", i, r.code, r.lat, r.conn)
		}
		lats = append(lats, r.lat)
	}
	if n := len(q.Deliveries()); n != signed {
		t.Errorf("%d deliveries stored, want %d", n, signed)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	mu.Lock()
	sort.Slice(cutAfter, func(i, j int) bool { return cutAfter[i] < cutAfter[j] })
	t.Logf("signed deliveries: %d, latency p50 %v, max %v (signed-%d, connected after %v); body bytes held at most %.1f MiB of %d MiB declared",
		signed, lats[len(lats)/2].Round(time.Microsecond), lats[len(lats)-1].Round(time.Microsecond),
		slowest, results[slowest].conn.Round(time.Microsecond), maxHeld/(1<<20), senders*declared>>20)
	if len(cutAfter) < senders {
		t.Errorf("slow senders cut off %d times in 10 s, want each of the %d at least once", len(cutAfter), senders)
	} else {
		t.Logf("slow senders cut off %d times (statuses %v), after %v (median) to %v", len(cutAfter), cutCodes,
			cutAfter[len(cutAfter)/2].Round(time.Millisecond), cutAfter[len(cutAfter)-1].Round(time.Millisecond))
		if last := cutAfter[len(cutAfter)-1]; last > server.DefaultBodyGrace+3*time.Second {
			t.Errorf("a slow sender was cut off only after %v, want within %v of the grace period", last, 3*time.Second)
		}
	}
	if cutCodes[http.StatusRequestTimeout] != len(cutAfter) {
		t.Errorf("slow senders answered %v, want only 408", cutCodes)
	}
	mu.Unlock()
	if maxHeld > 8<<20 {
		t.Errorf("slow senders held %.1f MiB of bodies, want under 8 MiB (a first chunk each)", maxHeld/(1<<20))
	}
}

// TestBodyLimits runs single requests against short limits: a sender below
// the minimum rate is cut off after the grace period (later by the credit
// its bytes earned), one that keeps up is read to the end, and one that
// keeps up but takes longer than the body timeout is cut off then. A
// request without a signature header is refused before its body is read.
// The lower bounds are the point (an honest sender must not be cut off
// early); the upper bounds leave room for a loaded machine.
func TestBodyLimits(t *testing.T) {
	const rate, grace, timeout = 1 << 10, time.Second, 5 * time.Second
	const slack = 1500 * time.Millisecond
	tests := []struct {
		name     string
		req      rawRequest
		code     int
		reason   string
		min, max time.Duration // when the answer must come
	}{
		{
			name:   "a byte a second",
			req:    rawRequest{length: 1 << 20, sig: forgedSignature, chunk: 1, every: time.Second},
			code:   http.StatusRequestTimeout,
			reason: "too_slow",
			min:    grace, max: grace + slack,
		},
		{
			name:   "2 KiB at once, then a byte a second",
			req:    rawRequest{length: 1 << 20, sig: forgedSignature, first: 2 << 10, chunk: 1, every: time.Second},
			code:   http.StatusRequestTimeout,
			reason: "too_slow",
			// 2 KiB at 1 KiB/s buy two seconds more.
			min: grace + 2*time.Second, max: grace + 2*time.Second + slack,
		},
		{
			name:   "keeps up with 16 KiB/s to the end",
			req:    rawRequest{length: 16 << 10, sig: forgedSignature, chunk: 1 << 10, every: 62 * time.Millisecond},
			code:   http.StatusUnauthorized, // read whole, then refused for its signature
			reason: "bad_signature",
			min:    900 * time.Millisecond, max: timeout,
		},
		{
			name:   "keeps up but takes longer than the body timeout",
			req:    rawRequest{length: 1 << 20, sig: forgedSignature, chunk: 1 << 10, every: 62 * time.Millisecond},
			code:   http.StatusRequestTimeout,
			reason: "timeout",
			min:    timeout, max: timeout + slack,
		},
		{
			name:   "no signature header",
			req:    rawRequest{length: 1 << 20, chunk: 1, every: time.Second},
			code:   http.StatusUnauthorized,
			reason: "no_signature",
			max:    slack,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New()
			s, err := server.New(&server.MemQueue{}, testSecret, server.WithLogger(quiet), server.WithMetrics(m),
				server.WithBodyRate(rate, grace), server.WithBodyTimeout(timeout))
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, s)
			stop := make(chan struct{})
			time.AfterFunc(timeout+2*slack, func() { close(stop) })
			tt.req.id = "limits"
			code, after, err := tt.req.send(addr, stop)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || after < tt.min || after > tt.max {
				t.Errorf("status %d after %v, want %d between %v and %v", code, after, tt.code, tt.min, tt.max)
			}
			if got := value(m.WebhookRejected.WithLabelValues(tt.reason)); got != 1 {
				t.Errorf("tasuki_webhook_rejected_total{reason=%q} = %v, want 1", tt.reason, got)
			}
			waitFor(t, "the request's body bytes are given back", func() bool { return value(m.WebhookBodyBytes) == 0 })
		})
	}
}
