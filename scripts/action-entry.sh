#!/bin/sh
# Entry point of the tasuki GitHub Action (action.yml): finds the released
# `action` binary for this runner, verifies it, and runs it with the
# arguments given (the command, e.g. plan-review).
#
# Which binary:
#   - When the action is used at a release tag (uses: tasuki-sre/tasuki@v1,
#     @v1.2 or @v1.2.3), the release named in the action's own VERSION file
#     (the release the tag points at) is downloaded from
#       $TASUKI_RELEASE_BASE_URL/<VERSION>/tasuki-action_<os>_<arch>[.exe]
#     together with that release's checksums.txt, and run only if its
#     SHA-256 matches the line for that asset. A mismatch stops the step.
#   - When the action is used at a branch or commit (its ref is not a tag
#     matching VERSION), when that release has no asset for this runner, or
#     when the release does not exist (yet), the binary is built from the
#     action's own source with the Go version go.mod names. The build uses
#     the `go` already on PATH only as a launcher: GOTOOLCHAIN selects the
#     pinned toolchain (downloaded and checked against Go's checksum
#     database by the go command), and GOPATH, GOMODCACHE and GOCACHE point
#     into a private directory, so the job's own Go, PATH and caches are
#     left as they were.
# Nothing else is downloaded; every URL is derived from VERSION.
#
# Environment (action.yml sets the first two from github.action_path and
# github.action_ref, which composite actions see only through env:):
#   TASUKI_ACTION_PATH      the action's checkout (default: this script's ..)
#   TASUKI_ACTION_REF       the ref the workflow used the action at
#   RUNNER_OS, RUNNER_ARCH  set by the runner (Linux/macOS/Windows, X64/ARM64)
#   RUNNER_TEMP             where the binary is kept for this job
#   TASUKI_RELEASE_BASE_URL default https://github.com/tasuki-sre/tasuki/releases/download
#                           (tests point it at a local server)
#
# Exit status: that of the binary; 3 when no binary could be had (download
# refused, checksum mismatch, no Go to build with).
set -eu

say() { printf '%s\n' "$*" >&2; }
fail() {
	# An error annotation names the problem in the job's summary.
	printf '::error title=tasuki::%s\n' "$*"
	exit 3
}

action_path=${TASUKI_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
ref=${TASUKI_ACTION_REF:-}
base_url=${TASUKI_RELEASE_BASE_URL:-https://github.com/tasuki-sre/tasuki/releases/download}
# https only (redirects too), except for a test's local server.
proto='=https'
[ -n "${TASUKI_RELEASE_BASE_URL:-}" ] && proto='=https,http'
tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
release=$(tr -d ' \r\n' <"$action_path/VERSION")

case "${RUNNER_OS:-}" in
Linux) os=linux ;;
macOS) os=darwin ;;
Windows) os=windows ;;
*) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
esac
case "${RUNNER_ARCH:-}" in
X64) arch=amd64 ;;
ARM64) arch=arm64 ;;
X86) arch=386 ;;
ARM) arch=arm ;;
*)
	case $(uname -m) in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*) arch=$(uname -m) ;;
	esac
	;;
esac
exe=
[ "$os" = windows ] && exe=.exe
asset="tasuki-action_${os}_${arch}${exe}"

# The platforms each release publishes (.goreleaser.yaml).
case "${os}_${arch}" in
linux_amd64 | linux_arm64 | darwin_arm64 | windows_amd64) published=yes ;;
*) published=no ;;
esac

# is_release_ref: the action was used at a tag of the release in VERSION:
# the full tag or its moving major or minor tag (v1, v1.2 for v1.2.3).
is_release_ref() {
	case "$ref" in
	"$release") return 0 ;;
	v[0-9]*) ;;
	*) return 1 ;;
	esac
	case "$release" in
	"$ref".*) return 0 ;;
	esac
	return 1
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

# fetch URL FILE: 0 when downloaded, 1 when the server has no such file
# (404: no release, or no asset for this platform), fails the step on any
# other error.
fetch() {
	code=$(curl -sSL --retry 3 --proto "$proto" --proto-redir "$proto" -o "$2" -w '%{http_code}' "$1") ||
		fail "download of $1 failed"
	case "$code" in
	200) return 0 ;;
	404) return 1 ;;
	*) fail "download of $1 answered HTTP $code" ;;
	esac
}

# from_release sets bin to the verified binary, or returns 1 when the
# release or its asset does not exist. (No command substitution: fail must
# stop the script, not a subshell.)
from_release() {
	dir="$tmp/tasuki-$release"
	bin="$dir/$asset"
	if [ -x "$bin" ] && [ -f "$dir/ok" ]; then
		return 0
	fi
	mkdir -p "$dir"
	fetch "$base_url/$release/checksums.txt" "$dir/checksums.txt" || { bin=; return 1; }
	want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$dir/checksums.txt")
	[ -n "$want" ] || { bin=; return 1; }
	fetch "$base_url/$release/$asset" "$bin.part" || { bin=; return 1; }
	got=$(sha256 "$bin.part")
	if [ "$got" != "$want" ]; then
		rm -f "$bin.part"
		fail "checksum mismatch for $asset of tasuki $release: checksums.txt says $want, the download has $got; refusing to run it"
	fi
	chmod +x "$bin.part"
	mv "$bin.part" "$bin"
	: >"$dir/ok"
}

# from_source builds the binary from the action's checkout into bin.
from_source() {
	command -v go >/dev/null 2>&1 ||
		fail "no tasuki $release release binary for ${os}/${arch} at ref '${ref:-unknown}', and no go command on PATH to build one: use the action at a release tag (e.g. @v1)"
	gov=$(awk '$1 == "go" { print $2; exit }' "$action_path/go.mod")
	priv="$tmp/tasuki-go"
	bin="$tmp/tasuki-build/tasuki-action$exe"
	mkdir -p "$priv" "$tmp/tasuki-build"
	say "tasuki: building the action from source with go$gov"
	(
		cd "$action_path"
		# The job may be cross-compiling or using a workspace of its own:
		# none of that applies to the binary this runner is about to run.
		unset GOOS GOARCH GOARM GOAMD64 GOARM64 GOEXPERIMENT
		GOTOOLCHAIN="go$gov" GOPATH="$priv/path" GOMODCACHE="$priv/mod" GOCACHE="$priv/cache" \
			GOFLAGS=-mod=readonly GOWORK=off CGO_ENABLED=0 \
			go build -trimpath -o "$bin" ./cmd/action
	) >&2 || fail "building the action from source failed (see the log above)"
}

bin=
if [ "$published" = yes ] && is_release_ref; then
	if from_release; then
		say "tasuki: running release $release ($asset, sha256 verified)"
	else
		say "tasuki: release $release has no $asset; building from source"
		bin=
	fi
elif [ -z "$ref" ]; then
	say "tasuki: the action's ref is unknown (a composite action nested in another); building from source"
elif [ "$published" = no ]; then
	say "tasuki: releases have no binary for ${os}/${arch}; building from source"
else
	say "tasuki: ref $ref is not a release tag of $release; building from source"
fi
[ -n "$bin" ] || from_source
exec "$bin" "$@"
