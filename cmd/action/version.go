package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/version"
)

func init() {
	register("version", command{
		Summary: "print the version, commit and platform of this binary",
		Run:     runVersion,
	})
}

// runVersion prints which build this is. It does the same inside and
// outside Actions: the entry script runs it to check the binary it fetched.
func runVersion(_ context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	var held strings.Builder
	fs.SetOutput(&held)
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: action version [--format text|json]\n\nPrints the version, commit, build date, Go version and platform of this binary.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			_, _ = io.WriteString(e.Stdout, held.String())
			return 0
		}
		_, _ = io.WriteString(e.Stderr, held.String())
		fmt.Fprintf(e.Stderr, "tasuki: version: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.Stderr, "tasuki: version takes no arguments")
		return 2
	}
	in := version.Get()
	switch *format {
	case "text":
		fmt.Fprintln(e.Stdout, in)
	case "json":
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: version: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(e.Stderr, "tasuki: version: --format %q is not text or json\n", *format)
		return 2
	}
	return 0
}
