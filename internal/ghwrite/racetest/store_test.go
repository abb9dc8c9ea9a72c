package racetest_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/ghwrite/racetest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// The App's lock: the store's, on SQLite (a lease row), as cmd/app wires it
// into the handlers' base.
func TestOneArtefactStoreLock(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	racetest.OneArtefact(t, st)
}
