package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// setupManifest is docs/app-manifest.json (TestSetupManifestIsTheDocumented
// keeps the copy equal); setup fills in the webhook and redirect addresses.
//
//go:embed setup_manifest.json
var setupManifest []byte

// setupConfig is what `app setup` was asked for.
type setupConfig struct {
	Org     string
	URL     string // where tasuki will be served, without a trailing slash
	WebURL  string // GitHub's web address, e.g. https://github.com
	APIURL  string // GitHub's REST API base, ending in /
	Out     string
	Force   bool
	Name    string
	Timeout time.Duration
}

var orgName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// cmdSetup runs GitHub's App manifest flow: a page on 127.0.0.1 posts the
// App's manifest to GitHub, the user confirms there, GitHub redirects back
// with a code, and the code is exchanged for the App's ID, private key and
// webhook secret, saved to a file only the user can read. The secrets never
// reach stdout: the export lines read them from the file.
func cmdSetup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg setupConfig
	fs.StringVar(&cfg.Org, "org", "", "create the App in this organisation (default: your user account)")
	fs.StringVar(&cfg.URL, "url", "", "https:// address tasuki will be served at; GitHub sends webhooks to URL/webhook (required)")
	fs.StringVar(&cfg.WebURL, "github-url", "https://github.com", "GitHub's web address; GitHub Enterprise Server: https://HOST")
	fs.StringVar(&cfg.Out, "out", "tasuki-app.pem", "file to write the App's credentials to (mode 0600)")
	fs.BoolVar(&cfg.Force, "force", false, "overwrite --out if it exists")
	fs.StringVar(&cfg.Name, "name", "", "the App's name (default: the manifest's; GitHub App names are unique, and can be changed on GitHub's page)")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "how long to wait for GitHub to redirect back")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: app setup --url https://HOST [--org ORG] [--github-url https://github.com] [--out FILE] [--force]\n\n"+
			"Creates the tasuki GitHub App from its manifest: open the page it prints, confirm on GitHub,\n"+
			"and the App's ID, private key and webhook secret are saved to FILE.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"setup takes no arguments"}
	}
	if err := cfg.check(); err != nil {
		return err
	}
	return runSetup(ctx, cfg, stdout, stderr)
}

// check validates the flags and fills in the API address; the output file
// is checked here too, because the code GitHub hands back converts once: a
// file found in the way afterwards would lose the App's key.
func (c *setupConfig) check() error {
	if c.Org != "" && !orgName.MatchString(c.Org) {
		return badSetting("--org %q is not an organisation name", c.Org)
	}
	if c.URL == "" {
		return badSetting("--url is not set: set it to the https:// address tasuki will be served at, e.g. https://tasuki.example.com")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return badSetting("--url %q is not an https:// address: use e.g. https://tasuki.example.com", redact(c.URL))
	}
	c.URL = strings.TrimSuffix(u.String(), "/")

	w, err := url.Parse(c.WebURL)
	if err != nil || w.Host == "" || w.User != nil || strings.Trim(w.Path, "/") != "" || !(w.Scheme == "https" || w.Scheme == "http" && isLoopback(w.Hostname())) {
		return badSetting("--github-url %q is not GitHub's web address: use https://github.com or, for GitHub Enterprise Server, https://HOST", redact(c.WebURL))
	}
	w.Path = ""
	c.WebURL = w.String()
	if w.Host == "github.com" {
		c.APIURL = "https://api.github.com/"
	} else {
		c.APIURL = c.WebURL + "/api/v3/"
	}

	if c.Timeout <= 0 {
		return badSetting("--timeout must be positive, e.g. 10m")
	}
	abs, err := filepath.Abs(c.Out)
	if err != nil {
		return badSetting("--out %q: %v", c.Out, err)
	}
	c.Out = abs
	if _, err := os.Lstat(c.Out); err == nil && !c.Force {
		return badSetting("--out %s exists: choose another file, or pass --force to overwrite it", c.Out)
	}
	if st, err := os.Stat(filepath.Dir(c.Out)); err != nil || !st.IsDir() {
		return badSetting("--out %s: directory %s does not exist", c.Out, filepath.Dir(c.Out))
	}
	return nil
}

// isLoopback tells a host that cannot be reached over a network, where
// plain http is harmless (a test's fake GitHub, a local proxy).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setupResult is what the callback ended with.
type setupResult struct {
	app *github.AppConfig
	err error
}

func runSetup(ctx context.Context, cfg setupConfig, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1 for GitHub's redirect: %w", err)
	}
	local := "http://" + ln.Addr().String()
	state := randomHex(32)
	manifest, err := buildManifest(cfg, local+"/callback")
	if err != nil {
		_ = ln.Close()
		return err
	}
	action := cfg.WebURL + "/settings/apps/new"
	if cfg.Org != "" {
		action = cfg.WebURL + "/organizations/" + url.PathEscape(cfg.Org) + "/settings/apps/new"
	}
	action += "?state=" + url.QueryEscape(state)

	// No credentials: the code is the credential of this one request.
	gh := github.NewClient(&http.Client{Timeout: time.Minute})
	if cfg.APIURL != "https://api.github.com/" {
		if gh, err = gh.WithEnterpriseURLs(cfg.APIURL, cfg.APIURL); err != nil {
			_ = ln.Close()
			return fmt.Errorf("GitHub API address %s: %w", cfg.APIURL, err)
		}
	}

	done := make(chan setupResult, 1)
	var (
		mu       sync.Mutex // one exchange at a time, and only one
		finished bool
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = setupPage.Execute(w, map[string]string{"Action": action, "Manifest": string(manifest), "Where": where(cfg)})
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		got := r.URL.Query().Get("state")
		if subtle.ConstantTimeCompare([]byte(got), []byte(state)) != 1 {
			// Not from the page this run served: someone else's redirect,
			// or an old tab. Keep waiting for the real one.
			http.Error(w, "This redirect does not carry the state of this `app setup` run; start again from "+local+"/", http.StatusBadRequest)
			return
		}
		code := r.URL.Query().Get("code")
		if code == "" {
			http.Error(w, "GitHub sent no code; start again from "+local+"/", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if finished {
			http.Error(w, "This `app setup` run has finished already.", http.StatusConflict)
			return
		}
		finished = true
		app, _, err := gh.Apps.CompleteAppManifest(r.Context(), code)
		if err != nil {
			err = fmt.Errorf("exchange GitHub's code for the App's credentials (POST %sapp-manifests/{code}/conversions): %w", cfg.APIURL, err)
			http.Error(w, "tasuki could not fetch the App's credentials from GitHub; see the terminal.", http.StatusBadGateway)
			done <- setupResult{err: err}
			return
		}
		if err := writeCredentials(cfg, app); err != nil {
			http.Error(w, "The App was created, but its credentials could not be saved; see the terminal.", http.StatusInternalServerError)
			done <- setupResult{app: app, err: err}
			return
		}
		fmt.Fprintf(w, "GitHub App %q created; its credentials are in %s.\nInstall it: %s/installations/new\nYou can close this tab and return to the terminal.\n",
			app.GetSlug(), cfg.Out, app.GetHTMLURL())
		done <- setupResult{app: app}
	})
	srv := &http.Server{
		Handler:           hostOnly(ln.Addr().String(), mux),
		ReadHeaderTimeout: 10 * time.Second,
		// The longest request is the callback, which waits for GitHub.
		WriteTimeout: 2 * time.Minute,
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(stderr, "Open %s/ in a browser on this machine to create the tasuki GitHub App %s.\nWaiting up to %s for GitHub to redirect back...\n", local, where(cfg), cfg.Timeout)

	timer := time.NewTimer(cfg.Timeout)
	defer timer.Stop()
	var res setupResult
	select {
	case res = <-done:
	case <-timer.C:
		return fmt.Errorf("setup timed out: GitHub did not redirect back to %s/callback within %s (was the page opened and the App created?); run app setup again, with a longer --timeout if needed", local, cfg.Timeout)
	case <-ctx.Done():
		return fmt.Errorf("setup interrupted before GitHub redirected back: %w", ctx.Err())
	}
	if res.err != nil {
		if res.app != nil {
			// The code converts once: the key is gone with this process.
			return fmt.Errorf("%w\nThe App %q (ID %d) was created, but tasuki could not keep its credentials: on %s generate a private key and set a webhook secret, or delete the App and run app setup again",
				res.err, res.app.GetSlug(), res.app.GetID(), res.app.GetHTMLURL())
		}
		return res.err
	}
	app := res.app
	fmt.Fprintf(stderr, "Created GitHub App %q (ID %d): %s\nIts credentials are in %s (mode 0600); keep the file secret.\nInstall the App on your repositories: %s/installations/new\n",
		app.GetSlug(), app.GetID(), app.GetHTMLURL(), cfg.Out, app.GetHTMLURL())
	fmt.Fprintf(stdout, "export TASUKI_GITHUB_APP_ID=%d\n", app.GetID())
	fmt.Fprintf(stdout, "export TASUKI_GITHUB_PRIVATE_KEY_FILE=%s\n", shellQuote(cfg.Out))
	if app.GetWebhookSecret() != "" {
		fmt.Fprintf(stdout, "export TASUKI_WEBHOOK_SECRET=\"$(sed -n 's/^webhook_secret=//p' %s)\"\n", shellQuote(cfg.Out))
	} else {
		fmt.Fprintf(stderr, "GitHub returned no webhook secret: set one in the App's settings (%s) and export it as TASUKI_WEBHOOK_SECRET.\n", app.GetHTMLURL())
	}
	if cfg.APIURL != "https://api.github.com/" {
		fmt.Fprintf(stdout, "export TASUKI_GITHUB_API_URL=%s\n", shellQuote(cfg.APIURL))
	}
	return nil
}

// buildManifest fills the App manifest in with this installation's
// addresses.
func buildManifest(cfg setupConfig, redirect string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(setupManifest, &m); err != nil {
		return nil, fmt.Errorf("the built-in App manifest: %w", err)
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		hook = map[string]any{"active": true}
	}
	hook["url"] = cfg.URL + "/webhook"
	m["hook_attributes"] = hook
	m["redirect_url"] = redirect
	if cfg.Name != "" {
		m["name"] = cfg.Name
	}
	return json.Marshal(m)
}

// writeCredentials saves the App's ID, slug, webhook secret and key to
// cfg.Out, readable by the user alone. The PEM block comes last, after
// comment-like lines, so the file itself can be
// TASUKI_GITHUB_PRIVATE_KEY_FILE (PEM readers skip text before the block).
func writeCredentials(cfg setupConfig, app *github.AppConfig) error {
	if app.GetID() == 0 || app.GetPEM() == "" {
		return errors.New("GitHub's answer lacks the App ID or private key")
	}
	if err := checkPrivateKey([]byte(app.GetPEM())); err != nil {
		return fmt.Errorf("GitHub's answer holds no usable private key: %w", err)
	}
	if cfg.Force {
		if err := os.Remove(cfg.Out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replace %s: %w", cfg.Out, err)
		}
	}
	// O_EXCL: never write through a file or link someone put there since
	// the start.
	f, err := os.OpenFile(cfg.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save the App's credentials: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# tasuki GitHub App credentials, written by `app setup` on %s. Keep this file secret.\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# TASUKI_GITHUB_PRIVATE_KEY_FILE may name this file: the key is read from the PEM block below.\n")
	fmt.Fprintf(&b, "app_id=%d\n", app.GetID())
	fmt.Fprintf(&b, "slug=%s\n", oneLine(app.GetSlug()))
	fmt.Fprintf(&b, "html_url=%s\n", oneLine(app.GetHTMLURL()))
	fmt.Fprintf(&b, "webhook_secret=%s\n", oneLine(app.GetWebhookSecret()))
	b.WriteString(strings.TrimSpace(app.GetPEM()) + "\n")
	_, werr := io.WriteString(f, b.String())
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("save the App's credentials to %s: %w", cfg.Out, err)
	}
	return nil
}

// oneLine keeps a value GitHub sent from adding lines to the file.
func oneLine(s string) string { return strings.NewReplacer("\n", "", "\r", "").Replace(s) }

func where(cfg setupConfig) string {
	if cfg.Org != "" {
		return "in the organisation " + cfg.Org
	}
	return "in your user account"
}

// hostOnly refuses requests naming another host, so a web page cannot
// reach the local server through DNS rebinding and read the state.
func hostOnly(host string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != host {
			http.Error(w, "wrong host", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var setupPage = template.Must(template.New("setup").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>tasuki: create the GitHub App</title></head>
<body>
<h1>Create the tasuki GitHub App</h1>
<p>This sends tasuki's App manifest to GitHub, where you confirm creating the App {{.Where}}.
GitHub then returns you here, and <code>app setup</code> saves the App's credentials.</p>
<form id="manifest-form" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the App on GitHub</button>
</form>
</body></html>
`))
