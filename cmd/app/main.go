// Command app is the tasuki GitHub App: a webhook server whose workers run
// the feature handlers, and the operator commands around it.
//
//	app serve                         receive webhooks and process them
//	app deliveries list [--state S] [--format table|json] [--limit N] [--cursor C | --all]
//	app deliveries retry ID           run a stored delivery again
//	app redeliver [--since 24h] [--dry-run]
//	                                  ask GitHub to redeliver failed deliveries
//	app replay FILE --event EVENT     store a saved payload as a delivery
//	app migrate                       create or update the database schema
//	app backfill --repo O/N [--since 90d]
//	                                  backfill the lead-time store from GitHub's GraphQL API
//
// Configuration comes from flags and TASUKI_* environment variables; see
// `app serve -h`. A missing or malformed setting stops the program with one
// line naming it, and exit status 2.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: app COMMAND [flags]

commands:
  serve                 receive GitHub webhooks and process them
  deliveries list       show stored deliveries (--state pending|running|done|failed, --format table|json, --limit N, --cursor C or --all)
  deliveries retry ID   run a stored delivery again
  redeliver             ask GitHub to redeliver failed deliveries (--since 24h, --dry-run)
  replay FILE --event E store a saved payload as a delivery for the workers to process
  migrate               create or update the database schema
  backfill --repo O/N   read a repository's past pull requests, reviews and deployments into the lead-time store (--since 90d)
  setup --url URL       create the GitHub App from its manifest and save its credentials (--org ORG, --out FILE)
  demo                  run the bundled example events and plans through the App against an in-memory GitHub (no credentials)
  version               print the version, commit and platform of this binary (--format text|json)

Run 'app COMMAND -h' for the flags and environment variables of a command.
`

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	// A command asked for -h prints its usage to stdout: it was asked for.
	// The flag package prints it to the flag set's output, stderr, so that
	// is held back until we know whether the command stopped for help.
	errOut := stderr
	var held *bytes.Buffer
	if cmd == "help" || asksHelp(args) {
		held = new(bytes.Buffer)
		stderr = held
	}
	err := runCommand(ctx, cmd, rest, getenv, stdout, stderr)
	if held != nil {
		stderr = errOut
		if errors.Is(err, errHelp) {
			_, _ = held.WriteTo(stdout)
		} else {
			_, _ = held.WriteTo(stderr)
		}
	}
	var se *settingError
	var ue *usageError
	var unknown *unknownCommandError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &unknown):
		fmt.Fprintf(stderr, "tasuki: unknown command %q\n\n%s", unknown.name, usage)
		return 2
	case errors.As(err, &se):
		fmt.Fprintf(stderr, "tasuki: %s\n", se.msg)
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tasuki: %s\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "tasuki: %v\n", err)
		return 1
	}
}

// asksHelp reports whether args, before a "--", hold -h or --help.
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

type unknownCommandError struct{ name string }

func (e *unknownCommandError) Error() string { return "unknown command " + e.name }

// runCommand runs one command; errHelp means it printed its usage on stderr.
func runCommand(ctx context.Context, cmd string, rest []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stderr)
	case "deliveries":
		err = cmdDeliveries(ctx, rest, getenv, stdout, stderr)
	case "redeliver":
		err = cmdRedeliver(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "replay":
		err = cmdReplay(ctx, rest, getenv, stdout, stderr)
	case "setup":
		err = cmdSetup(ctx, rest, getenv, stdout, stderr)
	case "backfill":
		err = cmdBackfill(ctx, rest, getenv, stdout, stderr)
	case "version":
		err = cmdVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, usage)
		err = errHelp
	default:
		err = &unknownCommandError{cmd}
	}
	return err
}

// usageError is a command line mistake (unknown subcommand, missing
// argument); it exits with status 2 like a settingError.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errHelp is returned when -h was asked for; the flag package has printed
// the help already.
var errHelp = errors.New("help requested")

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
