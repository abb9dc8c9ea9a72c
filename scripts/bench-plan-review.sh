#!/usr/bin/env bash
# Benchmark of tasuki's plan review on big plans, against tf-summarize.
#
# For each size N (default 20000 100000 300000 resource changes: about 35,
# 175 and 530 MB) generates a `terraform show -json` plan with
# internal/review/bench/genplan into a temporary directory, then runs
#   json (default):
#     tasuki: action plan-review --plan FILE --format json
#     tf-summarize v0.3.14: tf-summarize -json-sum FILE
#   markdown:
#     tasuki: action plan-review --plan FILE --format markdown
#     tf-summarize v0.3.14: tf-summarize -md FILE
# RUNS times each (default 5, interleaved so both see the same machine load)
# (CPU time and peak RSS from wait4's rusage, through python3 when there
# is one, else /usr/bin/time -v) and prints, per tool, the best and the median CPU
# time (user+sys), the median wall time and the largest peak RSS. CPU time
# is the figure to compare on a shared machine: wall time moves with the
# other jobs' load. tf-summarize is built in a temporary module (or taken
# from $TFSUMMARIZE); nothing of it is kept.
#
# Usage: scripts/bench-plan-review.sh [SIZES] [RUNS] [FORMAT]
#   e.g. scripts/bench-plan-review.sh "20000 100000 300000" 5 json
set -euo pipefail

SIZES=${1:-20000 100000 300000}
RUNS=${2:-5}
FORMAT=${3:-json}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

case $FORMAT in
json) TFSUM_FLAG=-json-sum ;;
markdown) TFSUM_FLAG=-md ;;
*)
	echo "FORMAT must be json or markdown" >&2
	exit 2
	;;
esac

if [ ! -x /usr/bin/time ]; then
	echo "installing GNU time" >&2
	apt-get install -y time >/dev/null
fi

echo "building tasuki action" >&2
(cd "$ROOT" && go build -o "$TMP/tasuki-action" ./cmd/action)
(cd "$ROOT" && go build -o "$TMP/genplan" ./internal/review/bench/genplan)

if [ -n "${TFSUMMARIZE:-}" ]; then
	cp "$TFSUMMARIZE" "$TMP/tf-summarize"
else
	echo "building tf-summarize v0.3.14" >&2
	mkdir "$TMP/tfsum"
	cat >"$TMP/tfsum/go.mod" <<'MOD'
module tfsumbench

go 1.26
MOD
	cat >"$TMP/tfsum/tools.go" <<'SRC'
//go:build tools

package tools

import _ "github.com/dineshba/tf-summarize"
SRC
	(cd "$TMP/tfsum" &&
		GOSUMDB=off GOFLAGS=-mod=mod go get github.com/dineshba/tf-summarize@v0.3.14 >/dev/null 2>&1 &&
		GOSUMDB=off GOFLAGS=-mod=mod go build -o "$TMP/tf-summarize" github.com/dineshba/tf-summarize)
fi

measure() { # name outfile cmd...
	local name=$1 out=$2
	shift 2
	if command -v python3 >/dev/null; then
		# wait4's rusage: CPU time in microseconds (GNU time rounds to
		# 10 ms, too coarse for the small plans), peak RSS in KiB.
		python3 - "$name" "$out" "$@" >>"$TMP/results.txt" <<'PY'
import os, sys, time
name, out, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic()
with open(out, "wb") as f:
    pid = os.fork()
    if pid == 0:
        os.dup2(f.fileno(), 1)
        os.execv(argv[0], argv)
    _, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
if status != 0:
    sys.exit(f"{argv[0]} failed: status {status}")
print(f"{name} {wall:.3f} {ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss}")
PY
		return
	fi
	/usr/bin/time -v "$@" >"$out" 2>"$TMP/time.txt"
	awk -v name="$name" '
		/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
		/User time/ { user = $NF }
		/System time/ { sys = $NF }
		/Maximum resident set size/ { rss = $NF }
		END { printf "%s %.3f %.3f %d\n", name, wall, user + sys, rss }
	' "$TMP/time.txt" >>"$TMP/results.txt"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { # tool column
	awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$TMP/results.txt"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, $(go version | cut -d' ' -f3); format $FORMAT; $RUNS runs each"
for N in $SIZES; do
	"$TMP/genplan" -n "$N" >"$TMP/plan.json"
	: >"$TMP/results.txt"
	for i in $(seq "$RUNS"); do
		measure tasuki "$TMP/tasuki.out" "$TMP/tasuki-action" plan-review --plan "$TMP/plan.json" --format "$FORMAT"
		measure tf-summarize "$TMP/tfsum.out" "$TMP/tf-summarize" "$TFSUM_FLAG" "$TMP/plan.json"
	done
	echo
	echo "plan: $N resource changes, $(wc -c <"$TMP/plan.json") bytes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "output: tasuki $(wc -c <"$TMP/tasuki.out") bytes, tf-summarize $(wc -c <"$TMP/tfsum.out") bytes"
	echo
	echo "| tool | best CPU s | median CPU s | median wall s | peak RSS MiB |"
	echo "|---|--:|--:|--:|--:|"
	for t in tasuki tf-summarize; do
		best=$(col $t 3 | sort -n | head -1)
		c=$(col $t 3 | median)
		w=$(col $t 2 | median)
		r=$(col $t 4 | sort -n | tail -1)
		printf "| %s | %.3f | %.3f | %.2f | %.0f |\n" "$t" "$best" "$c" "$w" "$(echo "$r / 1024" | bc -l)"
	done
	tb=$(col tasuki 3 | sort -n | head -1)
	sb=$(col tf-summarize 3 | sort -n | head -1)
	tr=$(col tasuki 4 | sort -n | tail -1)
	sr=$(col tf-summarize 4 | sort -n | tail -1)
	echo
	echo "best CPU: tf-summarize / tasuki = $(echo "scale=1; $sb / $tb" | bc -l)x; peak RSS: $(echo "scale=1; $sr / $tr" | bc -l)x"
done
