package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// appEnv is the environment of an App whose GitHub is gh and whose database
// is a fresh SQLite file.
func appEnv(t *testing.T, gh *githubtest.Server) (map[string]string, string) {
	t.Helper()
	db := "sqlite://" + filepath.Join(t.TempDir(), "tasuki.db")
	return map[string]string{
		"TASUKI_GITHUB_APP_ID":           "1",
		"TASUKI_GITHUB_PRIVATE_KEY_FILE": writeFile(t, "app.pem", githubtest.AppKey()),
		"TASUKI_GITHUB_API_URL":          gh.URL(),
		"TASUKI_WEBHOOK_SECRET":          "s3cr3t-webhook",
		"TASUKI_DATABASE_URL":            db,
		"TASUKI_LOG_LEVEL":               "error",
	}, db
}

func runApp(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &o, &e)
	return code, o.String(), e.String()
}

func TestRedeliverCommand(t *testing.T) {
	gh := githubtest.New(t)
	env, db := appEnv(t, gh)
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	failed := gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("guid-lost"), StatusCode: github.Int(502),
		Event: github.String("issues"), Action: github.String("labeled"), DeliveredAt: &github.Timestamp{Time: at}})
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("guid-stored"), StatusCode: github.Int(0),
		Event: github.String("pull_request"), Action: github.String("opened"), DeliveredAt: &github.Timestamp{Time: at}})
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("guid-ok"), StatusCode: github.Int(202),
		Event: github.String("push"), DeliveredAt: &github.Timestamp{Time: at}})

	st, err := store.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Enqueue(context.Background(), dispatch.Delivery{ID: "guid-stored", Event: "pull_request", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	when := at.Format(time.RFC3339)
	code, out, errOut := runApp(t, env, "redeliver", "--dry-run", "--since", "24h")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	if diff := cmp.Diff("would redeliver guid-lost issues.labeled (GitHub got 502 at "+when+")\n", out); diff != "" {
		t.Errorf("dry run output (-want +got):\n%s", diff)
	}
	if got := gh.Redelivered(); len(got) != 0 {
		t.Errorf("dry run asked GitHub to redeliver %v", got)
	}

	code, out, errOut = runApp(t, env, "redeliver", "--since", "24h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if diff := cmp.Diff("redelivered guid-lost issues.labeled (GitHub got 502 at "+when+")\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{failed.GetID()}, gh.Redelivered()); diff != "" {
		t.Errorf("redelivered (-want +got):\n%s", diff)
	}

	code, out, _ = runApp(t, env, "redeliver", "--since", "1h")
	if code != 0 || !strings.HasPrefix(out, "no failed deliveries missing from the store since ") {
		t.Errorf("window without failures: exit %d, output %q", code, out)
	}
}

func TestServeRefusesAWrongKey(t *testing.T) {
	gh := githubtest.New(t)
	env, _ := appEnv(t, gh)
	env["TASUKI_GITHUB_PRIVATE_KEY_FILE"] = writeFile(t, "other.pem", testKey(t)) // not the App's key
	code, _, errOut := runApp(t, env, "serve")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := "tasuki: GitHub refused the App's token (401 on GET /app): check that TASUKI_GITHUB_APP_ID matches the private key\n"
	if diff := cmp.Diff(want, errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestDeliveriesCommands(t *testing.T) {
	gh := githubtest.New(t)
	env, db := appEnv(t, gh)
	st, err := store.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []string{"issues", "pull_request", "push"} {
		d := dispatch.Delivery{ID: fmt.Sprintf("d-%d", i), Event: ev, Action: "opened", Repository: "acme/api", Payload: []byte(`{}`)}
		if ev == "push" {
			d.Action, d.Repository = "", ""
		}
		if _, err := st.Enqueue(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	code, out, errOut := runApp(t, env, "deliveries", "list", "--format", "json", "--limit", "2")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	var rows []store.DeliveryRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("list json: %v\n%s", err, out)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.ID+" "+r.Event+" "+r.State)
	}
	if diff := cmp.Diff([]string{"d-2 push pending", "d-1 pull_request pending"}, got); diff != "" {
		t.Errorf("list --limit 2, newest first (-want +got):\n%s", diff)
	}

	code, out, _ = runApp(t, env, "deliveries", "list", "--state", "pending")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "push") || !strings.Contains(lines[3], "issues.opened") || !strings.Contains(lines[3], "acme/api") {
		t.Errorf("table: exit %d\n%s", code, out)
	}

	code, out, _ = runApp(t, env, "deliveries", "list", "--state", "failed")
	if code != 0 || out != "no deliveries\n" {
		t.Errorf("no failed deliveries: exit %d, %q", code, out)
	}

	code, out, _ = runApp(t, env, "deliveries", "retry", "d-0")
	if code != 0 || out != "delivery d-0 queued to run again\n" {
		t.Errorf("retry: exit %d, %q", code, out)
	}
	code, _, errOut = runApp(t, env, "deliveries", "retry", "nope")
	if code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("retry of an unknown delivery: exit %d, %q", code, errOut)
	}
}

func TestReplayAndMigrate(t *testing.T) {
	env := map[string]string{"TASUKI_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "tasuki.db"), "TASUKI_LOG_LEVEL": "error"}
	code, out, errOut := runApp(t, env, "migrate")
	if code != 0 || out != "database "+env["TASUKI_DATABASE_URL"]+" is up to date\n" {
		t.Fatalf("migrate: exit %d, %q %q", code, out, errOut)
	}

	pr := filepath.Join(testenv.Fixtures(t, "webhooks"), "pull_request.opened.1.json")
	code, out, errOut = runApp(t, env, "replay", pr, "--event", "pull_request", "--id", "r-1")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	var m struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	b, err := os.ReadFile(pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := "stored delivery r-1 (pull_request.opened on " + m.Repository.FullName + "); the server's workers will process it\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("replay output (-want +got):\n%s", diff)
	}
	code, out, _ = runApp(t, env, "replay", "--event", "pull_request", "--id", "r-1", pr)
	if code != 0 || out != "delivery r-1 is already stored; use 'app deliveries retry r-1' to run it again\n" {
		t.Errorf("second replay: exit %d, %q", code, out)
	}
	code, out, _ = runApp(t, env, "deliveries", "list", "--format", "json")
	var rows []store.DeliveryRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("deliveries list: %v\n%s", err, out)
	}
	if code != 0 || len(rows) != 1 || rows[0].ID != "r-1" || rows[0].Action != "opened" || rows[0].State != "pending" {
		t.Errorf("after replay: %d rows: %+v", len(rows), rows)
	}

	bad := writeFile(t, "bad.json", []byte("not json"))
	code, _, errOut = runApp(t, env, "replay", bad, "--event", "push")
	if code != 2 || !strings.HasPrefix(errOut, "tasuki: "+bad+": body is not a JSON object") {
		t.Errorf("bad payload: exit %d, %q", code, errOut)
	}
	code, _, errOut = runApp(t, env, "replay", pr)
	if code != 2 || errOut != "tasuki: replay needs --event, the payload's event name (e.g. pull_request)\n" {
		t.Errorf("no --event: exit %d, %q", code, errOut)
	}
}

func TestDeliveriesListPages(t *testing.T) {
	gh := githubtest.New(t)
	env, db := appEnv(t, gh)
	st, err := store.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := st.Enqueue(context.Background(), dispatch.Delivery{ID: fmt.Sprintf("d-%d", i), Event: "push", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	ids := func(out string) []string {
		var rows []store.DeliveryRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.ID)
		}
		return got
	}

	code, out, errOut := runApp(t, env, "deliveries", "list", "--limit", "2")
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	cursor, ok := strings.CutPrefix(last, "more deliveries: run again with --cursor ")
	cursor, _, _ = strings.Cut(cursor, ",")
	if code != 0 || !ok {
		t.Fatalf("first page: exit %d, last line %q, stderr %q", code, last, errOut)
	}
	code, out, errOut = runApp(t, env, "deliveries", "list", "--limit", "2", "--cursor", cursor, "--format", "json")
	if diff := cmp.Diff([]string{"d-2", "d-1"}, ids(out)); code != 0 || diff != "" {
		t.Errorf("second page: exit %d (-want +got):\n%s", code, diff)
	}
	if !strings.HasPrefix(errOut, "more deliveries: run again with --cursor ") {
		t.Errorf("second page in JSON: stderr %q, want the next cursor", errOut)
	}
	code, out, errOut = runApp(t, env, "deliveries", "list", "--all", "--format", "json")
	if diff := cmp.Diff([]string{"d-4", "d-3", "d-2", "d-1", "d-0"}, ids(out)); code != 0 || diff != "" || errOut != "" {
		t.Errorf("--all: exit %d, stderr %q (-want +got):\n%s", code, errOut, diff)
	}
	code, _, errOut = runApp(t, env, "deliveries", "list", "--cursor", "x")
	if code != 2 || errOut != "tasuki: --cursor \"x\" is not one this command printed\n" {
		t.Errorf("bad cursor: exit %d, %q", code, errOut)
	}
}

func TestDeliveriesOnAnUnmigratedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasuki.db")
	env := map[string]string{"TASUKI_DATABASE_URL": "sqlite://" + path, "TASUKI_LOG_LEVEL": "error"}
	for _, args := range [][]string{{"deliveries", "list"}, {"deliveries", "retry", "d-1"}} {
		code, out, errOut := runApp(t, env, args...)
		want := "tasuki: database sqlite " + path + " does not exist, so it has no tasuki tables; run `app migrate` first\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, out, errOut, want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("deliveries created %s (%v)", path, err)
	}
}

// TestHelpOfEveryCommand holds every command and subcommand to answering
// -h and --help with its usage, arguments included, on stdout and exit 0.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the usage
	}{
		{[]string{}, "usage: app COMMAND"},
		{[]string{"help"}, "usage: app COMMAND"},
		{[]string{"serve"}, "usage: app serve [flags]"},
		{[]string{"deliveries"}, "app deliveries retry DELIVERY_ID"},
		{[]string{"deliveries", "list"}, "usage: app deliveries list [--state S]"},
		{[]string{"deliveries", "retry"}, "usage: app deliveries retry DELIVERY_ID"},
		{[]string{"redeliver"}, "usage: app redeliver [flags]"},
		{[]string{"replay"}, "usage: app replay FILE --event EVENT"},
		{[]string{"migrate"}, "usage: app migrate [flags]"},
		{[]string{"demo"}, "demo"},
	} {
		for _, h := range []string{"-h", "--help"} {
			args := append(tc.args[:len(tc.args):len(tc.args)], h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runApp(t, map[string]string{}, args...)
				if code != 0 || !strings.Contains(out, tc.want) || errOut != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and usage with %q on stdout", code, out, errOut, tc.want)
				}
			})
		}
	}
}
