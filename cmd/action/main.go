// Command action is tasuki's GitHub Action and local CLI. Inside GitHub
// Actions (GITHUB_ACTIONS=true) a subcommand reads its inputs from the
// workflow, the event from GITHUB_EVENT_PATH and acts with GITHUB_TOKEN;
// outside it prints what it would post.
//
//	action plan-review --plan plan.json [--plan 'plans/*.json'] [--format markdown|json]
//	action postmortem ...
//	action onboarding [--format markdown|json] | --checklist FILE
//	action help
//
// Each subcommand lives in its own file and registers itself in init with
// register, so that engineers add commands without touching this file.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// env is what a subcommand may touch of the outside world. Tests build one
// with buffers and a map-backed Getenv, so subcommands run in-process.
type env struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable; never os.Getenv directly, so that
	// tests can run several commands side by side.
	Getenv func(string) string
}

// command is one subcommand of the action binary.
type command struct {
	// Summary is the one-line description shown by "action help".
	Summary string
	// Run executes the subcommand with the arguments after its name and
	// returns the process exit code: 0 done, 1 failed, 2 bad usage or input.
	Run func(ctx context.Context, args []string, e env) int
}

var commands = map[string]command{}

// register adds a subcommand; it panics on a duplicate name because that is
// a programming error caught by any test run.
func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("action: command registered twice: " + name)
	}
	commands[name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches args[0] to its subcommand and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		usage(e.Stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		// Asked for: the usage goes to stdout and the exit code is 0, as
		// for every command's -h (and as `app -h` does).
		usage(e.Stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.Stderr, "tasuki: unknown command %q\n\n", name)
		usage(e.Stderr)
		return 2
	}
	return c.Run(ctx, args[1:], e)
}

// runFlags is the shape every command's Run shares: parse its flags, then
// run inAction inside GitHub Actions (GITHUB_ACTIONS=true) and local
// outside. -h prints the usage on stdout and exits 0; a bad flag prints
// the usage on stderr and exits 2.
func runFlags[O any](ctx context.Context, name string, args []string, e env,
	parse func(args []string, stderr io.Writer) (O, error), inAction, local func(context.Context, O, env) int) int {
	// The flag package prints the usage before we know why; hold it.
	var held bytes.Buffer
	o, err := parse(args, &held)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, _ = held.WriteTo(e.Stdout)
			return 0
		}
		_, _ = held.WriteTo(e.Stderr)
		fmt.Fprintf(e.Stderr, "tasuki: %s: %v\n", name, err)
		return 2
	}
	_, _ = held.WriteTo(e.Stderr)
	if e.Getenv("GITHUB_ACTIONS") == "true" {
		return inAction(ctx, o, e)
	}
	return local(ctx, o, e)
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: action COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, commands[n].Summary)
	}
	b.WriteString("\nRun \"action COMMAND -h\" for a command's flags.\n")
	io.WriteString(w, b.String())
}
