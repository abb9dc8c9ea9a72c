package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/tfc"
)

// TestManifestMatchesHandlers holds docs/app-manifest.json to the handlers
// the App registers: it subscribes to exactly the events they handle (an
// event missing never arrives; one too many is work for nothing) and asks
// for exactly the permissions they need (one missing fails at run time;
// one too many is more than an organisation should have to grant).
func TestManifestMatchesHandlers(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "app-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Events      []string          `json:"default_events"`
		Permissions map[string]string `json:"default_permissions"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("docs/app-manifest.json: %v", err)
	}

	var events []string
	var perms []map[string]string
	for _, h := range (&featureSet{}).handlers() {
		events = append(events, h.Handles()...)
		perms = append(perms, h.Permissions())
	}
	slices.Sort(events)
	events = slices.Compact(events)
	if diff := cmp.Diff(events, sorted(manifest.Events)); diff != "" {
		t.Errorf("manifest default_events (-handled +manifest):\n%s", diff)
	}
	if diff := cmp.Diff(handler.MergePermissions(perms...), manifest.Permissions); diff != "" {
		t.Errorf("manifest default_permissions (-needed +manifest):\n%s", diff)
	}

	// The router gets exactly those events, and the run task (not a
	// GitHub event).
	router := dispatch.NewRouter(nil)
	never := func(context.Context) (*handler.Base, error) { return nil, errors.New("not needed") }
	wireFeaturesWhenReady(router, never, nil, nil, tfcSettings{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if diff := cmp.Diff(sorted(append(slices.Clone(events), tfc.EventRunTask)), sorted(router.Events())); diff != "" {
		t.Errorf("events registered on the router (-handled +registered):\n%s", diff)
	}
}

// TestHandlersSayWhatTheyHandleUnbuilt holds the handlers to the contract
// wire relies on: what a handler handles and needs is the same whether it
// was built or is nil.
func TestHandlersSayWhatTheyHandleUnbuilt(t *testing.T) {
	gh := githubtest.New(t)
	clients, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	l := &lazyFeatures{base: func(context.Context) (*handler.Base, error) { return &handler.Base{}, nil }, gh: clients}
	set, err := l.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	built, unbuilt := set.handlers(), (&featureSet{}).handlers()
	for i := range built {
		if diff := cmp.Diff(unbuilt[i].Handles(), built[i].Handles()); diff != "" {
			t.Errorf("%T handles (-nil +built):\n%s", built[i], diff)
		}
		if diff := cmp.Diff(unbuilt[i].Permissions(), built[i].Permissions()); diff != "" {
			t.Errorf("%T permissions (-nil +built):\n%s", built[i], diff)
		}
	}
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
