package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

var localPage = regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+)/ `)

// startSetup runs `app setup args...` and returns the local page's address
// and a channel with the exit status.
func startSetup(t *testing.T, args ...string) (string, *syncBuffer, *syncBuffer, chan int) {
	t.Helper()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(context.Background(), append([]string{"setup"}, args...), func(string) string { return "" }, stdout, stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := localPage.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stdout, stderr, exit
		}
		select {
		case code := <-exit:
			t.Fatalf("setup exited with %d before serving its page: %s", code, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("setup printed no local page: %s", stderr)
	return "", nil, nil, nil
}

var (
	formAction = regexp.MustCompile(`<form id="manifest-form" method="post" action="([^"]*)">`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
)

// readForm GETs the local page, as a browser would, and returns the form's
// action and manifest.
func readForm(t *testing.T, local string) (*url.URL, map[string]any, []byte) {
	t.Helper()
	resp, err := http.Get(local + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a, m := formAction.FindSubmatch(body), formInput.FindSubmatch(body)
	if resp.StatusCode != 200 || a == nil || m == nil {
		t.Fatalf("local page: status %d, no manifest form:\n%s", resp.StatusCode, body)
	}
	action, err := url.Parse(html.UnescapeString(string(a[1])))
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(html.UnescapeString(string(m[1])))
	var manifest map[string]any
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("manifest in the form: %v\n%s", err, raw)
	}
	return action, manifest, raw
}

func setupGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSetupManifestFlow plays the user through `app setup` against the fake
// GitHub (as GitHub Enterprise Server, whose API is HOST/api/v3/): the local
// page's form carries the manifest with this installation's addresses and a
// state; a redirect with another state is refused; GitHub's redirect with
// the code ends the command, which exchanged the code once, saved the
// credentials 0600 and printed export lines that `app serve` accepts, with
// neither the key nor the secret on any output.
func TestSetupManifestFlow(t *testing.T) {
	gh := githubtest.New(t)
	out := filepath.Join(t.TempDir(), "tasuki app.pem")
	local, stdout, stderr, exit := startSetup(t, "--url", "https://tasuki.example.com/", "--github-url", gh.HostURL(),
		"--org", "acme", "--out", out, "--timeout", "30s")

	action, manifest, raw := readForm(t, local)
	if got, want := action.Scheme+"://"+action.Host+action.Path, gh.HostURL()+"/organizations/acme/settings/apps/new"; got != want {
		t.Errorf("form posts to %s, want %s", got, want)
	}
	state := action.Query().Get("state")
	if len(state) < 32 {
		t.Errorf("state %q is too short to be unguessable", state)
	}
	hook, _ := manifest["hook_attributes"].(map[string]any)
	if got := hook["url"]; got != "https://tasuki.example.com/webhook" {
		t.Errorf("manifest hook url %v", got)
	}
	redirect, _ := manifest["redirect_url"].(string)
	if redirect != local+"/callback" {
		t.Errorf("manifest redirect_url %q, want %s/callback", redirect, local)
	}
	if manifest["default_events"] == nil || manifest["default_permissions"] == nil {
		t.Errorf("manifest lost its events or permissions: %s", raw)
	}

	// The user confirms on GitHub; GitHub redirects with a code.
	code, err := gh.CreateAppFromManifest("acme", raw)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := setupGet(t, redirect+"?"+url.Values{"code": {code}, "state": {"not-" + state}}.Encode()); status != http.StatusBadRequest {
		t.Errorf("a redirect with another state: status %d, want 400", status)
	}
	status, page := setupGet(t, redirect+"?"+url.Values{"code": {code}, "state": {state}}.Encode())
	if status != 200 {
		t.Fatalf("callback: status %d: %s", status, page)
	}
	select {
	case c := <-exit:
		if c != 0 {
			t.Fatalf("setup exited with %d: %s", c, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("setup did not finish after the callback")
	}
	if n := gh.CallCount("POST", "/app-manifests/{code}/conversions"); n != 1 {
		t.Errorf("%d conversions, want 1", n)
	}
	apps := gh.ManifestApps()
	if len(apps) != 1 {
		t.Fatalf("fake created %d Apps", len(apps))
	}
	app := apps[0]
	if app.HookURL != "https://tasuki.example.com/webhook" {
		t.Errorf("App created with hook %q", app.HookURL)
	}

	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", st.Mode().Perm())
	}
	for name, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "page": page} {
		if strings.Contains(s, app.WebhookSecret) || strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("%s shows the webhook secret or the key:\n%s", name, s)
		}
	}
	quoted := shellQuote(out)
	wantOut := "export TASUKI_GITHUB_APP_ID=" + itoa(app.ID) + "\n" +
		"export TASUKI_GITHUB_PRIVATE_KEY_FILE=" + quoted + "\n" +
		"export TASUKI_WEBHOOK_SECRET=\"$(sed -n 's/^webhook_secret=//p' " + quoted + ")\"\n" +
		"export TASUKI_GITHUB_API_URL=" + gh.URL() + "\n"
	if diff := cmp.Diff(wantOut, stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}

	// What the export lines produce is what `app serve` loads: the file
	// is the key file, and its webhook_secret line the secret.
	file, _ := os.ReadFile(out)
	secret := regexp.MustCompile(`(?m)^webhook_secret=(.*)$`).FindSubmatch(file)
	if secret == nil || string(secret[1]) != app.WebhookSecret {
		t.Fatalf("credentials file lacks the webhook secret line:\n%s", file)
	}
	env := map[string]string{"TASUKI_GITHUB_APP_ID": itoa(app.ID), "TASUKI_GITHUB_PRIVATE_KEY_FILE": out,
		"TASUKI_WEBHOOK_SECRET": string(secret[1]), "TASUKI_GITHUB_API_URL": gh.URL()}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	load := commonFlags(fs, func(k string) string { return env[k] }, need{github: true, webhook: true})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := load()
	if err != nil {
		t.Fatalf("app serve refuses what setup wrote: %v", err)
	}
	if cfg.AppID != app.ID || string(cfg.WebhookSecret) != app.WebhookSecret || !bytes.Contains(file, bytes.TrimSpace([]byte(app.PEM))) {
		t.Errorf("settings loaded from setup's output differ from the App GitHub created")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestSetupUserAccountAndTimeout: without --org the form posts to the
// user's settings on github.com, and with no redirect the command stops at
// its timeout, saying so.
func TestSetupUserAccountAndTimeout(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.pem")
	local, _, stderr, exit := startSetup(t, "--url", "https://tasuki.example.com", "--out", out, "--timeout", "300ms")
	action, _, _ := readForm(t, local)
	if got := action.Scheme + "://" + action.Host + action.Path; got != "https://github.com/settings/apps/new" {
		t.Errorf("form posts to %s", got)
	}
	select {
	case c := <-exit:
		if c != 1 || !strings.Contains(stderr.String(), "setup timed out: GitHub did not redirect back") {
			t.Errorf("exit %d, stderr:\n%s", c, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("setup did not time out")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a file was written without a callback: %v", err)
	}
}

// TestSetupRefusals: bad flags, and an existing output file without
// --force, stop the command before anything is served or created.
func TestSetupRefusals(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no url", []string{"--out", filepath.Join(dir, "a")}, "--url is not set"},
		{"http url", []string{"--url", "http://tasuki.example.com", "--out", filepath.Join(dir, "a")}, "is not an https:// address"},
		{"http github", []string{"--url", "https://t.example.com", "--github-url", "http://ghe.example.com", "--out", filepath.Join(dir, "a")}, "is not GitHub's web address"},
		{"bad org", []string{"--url", "https://t.example.com", "--org", "a/b", "--out", filepath.Join(dir, "a")}, `--org "a/b" is not an organisation name`},
		{"existing file", []string{"--url", "https://t.example.com", "--out", existing}, "exists: choose another file, or pass --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"setup"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.says)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Error("the existing file was changed")
	}
}

// TestSetupManifestIsTheDocumented keeps the manifest built into `app
// setup` equal to docs/app-manifest.json, which TestManifestMatchesHandlers
// holds to the handlers.
func TestSetupManifestIsTheDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "app-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, setupManifest) {
		t.Error("cmd/app/setup_manifest.json differs from docs/app-manifest.json: cp docs/app-manifest.json cmd/app/setup_manifest.json")
	}
}
