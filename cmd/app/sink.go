package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// testSink is the dispatcher of the crash and shutdown tests
// (TASUKI_TEST_SINK=FILE): instead of running feature handlers it appends
// "start ID" and, after TASUKI_TEST_SINK_DELAY, "done ID" lines to FILE.
// Each line is one write(2) on an O_APPEND file, so a SIGKILL leaves whole
// lines behind. Recording the same ID twice is how a re-run shows up.
type testSink struct {
	mu    sync.Mutex
	f     *os.File
	delay time.Duration
}

func newTestSink(path, delay string) (*testSink, error) {
	var d time.Duration
	if delay != "" {
		var err error
		if d, err = time.ParseDuration(delay); err != nil {
			return nil, badSetting("TASUKI_TEST_SINK_DELAY %q is not a duration", delay)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open test sink: %w", err)
	}
	return &testSink{f: f, delay: d}, nil
}

func (s *testSink) write(line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.f.WriteString(line + "\n")
	return err
}

// Dispatch records d.ID.
func (s *testSink) Dispatch(ctx context.Context, d dispatch.Delivery) error {
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
func (s *testSink) Close() error { return s.f.Close() }
