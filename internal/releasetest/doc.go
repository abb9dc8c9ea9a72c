// Package releasetest holds the tests that keep the release configuration
// (.goreleaser.yaml) in step with what depends on it: the Action's entry
// script (asset names, platforms, checksums file), internal/version (the
// -X flags) and the Go code (every target builds without cgo). It has no
// code of its own.
package releasetest
