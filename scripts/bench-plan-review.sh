#!/usr/bin/env bash
# Benchmark of tasuki's plan review on a big plan, against tf-summarize.
#
# Generates a `terraform show -json` plan of N resource changes (default
# 20000, ~35 MB) with internal/review/bench/genplan, then runs
#   tasuki: action plan-review --plan FILE --format markdown
#   tf-summarize v0.3.14: tf-summarize -md FILE
# RUNS times each (default 5, interleaved so both see the same machine load)
# under /usr/bin/time -v and prints the median wall time, median CPU time
# (user+sys) and the largest peak RSS. tf-summarize is built in a temporary
# module; nothing of it is kept.
#
# Usage: scripts/bench-plan-review.sh [N] [RUNS]
set -euo pipefail

N=${1:-20000}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x /usr/bin/time ]; then
	echo "installing GNU time" >&2
	apt-get install -y time >/dev/null
fi

echo "building tasuki action" >&2
(cd "$ROOT" && go build -o "$TMP/tasuki-action" ./cmd/action)

echo "generating a plan of $N resource changes" >&2
(cd "$ROOT" && go run ./internal/review/bench/genplan -n "$N") >"$TMP/plan.json"

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

measure() { # name outfile cmd...
	local name=$1 out=$2
	shift 2
	/usr/bin/time -v "$@" >"$out" 2>"$TMP/time.txt"
	awk -v name="$name" '
		/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
		/User time/ { user = $NF }
		/System time/ { sys = $NF }
		/Maximum resident set size/ { rss = $NF }
		END { printf "%s %.3f %.3f %d\n", name, wall, user + sys, rss }
	' "$TMP/time.txt" >>"$TMP/results.txt"
}

for i in $(seq "$RUNS"); do
	measure tasuki "$TMP/tasuki.md" "$TMP/tasuki-action" plan-review --plan "$TMP/plan.json" --format markdown
	measure tf-summarize "$TMP/tfsum.md" "$TMP/tf-summarize" -md "$TMP/plan.json"
done

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { # tool column
	awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$TMP/results.txt"
}

echo
echo "plan: $N resource changes, $(wc -c <"$TMP/plan.json") bytes; $RUNS runs each; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, $(go version | cut -d' ' -f3)"
echo "output: tasuki $(wc -c <"$TMP/tasuki.md") bytes, tf-summarize $(wc -c <"$TMP/tfsum.md") bytes"
echo
echo "| tool | median wall s | median CPU s (user+sys) | peak RSS MiB |"
echo "|---|--:|--:|--:|"
for t in tasuki tf-summarize; do
	w=$(col $t 2 | median)
	c=$(col $t 3 | median)
	r=$(col $t 4 | sort -n | tail -1)
	printf "| %s | %.2f | %.2f | %.0f |\n" "$t" "$w" "$c" "$(echo "$r / 1024" | bc -l)"
done
awk '
	$1 == "tasuki" { tw[++a] = $2; tc[a] = $3; tr = ($4 > tr) ? $4 : tr }
	$1 == "tf-summarize" { sw[++b] = $2; sc[b] = $3; sr = ($4 > sr) ? $4 : sr }
	END {
		for (i = 1; i <= a; i++) { TW += tw[i]; TC += tc[i] }
		for (i = 1; i <= b; i++) { SW += sw[i]; SC += sc[i] }
		printf "\nmean ratios: wall %.1fx faster, CPU %.1fx less, peak RSS %.1fx smaller\n", SW / TW, SC / TC, sr / tr
	}' "$TMP/results.txt"
