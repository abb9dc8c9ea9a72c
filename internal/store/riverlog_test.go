package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// River logs its services' context cancellation at ERROR when the workers
// stop; an operator sending SIGTERM must not see an ERROR line for it. Any
// other error still shows.
func TestRiverLoggerDropsCancellation(t *testing.T) {
	var buf bytes.Buffer
	log := riverLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	log.Error("maintenance.PeriodicJobEnqueuer: Error starting transaction", "error", fmt.Errorf("begin: %w", context.Canceled))
	if buf.Len() != 0 {
		t.Errorf("cancellation logged:\n%s", buf.String())
	}
	log.Error("producer: Error fetching jobs", "error", errors.New("database is locked"))
	if !strings.Contains(buf.String(), "database is locked") || !strings.Contains(buf.String(), "component=river") {
		t.Errorf("a real error was not logged:\n%s", buf.String())
	}
	log.Info("chatter")
	if strings.Contains(buf.String(), "chatter") {
		t.Errorf("River's info records are shown:\n%s", buf.String())
	}
}
