package githubtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// manifestApp is an App a user created from a manifest on GitHub's web
// page, waiting for the App's creator to fetch its credentials.
type manifestApp struct {
	manifest struct {
		Name           string            `json:"name"`
		URL            string            `json:"url"`
		Description    string            `json:"description"`
		Permissions    map[string]string `json:"default_permissions"`
		Events         []string          `json:"default_events"`
		HookAttributes *struct {
			URL string `json:"url"`
		} `json:"hook_attributes"`
	}
	owner   string
	created time.Time
}

// manifestState holds the manifest codes not yet converted and the Apps
// created so far.
type manifestState struct {
	codes map[string]*manifestApp
	apps  []ManifestApp
}

// ManifestApp is what the fake answered for a manifest conversion, so a
// test can compare it with what the client kept.
type ManifestApp struct {
	ID            int64
	Slug          string
	WebhookSecret string
	PEM           string
	HookURL       string
}

// CreateAppFromManifest plays the user submitting manifest (the JSON a
// page posts to https://github.com/settings/apps/new) and confirming on
// GitHub's page: it returns the temporary code GitHub hands the
// redirect_url, which POST /app-manifests/{code}/conversions exchanges,
// once and within an hour, for the App's credentials. owner is the user or
// organisation creating the App.
func (s *Server) CreateAppFromManifest(owner string, manifest []byte) (string, error) {
	var m manifestApp
	if err := json.Unmarshal(manifest, &m.manifest); err != nil {
		return "", fmt.Errorf("githubtest: manifest: %w", err)
	}
	if m.manifest.URL == "" {
		return "", fmt.Errorf("githubtest: manifest lacks url, which GitHub requires")
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	code := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.owner, m.created = owner, time.Now().UTC()
	if s.manifests.codes == nil {
		s.manifests.codes = map[string]*manifestApp{}
	}
	s.manifests.codes[code] = &m
	return code, nil
}

// ManifestApps returns the Apps created by manifest conversions, in order.
func (s *Server) ManifestApps() []ManifestApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ManifestApp(nil), s.manifests.apps...)
}

// manifestAuthFree tells the operations GitHub serves without credentials:
// the manifest conversion is how an App gets its first credentials.
func manifestAuthFree(tmpl string) bool { return tmpl == "/app-manifests/{code}/conversions" }

func (s *Server) convertManifest(rc *reqCtx) {
	m := s.manifests.codes[rc.p("code")]
	if m == nil || time.Since(m.created) > time.Hour {
		rc.notFound()
		return
	}
	delete(s.manifests.codes, rc.p("code")) // a code converts once
	id := s.st.nextID()
	slug := strings.ToLower(strings.NewReplacer(" ", "-").Replace(m.manifest.Name))
	if slug == "" {
		slug = fmt.Sprintf("app-%d", id)
	}
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	secret := hex.EncodeToString(b)
	hook := ""
	if m.manifest.HookAttributes != nil {
		hook = m.manifest.HookAttributes.URL
	}
	// The fake has one App key; JWTs signed with it are accepted for
	// WithAppID(id) servers.
	pemKey := string(AppKey())
	s.manifests.apps = append(s.manifests.apps, ManifestApp{ID: id, Slug: slug, WebhookSecret: secret, PEM: pemKey, HookURL: hook})

	app := &github.App{ID: github.Int64(id), Slug: github.String(slug), NodeID: github.String(fmt.Sprintf("A_%d", id)),
		Owner: s.st.user(m.owner), Name: github.String(m.manifest.Name), Description: github.String(m.manifest.Description),
		ExternalURL: github.String(m.manifest.URL), HTMLURL: github.String(s.ts.URL + "/apps/" + slug),
		CreatedAt: ts(m.created), UpdatedAt: ts(m.created), Events: nonNil(m.manifest.Events)}
	raw, _ := json.Marshal(app)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	perms := map[string]any{}
	for k, v := range m.manifest.Permissions {
		perms[k] = v
	}
	out["permissions"] = perms
	out["client_id"] = fmt.Sprintf("Iv1.%016x", id)
	out["client_secret"] = hex.EncodeToString(b[:10]) + "c"
	out["webhook_secret"] = secret
	out["pem"] = pemKey
	rc.json(201, out)
}
