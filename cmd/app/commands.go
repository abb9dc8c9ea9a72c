package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// openStoreAndGitHub loads the settings (load, from commonFlags), opens the store (already
// migrated) and connects to GitHub as the App, for the commands that need
// both; the logger writes to stderr at the configured level. The caller
// closes the store.
func openStoreAndGitHub(ctx context.Context, load func() (*settings, error), stderr io.Writer) (*store.Store, *ghclient.Clients, *slog.Logger, error) {
	cfg, err := load()
	if err != nil {
		return nil, nil, nil, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := store.Open(ctx, cfg.DatabaseURL, log, store.RequireSchema())
	if err != nil {
		return nil, nil, nil, err
	}
	gh, err := newGitHub(cfg, nil, log)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, gh, log, nil
}

// parseFlags parses args, turning -h into errHelp and a flag mistake into a
// usageError (the flag package has printed the details and the defaults).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return &usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{})
	fs.Usage = usageFunc(fs, "app migrate [flags]", "Creates or updates the database schema (River's tables and tasuki's).")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"migrate takes no arguments"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel), store.WithoutMigrate())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is up to date\n", redact(cfg.DatabaseURL))
	return nil
}

const deliveriesUsage = `usage: app deliveries list [flags]
       app deliveries retry DELIVERY_ID [flags]

Run 'app deliveries list -h' or 'app deliveries retry -h' for the flags.
`

func cmdDeliveries(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"deliveries needs a subcommand: list or retry"}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, deliveriesUsage)
		return errHelp
	}
	fs := flag.NewFlagSet("deliveries "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{})
	var state, format, cursor *string
	var limit *int
	var all *bool
	switch sub {
	case "list":
		fs.Usage = usageFunc(fs, "app deliveries list [--state S] [--format table|json] [--limit N] [--cursor C | --all]",
			"Lists stored deliveries, newest first, a page at a time; a page that is not\n"+
				"the last ends with the --cursor that continues it.")
		state = fs.String("state", "", "only deliveries in this state: pending, running, done or failed")
		format = fs.String("format", "table", "output format: table or json")
		limit = fs.Int("limit", 50, "deliveries per page, newest first (max 1000)")
		cursor = fs.String("cursor", "", "continue after the page that printed this cursor")
		all = fs.Bool("all", false, "list every delivery, not one page")
	case "retry":
		fs.Usage = usageFunc(fs, "app deliveries retry DELIVERY_ID", "Runs a stored delivery again, whatever its state.")
	default:
		return &usageError{fmt.Sprintf("unknown deliveries subcommand %q: use list or retry", sub)}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sub == "list" {
		switch *state {
		case "", store.StatePending, store.StateRunning, store.StateDone, store.StateFailed:
		default:
			return &usageError{fmt.Sprintf("--state %q: use pending, running, done or failed", *state)}
		}
		if *format != "table" && *format != "json" {
			return &usageError{fmt.Sprintf("--format %q: use table or json", *format)}
		}
		if *limit < 1 || *limit > 1000 {
			return &usageError{fmt.Sprintf("--limit %d: use 1 to 1000", *limit)}
		}
		if *all && *cursor != "" {
			return &usageError{"--all lists from the newest delivery; leave out --cursor"}
		}
		if n, err := strconv.ParseInt(*cursor, 10, 64); *cursor != "" && (err != nil || n <= 0) {
			return &usageError{fmt.Sprintf("--cursor %q is not one this command printed", *cursor)}
		}
		if fs.NArg() > 0 {
			return &usageError{"deliveries list takes no arguments"}
		}
	} else if fs.NArg() != 1 {
		return &usageError{"usage: app deliveries retry DELIVERY_ID"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel), store.RequireSchema())
	if err != nil {
		return err
	}
	defer st.Close()

	if sub == "retry" {
		id := fs.Arg(0)
		if err := st.RetryDelivery(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "delivery %s queued to run again\n", id)
		return nil
	}
	f := store.ListFilter{State: *state, Limit: *limit, Cursor: *cursor}
	if *all {
		f.Limit = 1000
	}
	page, err := st.ListDeliveriesPage(ctx, f)
	if err != nil {
		return err
	}
	rows := page.Rows
	for *all && page.Next != "" {
		f.Cursor = page.Next
		if page, err = st.ListDeliveriesPage(ctx, f); err != nil {
			return err
		}
		rows = append(rows, page.Rows...)
	}
	if *format == "json" {
		// stdout stays one JSON array; the cursor is a note for the person.
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
		if page.Next != "" {
			fmt.Fprintf(stderr, "more deliveries: run again with --cursor %s, or use --all\n", page.Next)
		}
		return nil
	}
	if err := writeTable(stdout, rows); err != nil {
		return err
	}
	if page.Next != "" {
		_, err = fmt.Fprintf(stdout, "more deliveries: run again with --cursor %s, or use --all\n", page.Next)
	}
	return err
}

// usageFunc is a flag set's Usage: the synopsis with its arguments, what
// the command does, then the flags. -h prints it to stdout (see
// parseFlags), a flag mistake to stderr.
func usageFunc(fs *flag.FlagSet, synopsis, about string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n", synopsis)
		if about != "" {
			fmt.Fprintf(w, "%s\n\n", about)
		}
		fmt.Fprint(w, "flags:\n")
		fs.PrintDefaults()
	}
}

// writeTable prints deliveries for a terminal: one line each, the last error
// cut to its first line.
func writeTable(w io.Writer, rows []store.DeliveryRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no deliveries")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tREPOSITORY\tSTATE\tATTEMPTS\tRECEIVED\tLAST ERROR")
	for _, r := range rows {
		ev := r.Event
		if r.Action != "" {
			ev += "." + r.Action
		}
		repo := r.Repository
		if repo == "" {
			repo = "-"
		}
		last, _, _ := strings.Cut(r.LastError, "\n")
		if len(last) > 80 {
			last = last[:77] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, ev, repo, r.State, r.Attempts,
			r.ReceivedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}

func cmdRedeliver(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redeliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{github: true})
	since := fs.Duration("since", 24*time.Hour, "look at deliveries GitHub made in this window (GitHub keeps 3 days)")
	dryRun := fs.Bool("dry-run", false, "only print what would be redelivered")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"redeliver takes no arguments"}
	}
	if *since <= 0 {
		return &usageError{"--since must be positive, e.g. 24h"}
	}
	if *since > githubDeliveryRetention {
		// GitHub lists and redelivers only the last 3 days: say what is
		// lost instead of promising a window it cannot cover.
		fmt.Fprintf(stderr, "tasuki: --since %s reaches past the 3 days GitHub keeps deliveries: looking at the last 72h only; older failed deliveries cannot be redelivered (app replay stores a payload you saved)\n", *since)
		*since = githubDeliveryRetention
	}
	st, gh, log, err := openStoreAndGitHub(ctx, load, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	missed, runErr := server.NewRedeliverer(gh.App().Apps, st, log).Run(ctx, time.Now().Add(-*since), *dryRun)
	verb := "redelivered"
	if *dryRun {
		verb = "would redeliver"
	}
	for _, m := range missed {
		ev := m.Event
		if m.Action != "" {
			ev += "." + m.Action
		}
		status := fmt.Sprint(m.StatusCode)
		if m.StatusCode == 0 {
			status = "no response"
		}
		line := fmt.Sprintf("%s %s %s (GitHub got %s at %s)", verb, m.GUID, ev, status, m.DeliveredAt.Format(time.RFC3339))
		if m.Err != "" {
			line = fmt.Sprintf("could not redeliver %s %s: %s", m.GUID, ev, m.Err)
		}
		fmt.Fprintln(stdout, line)
	}
	if len(missed) == 0 && runErr == nil {
		fmt.Fprintf(stdout, "no failed deliveries missing from the store since %s\n", time.Now().Add(-*since).UTC().Format(time.RFC3339))
	}
	return runErr
}

func cmdReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{})
	fs.Usage = usageFunc(fs, "app replay FILE --event EVENT [--id ID] [flags]",
		"Stores a saved webhook payload as a delivery for the server's workers.")
	event := fs.String("event", "", "the payload's event name, as in X-GitHub-Event (e.g. pull_request)")
	id := fs.String("id", "", "delivery ID to store it under (default: replay-RANDOM; an ID already stored is not stored again)")
	// Accept FILE before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 || file == "" {
		return &usageError{"usage: app replay FILE --event EVENT [--id ID]"}
	}
	if *event == "" {
		return &usageError{"replay needs --event, the payload's event name (e.g. pull_request)"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	if *id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		*id = "replay-" + hex.EncodeToString(b[:])
	}
	d, err := server.ParseDelivery(*id, *event, body)
	if err != nil {
		return &usageError{fmt.Sprintf("%s: %v", file, err)}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := st.Enqueue(ctx, d)
	if err != nil {
		return err
	}
	what := d.Event
	if d.Action != "" {
		what += "." + d.Action
	}
	if d.Repository != "" {
		what += " on " + d.Repository
	}
	if !created {
		fmt.Fprintf(stdout, "delivery %s is already stored; use 'app deliveries retry %s' to run it again\n", d.ID, d.ID)
		return nil
	}
	fmt.Fprintf(stdout, "stored delivery %s (%s); the server's workers will process it\n", d.ID, what)
	return nil
}
