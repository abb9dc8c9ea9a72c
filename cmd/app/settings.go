package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/api"
)

// settings is the process configuration, from flags and TASUKI_* variables.
// Secrets come only from the environment (or a file it names): a flag would
// show them in `ps`.
type settings struct {
	AppID         int64
	PrivateKey    []byte // PEM
	WebhookSecret []byte
	// PreviousWebhookSecret is also accepted while the webhook secret is
	// rotated (TASUKI_WEBHOOK_SECRET_PREVIOUS); nil outside a rotation.
	PreviousWebhookSecret []byte
	APIURL                string
	DatabaseURL           string
	Listen                string
	TFCHMACKey            []byte
	// TFCAddresses are the Terraform Cloud/Enterprise addresses a run task
	// may name; tasuki sends the task's token only there.
	TFCAddresses []string
	// APITokens are the bearer tokens of the metrics API
	// (TASUKI_API_TOKENS, comma-separated: several during a rotation);
	// none leaves the API off.
	APITokens []string
	// MetricsListen, when set (TASUKI_METRICS_LISTEN), serves /metrics on
	// that address and not on the webhook port.
	MetricsListen string

	ShutdownTimeout time.Duration
	JobTimeout      time.Duration
	RedeliverEvery  time.Duration
	RedeliverWindow time.Duration
	Workers         int
	LogLevel        string
}

// settingError is a start-up problem, printed as one line; the program
// exits with status 2.
type settingError struct{ msg string }

func (e *settingError) Error() string { return e.msg }

func badSetting(format string, args ...any) error {
	return &settingError{fmt.Sprintf(format, args...)}
}

// need says which groups of settings a subcommand uses, so that `app
// deliveries list` does not demand the webhook secret.
type need struct {
	github  bool // App ID, private key, API URL
	webhook bool // webhook secret, listen address
}

// commonFlags declares the flags every subcommand shares, with defaults taken
// from the environment, and returns a function that validates them.
func commonFlags(fs *flag.FlagSet, getenv func(string) string, n need) func() (*settings, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	db := fs.String("database-url", env("TASUKI_DATABASE_URL", "sqlite://tasuki.db"), "database: sqlite://PATH or postgres://USER@HOST:PORT/DB (env TASUKI_DATABASE_URL)")
	logLevel := fs.String("log-level", env("TASUKI_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env TASUKI_LOG_LEVEL)")
	var appID, keyFile, apiURL, listen, tfcAddrs, metricsListen *string
	var shutdown, jobTimeout, every, window *time.Duration
	var workers *int
	if n.github {
		appID = fs.String("app-id", getenv("TASUKI_GITHUB_APP_ID"), "GitHub App ID (env TASUKI_GITHUB_APP_ID)")
		keyFile = fs.String("private-key-file", getenv("TASUKI_GITHUB_PRIVATE_KEY_FILE"), "file holding the GitHub App private key (env TASUKI_GITHUB_PRIVATE_KEY_FILE, or the key itself in TASUKI_GITHUB_PRIVATE_KEY)")
		apiURL = fs.String("github-api-url", env("TASUKI_GITHUB_API_URL", "https://api.github.com/"), "GitHub REST API base URL; GHES: https://HOST/api/v3/ (env TASUKI_GITHUB_API_URL)")
	}
	if n.webhook {
		listen = fs.String("listen", env("TASUKI_LISTEN", ":8080"), "address to serve webhooks on (env TASUKI_LISTEN)")
		shutdown = fs.Duration("shutdown-timeout", 30*time.Second, "how long to let in-flight requests and jobs finish on SIGTERM")
		jobTimeout = fs.Duration("job-timeout", 5*time.Minute, "longest a feature handler may run for one delivery")
		every = fs.Duration("redeliver-every", 30*time.Minute, "how often to ask GitHub to redeliver failed deliveries (0 disables)")
		window = fs.Duration("redeliver-window", 24*time.Hour, "how far back to look for failed deliveries (GitHub keeps 3 days)")
		workers = fs.Int("workers", 10, "deliveries processed at once")
		metricsListen = fs.String("metrics-listen", getenv("TASUKI_METRICS_LISTEN"), "address to serve /metrics on instead of the webhook port, e.g. 127.0.0.1:9090 (env TASUKI_METRICS_LISTEN)")
		tfcAddrs = fs.String("tfc-addresses", env("TASUKI_TFC_ADDRESSES", "https://app.terraform.io"), "comma-separated Terraform Cloud/Enterprise addresses run tasks may come from (env TASUKI_TFC_ADDRESSES)")
	}

	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: app %s [flags]\n\nflags:\n", fs.Name())
		fs.PrintDefaults()
		if n.github || n.webhook {
			fmt.Fprint(out, "\nsecrets, from the environment only:\n")
		}
		if n.github {
			fmt.Fprint(out, "  TASUKI_GITHUB_PRIVATE_KEY\tthe App's private key (PEM), instead of --private-key-file\n")
		}
		if n.webhook {
			fmt.Fprint(out, "  TASUKI_WEBHOOK_SECRET\t\tthe App's webhook secret (required)\n")
			fmt.Fprint(out, "  TASUKI_WEBHOOK_SECRET_PREVIOUS\tthe secret being rotated out, also accepted until removed (optional)\n")
			fmt.Fprint(out, "  TASUKI_TFC_HMAC_KEY\t\tHMAC key of the Terraform Cloud run task (optional)\n")
			fmt.Fprint(out, "  TASUKI_API_TOKENS\t\tcomma-separated bearer tokens of GET /api/v1/metrics (optional; none: the API is off)\n")
		}
	}

	return func() (*settings, error) {
		s := &settings{DatabaseURL: *db, LogLevel: strings.ToLower(*logLevel)}
		if err := checkDatabaseURL(s.DatabaseURL); err != nil {
			return nil, err
		}
		switch s.LogLevel {
		case "debug", "info", "warn", "error":
		default:
			return nil, badSetting("TASUKI_LOG_LEVEL %q is not a log level: use debug, info, warn or error", *logLevel)
		}
		if n.github {
			if err := s.loadGitHub(*appID, *keyFile, *apiURL, getenv); err != nil {
				return nil, err
			}
		}
		if n.webhook {
			s.WebhookSecret = []byte(getenv("TASUKI_WEBHOOK_SECRET"))
			if len(s.WebhookSecret) == 0 {
				return nil, badSetting("TASUKI_WEBHOOK_SECRET is not set: set it to the webhook secret of your GitHub App")
			}
			if p := getenv("TASUKI_WEBHOOK_SECRET_PREVIOUS"); p != "" {
				s.PreviousWebhookSecret = []byte(p) // nil: only the current secret verifies
			}
			if k := getenv("TASUKI_TFC_HMAC_KEY"); k != "" {
				s.TFCHMACKey = []byte(k) // nil means the run-task endpoint stays off
			}
			s.Listen = *listen
			tokens, err := api.ParseTokens(getenv("TASUKI_API_TOKENS"))
			if err != nil {
				return nil, badSetting("%v", err)
			}
			s.APITokens = tokens
			if s.MetricsListen = *metricsListen; s.MetricsListen != "" {
				if _, port, err := net.SplitHostPort(s.MetricsListen); err != nil || port == "" {
					return nil, badSetting("TASUKI_METRICS_LISTEN %q is not a listen address: use HOST:PORT or :PORT, e.g. 127.0.0.1:9090", s.MetricsListen)
				}
				if s.MetricsListen == s.Listen {
					return nil, badSetting("TASUKI_METRICS_LISTEN %q is the webhook address (TASUKI_LISTEN): give /metrics an address of its own, or unset it", s.MetricsListen)
				}
			}
			s.TFCAddresses = splitList(*tfcAddrs)
			for _, a := range s.TFCAddresses {
				if u, err := url.Parse(a); err != nil || u.Scheme != "https" || u.Host == "" {
					return nil, badSetting("TASUKI_TFC_ADDRESSES: %q is not an https:// address, e.g. https://app.terraform.io", a)
				}
			}
			if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
				return nil, badSetting("TASUKI_LISTEN %q is not a listen address: use HOST:PORT or :PORT, e.g. :8080", s.Listen)
			}
			s.ShutdownTimeout, s.JobTimeout, s.RedeliverEvery, s.RedeliverWindow, s.Workers = *shutdown, *jobTimeout, *every, *window, *workers
			if s.ShutdownTimeout <= 0 {
				return nil, badSetting("--shutdown-timeout must be positive, e.g. 30s")
			}
			if s.JobTimeout <= 0 {
				return nil, badSetting("--job-timeout must be positive, e.g. 5m")
			}
			if s.RedeliverEvery != 0 && s.RedeliverEvery < time.Second || s.RedeliverWindow <= 0 {
				return nil, badSetting("--redeliver-every must be 0 (off) or at least 1s, and --redeliver-window positive, e.g. 30m and 24h")
			}
			if s.Workers < 1 {
				return nil, badSetting("--workers must be at least 1")
			}
		}
		return s, nil
	}
}

func (s *settings) loadGitHub(appID, keyFile, apiURL string, getenv func(string) string) error {
	if appID == "" {
		return badSetting("TASUKI_GITHUB_APP_ID is not set: set it to the App ID shown on your GitHub App's settings page")
	}
	id, err := strconv.ParseInt(appID, 10, 64)
	if err != nil || id <= 0 {
		return badSetting("TASUKI_GITHUB_APP_ID %q is not an App ID: use the number shown on your GitHub App's settings page", appID)
	}
	s.AppID = id

	inline := getenv("TASUKI_GITHUB_PRIVATE_KEY")
	switch {
	case inline != "" && keyFile != "":
		return badSetting("both TASUKI_GITHUB_PRIVATE_KEY and TASUKI_GITHUB_PRIVATE_KEY_FILE are set: keep one")
	case inline != "":
		// Many secret stores flatten newlines to a literal \n.
		s.PrivateKey = []byte(strings.ReplaceAll(inline, `\n`, "\n"))
		if err := checkPrivateKey(s.PrivateKey); err != nil {
			return badSetting("TASUKI_GITHUB_PRIVATE_KEY is not a usable private key (%v): set it to the PEM file GitHub generated for your App", err)
		}
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return badSetting("TASUKI_GITHUB_PRIVATE_KEY_FILE: cannot read %s: %v", keyFile, errors.Unwrap(err))
		}
		if err := checkPrivateKey(b); err != nil {
			return badSetting("TASUKI_GITHUB_PRIVATE_KEY_FILE %s is not a usable private key (%v): point it at the PEM file GitHub generated for your App", keyFile, err)
		}
		s.PrivateKey = b
	default:
		return badSetting("TASUKI_GITHUB_PRIVATE_KEY_FILE is not set: set it to the path of your GitHub App's private key (.pem), or put the key in TASUKI_GITHUB_PRIVATE_KEY")
	}

	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		if u != nil && u.User != nil {
			// A token may sit in the user name alone; hide all of it.
			v := *u
			v.User = url.User("REDACTED")
			return badSetting("TASUKI_GITHUB_API_URL must not carry credentials (%s): the App authenticates with its key", v.String())
		}
		return badSetting("TASUKI_GITHUB_API_URL %q is not an http(s) URL: use https://api.github.com/ or, for GitHub Enterprise Server, https://HOST/api/v3/", redact(apiURL))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	s.APIURL = u.String()
	return nil
}

// checkPrivateKey tells whether b holds an RSA private key in PEM, saying
// what is wrong without repeating any of it.
func checkPrivateKey(b []byte) error {
	block, _ := pem.Decode(b)
	if block == nil {
		return errors.New("no PEM block found")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("PEM block %q is not an RSA private key", block.Type)
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return errors.New("the key is not an RSA key")
	}
	return nil
}

func checkDatabaseURL(u string) error {
	switch {
	case strings.HasPrefix(u, "sqlite:") && len(u) > len("sqlite://"):
		return nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			return nil
		}
	}
	return badSetting("TASUKI_DATABASE_URL %q is not a database URL: use sqlite://PATH (e.g. sqlite://tasuki.db) or postgres://USER:PASSWORD@HOST:5432/DB", redact(u))
}

// redact hides the password of a URL before it is printed.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if i := strings.Index(u, "://"); i >= 0 && i < at {
				return u[:i+3] + "REDACTED" + u[at:]
			}
		}
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "REDACTED")
	}
	return p.String()
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
