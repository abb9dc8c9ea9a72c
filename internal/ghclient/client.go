// Package ghclient makes the go-github clients tasuki talks to GitHub with:
// the App's JWT client, one cached installation client per installation, and
// the Action's token client. All share one transport that counts requests,
// watches the rate limit, retries server errors of idempotent requests and
// revalidates repeated reads with ETags.
package ghclient

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// DefaultBaseURL is github.com's REST API.
const DefaultBaseURL = "https://api.github.com/"

// Config says which App to act as and where GitHub is.
type Config struct {
	AppID         int64
	PrivateKeyPEM []byte        // the App's private key (PKCS#1 or PKCS#8 PEM)
	BaseURL       string        // REST API base; empty for github.com, "https://ghe.example.com/api/v3/" for GHES
	UserAgent     string        // default "tasuki"
	Timeout       time.Duration // per HTTP request, default 30s
}

// Option configures the clients.
type Option func(*options)

type options struct {
	metrics   *metrics.Metrics
	log       *slog.Logger
	base      http.RoundTripper
	retries   int
	backoff   time.Duration
	cacheSize int
	noETag    bool
	// WithClock, WithWriteLimit and Config.Timeout, which the transport
	// applies to each attempt: an http.Client's Timeout would also bound
	// the waits for GitHub's secondary rate limit (pacing.go).
	pace paceOptions
}

// WithMetrics records requests and rate limits in m.
func WithMetrics(m *metrics.Metrics) Option { return func(o *options) { o.metrics = m } }

// WithLogger sets the logger for retries.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithTransport sets the underlying RoundTripper (default
// http.DefaultTransport); tests pass the fake server's.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.base = rt } }

// WithRetries sets how many times a 5xx answer to an idempotent request is
// retried (default 2) and the first backoff (default 200ms, doubling).
func WithRetries(n int, backoff time.Duration) Option {
	return func(o *options) { o.retries, o.backoff = n, backoff }
}

// WithETagCache sets how many GET answers are kept for conditional requests
// (default 512); 0 disables the cache.
func WithETagCache(entries int) Option {
	return func(o *options) { o.cacheSize, o.noETag = entries, entries <= 0 }
}

func buildOptions(opts []Option) *options {
	o := &options{retries: 2, backoff: 200 * time.Millisecond, cacheSize: 512, base: http.DefaultTransport}
	for _, f := range opts {
		f(o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	return o
}

func (o *options) transport(label string, cache *etagCache) *transport {
	if o.noETag {
		cache = nil
	}
	return &transport{base: o.base, label: label, m: o.metrics, cache: cache, retries: o.retries, backoff: o.backoff, log: o.log,
		pace: newPacer(o.pace)}
}

// Clients hands out go-github clients acting as the App or one of its
// installations. It is safe for concurrent use.
type Clients struct {
	cfg   Config
	o     *options
	key   *rsa.PrivateKey
	apps  *ghinstallation.AppsTransport
	app   *github.Client
	cache *etagCache
	root  string // API base without the trailing slash

	mu    sync.Mutex
	insts map[int64]*github.Client
}

// ParsePrivateKey reads an App private key. Its errors never include the
// key's content.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("parse GitHub App private key: no PEM block found (want the .pem file GitHub generated)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k8, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse GitHub App private key: PEM block %q is neither a PKCS#1 nor a PKCS#8 RSA key", block.Type)
	}
	rk, ok := k8.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse GitHub App private key: PKCS#8 key is %T, want RSA", k8)
	}
	return rk, nil
}

func newClient(hc *http.Client, baseURL, userAgent string) (*github.Client, error) {
	c := github.NewClient(hc)
	if baseURL != "" && strings.TrimRight(baseURL, "/") != strings.TrimRight(DefaultBaseURL, "/") {
		var err error
		c, err = c.WithEnterpriseURLs(baseURL, baseURL)
		if err != nil {
			return nil, fmt.Errorf("GitHub base URL %q: %w", baseURL, err)
		}
	}
	if userAgent == "" {
		userAgent = "tasuki"
	}
	c.UserAgent = userAgent
	return c, nil
}

// New prepares the App's clients. It fails on a missing App ID or a key
// that does not parse.
func New(cfg Config, opts ...Option) (*Clients, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("GitHub App ID is required")
	}
	key, err := ParsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	o := buildOptions(opts)
	o.pace.timeout = cfg.Timeout
	cs := &Clients{cfg: cfg, o: o, key: key, insts: map[int64]*github.Client{}}
	if !o.noETag {
		cs.cache = newETagCache(o.cacheSize)
	}
	cs.apps = ghinstallation.NewAppsTransportFromPrivateKey(o.transport("app", cs.cache), cfg.AppID, key)
	cs.app, err = newClient(&http.Client{Transport: cs.apps}, cfg.BaseURL, cfg.UserAgent)
	if err != nil {
		return nil, err
	}
	// ghinstallation builds the token URL from its own base: give it the one
	// go-github settled on (which appends /api/v3/ to a bare GHES host).
	cs.root = strings.TrimRight(cs.app.BaseURL.String(), "/")
	cs.apps.BaseURL = cs.root
	return cs, nil
}

// App returns the client authenticated as the App itself (a JWT), for
// /app endpoints: installations, hook deliveries, redelivery.
func (cs *Clients) App() *github.Client { return cs.app }

// Client returns the client acting for installationID. Its token is minted
// on first use and renewed before it expires; the client is cached. When
// GitHub refuses the token because the installation was removed or is
// suspended, the client's requests fail with an error that is
// ErrInstallationGone.
func (cs *Clients) Client(_ context.Context, installationID int64) (*github.Client, error) {
	if installationID <= 0 {
		return nil, fmt.Errorf("installation client: invalid installation ID %d", installationID)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.insts[installationID]; ok {
		return c, nil
	}
	label := strconv.FormatInt(installationID, 10)
	inner := cs.o.transport(label, cs.cache)
	apps := ghinstallation.NewAppsTransportFromPrivateKey(inner, cs.cfg.AppID, cs.key)
	apps.BaseURL = cs.root
	it := ghinstallation.NewFromAppsTransport(apps, installationID)
	it.BaseURL = cs.root
	c, err := newClient(&http.Client{Transport: &goneTransport{next: it, id: installationID}}, cs.cfg.BaseURL, cs.cfg.UserAgent)
	if err != nil {
		return nil, err
	}
	cs.insts[installationID] = c
	return c, nil
}

// NewTokenClient returns a client authenticated with a token (the Action's
// GITHUB_TOKEN). baseURL is GITHUB_API_URL; empty means github.com.
func NewTokenClient(token, baseURL string, opts ...Option) (*github.Client, error) {
	if token == "" {
		return nil, errors.New("GitHub token is empty (set GITHUB_TOKEN or the github-token input)")
	}
	o := buildOptions(opts)
	var cache *etagCache
	if !o.noETag {
		cache = newETagCache(o.cacheSize)
	}
	c, err := newClient(&http.Client{Transport: o.transport("token", cache)}, baseURL, "")
	if err != nil {
		return nil, err
	}
	return c.WithAuthToken(token), nil
}
