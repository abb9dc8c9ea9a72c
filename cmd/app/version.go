package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/tasuki-sre/tasuki/internal/version"
)

// cmdVersion prints which build this is: the release tag stamped by the
// release build, else the module version or VCS revision Go recorded.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = usageFunc(fs, "app version [--format text|json]", "Prints the version, commit, build date, Go version and platform of this binary.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"version takes no arguments"}
	}
	in := version.Get()
	switch *format {
	case "text":
		_, err := fmt.Fprintln(stdout, in)
		return err
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	default:
		return &usageError{fmt.Sprintf("version: --format %q is not text or json", *format)}
	}
}
