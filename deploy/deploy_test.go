package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// manifests is every object of a folder, decoded strictly.
type manifests struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	accounts    []*corev1.ServiceAccount
	pdbs        []*policyv1.PodDisruptionBudget
	ingresses   []*networkingv1.Ingress
}

// decodeStrict decodes one YAML document into the type its apiVersion and
// kind name; an unknown field, a wrong type or a bad quantity is an error.
func (m *manifests) decodeStrict(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(v any) error { return yaml.UnmarshalStrict(doc, v) }
	var err error
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		v := new(appsv1.Deployment)
		err = strict(v)
		m.deployments = append(m.deployments, v)
	case "batch/v1 Job":
		v := new(batchv1.Job)
		err = strict(v)
		m.jobs = append(m.jobs, v)
	case "v1 Service":
		v := new(corev1.Service)
		err = strict(v)
		m.services = append(m.services, v)
	case "v1 ConfigMap":
		v := new(corev1.ConfigMap)
		err = strict(v)
		m.configMaps = append(m.configMaps, v)
	case "v1 Secret":
		v := new(corev1.Secret)
		err = strict(v)
		m.secrets = append(m.secrets, v)
	case "v1 ServiceAccount":
		v := new(corev1.ServiceAccount)
		err = strict(v)
		m.accounts = append(m.accounts, v)
	case "policy/v1 PodDisruptionBudget":
		v := new(policyv1.PodDisruptionBudget)
		err = strict(v)
		m.pdbs = append(m.pdbs, v)
	case "networking.k8s.io/v1 Ingress":
		v := new(networkingv1.Ingress)
		err = strict(v)
		m.ingresses = append(m.ingresses, v)
	default:
		return fmt.Errorf("apiVersion %q kind %q is not one this test knows", tm.APIVersion, tm.Kind)
	}
	return err
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func load(t *testing.T, dir string) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	m := &manifests{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := m.decodeStrict([]byte(doc)); err != nil {
				t.Errorf("%s (document %d): %v", p, i+1, err)
			}
		}
	}
	return m
}

func one[T any](t *testing.T, what string, xs []T) T {
	t.Helper()
	if len(xs) != 1 {
		t.Fatalf("%d %s, want 1", len(xs), what)
	}
	return xs[0]
}

func readVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("VERSION %q is not vMAJOR.MINOR.PATCH", v)
	}
	return v
}

// settingsVars are the TASUKI_* variables cmd/app reads (by their quoted
// names in its source), so a manifest cannot set one the server ignores.
func settingsVars(t *testing.T) map[string]bool {
	t.Helper()
	paths, _ := filepath.Glob("../cmd/app/*.go")
	vars := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(TASUKI_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
			vars[m[1]] = true
		}
	}
	if len(vars) == 0 {
		t.Fatal("found no TASUKI_ variables in cmd/app")
	}
	return vars
}

func TestManifests(t *testing.T) {
	m := load(t, "kubernetes")
	ex := load(t, "examples")
	version := readVersion(t)
	image := "ghcr.io/tasuki-sre/tasuki:" + version

	dep := one(t, "Deployments", m.deployments)
	job := one(t, "Jobs", m.jobs)
	svc := one(t, "Services", m.services)
	cm := one(t, "ConfigMaps", m.configMaps)
	pdb := one(t, "PodDisruptionBudgets", m.pdbs)
	sa := one(t, "ServiceAccounts", m.accounts)
	secret := one(t, "example Secrets", ex.secrets)
	ing := one(t, "example Ingresses", ex.ingresses)
	if len(m.secrets) > 0 {
		t.Error("deploy/kubernetes holds a Secret: secrets are the operator's, the manifests only refer to them")
	}

	// Names Kubernetes accepts.
	for _, o := range []metav1.Object{dep, job, svc, cm, pdb, sa, secret, ing} {
		for _, e := range validation.IsDNS1123Subdomain(o.GetName()) {
			t.Errorf("%s: %s", o.GetName(), e)
		}
	}

	pods := labels.Set(dep.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || !sel.Matches(pods) {
		t.Errorf("Deployment selector %v does not select its own pods %v (%v)", dep.Spec.Selector, pods, err)
	}
	if r := dep.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("Deployment replicas %v, want at least 2", r)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(pods) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pods)
	}
	pdbSel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !pdbSel.Matches(pods) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods %v", pdb.Spec.Selector, pods)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || int32(pdb.Spec.MinAvailable.IntValue()) >= *dep.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v: want at least 1 and fewer than the %d replicas, so nodes can drain", pdb.Spec.MinAvailable, *dep.Spec.Replicas)
	}
	if jl := labels.Set(job.Spec.Template.Labels); svc != nil && labels.SelectorFromSet(svc.Spec.Selector).Matches(jl) {
		t.Error("the Service selects the migration Job's pod")
	}
	if pdbSel.Matches(labels.Set(job.Spec.Template.Labels)) {
		t.Error("the PodDisruptionBudget counts the migration Job's pod")
	}

	// The migration Job: once per release, same image as the server.
	if want := "tasuki-migrate-" + strings.ReplaceAll(strings.ReplaceAll(version, ".", "-"), "+", "-"); job.Name != want {
		t.Errorf("Job name %q, want %q: a new release must create a new Job", job.Name, want)
	}
	mig := one(t, "Job containers", job.Spec.Template.Spec.Containers)
	if !slices.Equal(mig.Args, []string{"migrate"}) {
		t.Errorf("Job args %q, want [migrate]", mig.Args)
	}
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		t.Errorf("Job restartPolicy %q", rp)
	}

	srv := one(t, "Deployment containers", dep.Spec.Template.Spec.Containers)
	if !slices.Equal(srv.Args, []string{"serve"}) {
		t.Errorf("server args %q, want [serve]", srv.Args)
	}
	for _, c := range []corev1.Container{srv, mig} {
		if c.Image != image {
			t.Errorf("container %s image %q, want %q (VERSION)", c.Name, c.Image, image)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("container %s has no CPU and memory requests", c.Name)
		}
		for _, e := range validation.IsDNS1123Label(c.Name) {
			t.Errorf("container %s: %s", c.Name, e)
		}
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: want allowPrivilegeEscalation false and a read-only root filesystem", c.Name)
		}
	}
	dockerUser := dockerfileUser(t)
	for name, ps := range map[string]corev1.PodSpec{"Deployment": dep.Spec.Template.Spec, "Job": job.Spec.Template.Spec} {
		sc := ps.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || fmt.Sprint(*sc.RunAsUser) != dockerUser {
			t.Errorf("%s pods: want runAsNonRoot and runAsUser %s (the Dockerfile's USER)", name, dockerUser)
		}
		if ps.ServiceAccountName != sa.Name || ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
			t.Errorf("%s pods: want service account %s without a mounted token", name, sa.Name)
		}
	}
	// SIGTERM lets running jobs finish for --shutdown-timeout (30s) first.
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want more than the 30s shutdown timeout", g)
	}

	// Ports and probes answer on the server's own handler.
	port := map[string]int32{}
	for _, p := range srv.Ports {
		port[p.Name] = p.ContainerPort
		for _, e := range validation.IsValidPortName(p.Name) {
			t.Errorf("port %s: %s", p.Name, e)
		}
	}
	if cm.Data["TASUKI_LISTEN"] != fmt.Sprintf(":%d", port["http"]) {
		t.Errorf("TASUKI_LISTEN %q does not match the container port %d", cm.Data["TASUKI_LISTEN"], port["http"])
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := port[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s targets %q, which the container does not declare", p.Name, p.TargetPort.String())
		}
	}
	probes := map[string]*corev1.Probe{"startup": srv.StartupProbe, "liveness": srv.LivenessProbe, "readiness": srv.ReadinessProbe}
	h := serverHandler(t)
	for kind, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no %s probe over HTTP", kind)
			continue
		}
		if _, ok := port[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s probe port %q is not a container port", kind, p.HTTPGet.Port.String())
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.HTTPGet.Path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s probe GET %s answers %d on a healthy server", kind, p.HTTPGet.Path, rec.Code)
		}
	}
	if srv.ReadinessProbe != nil && srv.ReadinessProbe.HTTPGet != nil && srv.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %s, want /readyz (the one that checks the database)", srv.ReadinessProbe.HTTPGet.Path)
	}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		if p.Path != "/webhook" {
			t.Errorf("the example Ingress exposes %s; only /webhook is for GitHub", p.Path)
		}
	}

	// Every variable set is one the App reads; secrets come from the Secret.
	known := settingsVars(t)
	for k := range cm.Data {
		if !known[k] {
			t.Errorf("ConfigMap sets %s, which cmd/app does not read", k)
		}
		if regexp.MustCompile(`SECRET|KEY|PASSWORD|TOKEN|DATABASE_URL`).MatchString(k) {
			t.Errorf("ConfigMap holds %s: secrets belong in the Secret", k)
		}
	}
	refs := map[string]corev1.SecretKeySelector{}
	for _, c := range []corev1.Container{srv, mig} {
		for _, e := range c.Env {
			if !known[e.Name] {
				t.Errorf("container %s sets %s, which cmd/app does not read", c.Name, e.Name)
			}
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("container %s: %s is not taken from a Secret", c.Name, e.Name)
				continue
			}
			r := *e.ValueFrom.SecretKeyRef
			if prev, ok := refs[e.Name]; ok && (prev.Name != r.Name || prev.Key != r.Key) {
				t.Errorf("%s comes from %s/%s in one container and %s/%s in another", e.Name, prev.Name, prev.Key, r.Name, r.Key)
			}
			refs[e.Name] = r
		}
	}
	for _, want := range []string{"TASUKI_DATABASE_URL", "TASUKI_GITHUB_PRIVATE_KEY", "TASUKI_WEBHOOK_SECRET", "TASUKI_WEBHOOK_SECRET_PREVIOUS"} {
		if _, ok := refs[want]; !ok {
			t.Errorf("%s is not taken from the Secret", want)
		}
	}
	exampleKeys := secretKeys(secret)
	var missing []string
	for name, r := range refs {
		if r.Name != secret.Name {
			t.Errorf("%s refers to Secret %q; the example is %q", name, r.Name, secret.Name)
		}
		optional := r.Optional != nil && *r.Optional
		if !optional && !exampleKeys[r.Key] {
			missing = append(missing, r.Key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the example Secret lacks the required keys %v", missing)
	}
	if u := secret.StringData["database-url"]; !strings.HasPrefix(u, "postgres://") {
		t.Errorf("example database-url %q: replicas share PostgreSQL, not SQLite", u)
	}
}

// secretKeys are the keys an example Secret sets.
func secretKeys(s *corev1.Secret) map[string]bool {
	keys := map[string]bool{}
	for k := range s.StringData {
		keys[k] = true
	}
	for k := range s.Data {
		keys[k] = true
	}
	return keys
}

// dockerfileUser is the numeric USER of the Dockerfile's final stage.
func dockerfileUser(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ms := regexp.MustCompile(`(?m)^USER\s+(\d+)(?::\d+)?\s*$`).FindAllStringSubmatch(string(b), -1)
	if len(ms) == 0 {
		t.Fatal("the Dockerfile sets no numeric USER")
	}
	return ms[len(ms)-1][1]
}

// serverHandler is the App's HTTP handler on a real (in-memory SQLite)
// store, as `app serve` builds it, for the probes to be asked.
func serverHandler(t *testing.T) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(context.Background(), "sqlite::memory:", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := server.New(st, []byte("secret"), server.WithLogger(log), server.WithPinger(st))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Decoding is strict: a misspelt field is an error, not silently dropped.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"misspelt field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n", `unknown field "selectr"`},
		{"bad quantity", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: c, resources: {requests: {cpu: lots}}}]\n", "quantities must match"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "not one this test knows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&manifests{}).decodeStrict([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
