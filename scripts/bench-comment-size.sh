#!/usr/bin/env bash
# Size of the plan-review comment for plans of 1, 10, 55, 500 and 2,000
# changes, against what tfcmt and tf-summarize post for the same plans.
#
# Each plan is real: terraform (on PATH) applies N terraform_data resources
# spread over modules, then plans a change of them shaped like
# internal/review's sizes_test (1 in 20 deleted, 1 in 20 replaced, 3 in 20
# updated, the rest created; built-in provider only, so it runs offline).
# Then, for the same plan:
#   tasuki: action plan-review --plan plan.json (the comment, as posted)
#   tf-summarize v0.3.14: tf-summarize -md plan.json
#   tfcmt: tfcmt --output FILE plan -- terraform show -no-color tfplan
#          (its default template; labels disabled; no GitHub call)
# and prints bytes and collapsed blocks (<details>) of each.
#
# tf-summarize is built in a temporary module. tfcmt is taken from $TFCMT,
# else `go install github.com/suzuki-shunsuke/tfcmt/v4/cmd/tfcmt@$TFCMT_VERSION`;
# nothing of either is kept.
#
# Usage: scripts/bench-comment-size.sh [N ...]   (default: 1 10 55 500 2000)
set -euo pipefail

SIZES=${*:-1 10 55 500 2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE="$TMP/terraformrc"
: >"$TF_CLI_CONFIG_FILE"

echo "building tasuki action" >&2
(cd "$ROOT" && go build -o "$TMP/tasuki-action" ./cmd/action)

echo "building tf-summarize v0.3.14" >&2
mkdir "$TMP/tfsum"
printf 'module tfsumbench\n\ngo 1.26\n' >"$TMP/tfsum/go.mod"
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/dineshba/tf-summarize"\n' >"$TMP/tfsum/tools.go"
(cd "$TMP/tfsum" &&
	GOSUMDB=off GOFLAGS=-mod=mod go get github.com/dineshba/tf-summarize@v0.3.14 >/dev/null 2>&1 &&
	GOSUMDB=off GOFLAGS=-mod=mod go build -o "$TMP/tf-summarize" github.com/dineshba/tf-summarize)

TFCMT=${TFCMT:-}
if [ -z "$TFCMT" ]; then
	echo "installing tfcmt ${TFCMT_VERSION:=v4.14.18}" >&2
	GOBIN="$TMP" go install "github.com/suzuki-shunsuke/tfcmt/v4/cmd/tfcmt@$TFCMT_VERSION"
	TFCMT="$TMP/tfcmt"
fi

# kind I N: what the plan does to resource I: delete, replace, update, create.
kind() {
	case $(($1 % 20)) in
	7) echo delete ;;
	13) echo replace ;;
	0 | 4 | 17) echo update ;;
	*) echo create ;;
	esac
}

# config N after DIR: writes the configuration before (after=0) or after
# (after=1) the change, resources spread over modules like sizes_test.
config() {
	local n=$1 after=$2 dir=$3 nm i k kd size team ami
	nm=$((n / 25))
	[ "$nm" -lt 2 ] && nm=2
	[ "$nm" -gt 80 ] && nm=80
	rm -rf "$dir"/*.tf "$dir"/m
	mkdir -p "$dir/m"
	for ((k = 1; k < nm; k++)); do
		mkdir -p "$dir/m/svc_$k"
		: >"$dir/m/svc_$k/main.tf"
		printf 'module "svc_%d" {\n  source = "./m/svc_%d"\n}\n' "$k" "$k" >>"$dir/main.tf"
	done
	for ((i = 0; i < n; i++)); do
		kd=$(kind "$i")
		size=t3.micro team=payments ami=ami-old
		if [ "$after" = 1 ]; then
			case $kd in
			delete) continue ;;
			update) size=t3.large team=checkout ;;
			replace) ami=ami-new ;;
			esac
		elif [ "$kd" = create ]; then
			continue
		fi
		k=$((i % nm))
		f="$dir/main.tf"
		[ "$k" -gt 0 ] && f="$dir/m/svc_$k/main.tf"
		printf 'resource "terraform_data" "r%d" {\n  input = { name = "r%d", instance_type = "%s", team = "%s" }\n  triggers_replace = ["%s"]\n}\n' \
			"$i" "$i" "$size" "$team" "$ami" >>"$f"
	done
	touch "$dir/main.tf"
}

printf '%-6s %-8s %8s %8s\n' changes tool bytes details
for n in $SIZES; do
	d="$TMP/plan-$n"
	mkdir -p "$d"
	echo "planning $n changes" >&2
	config "$n" 0 "$d"
	(cd "$d" && terraform init -input=false -no-color >/dev/null && terraform apply -input=false -no-color -auto-approve -parallelism=50 >/dev/null)
	config "$n" 1 "$d"
	(cd "$d" && terraform init -input=false -no-color >/dev/null &&
		terraform plan -input=false -no-color -parallelism=50 -out=tfplan >/dev/null &&
		terraform show -json tfplan >plan.json)
	(cd "$d" && "$TMP/tasuki-action" plan-review --plan plan.json --working-directory infra/app) >"$d/tasuki.md"
	"$TMP/tf-summarize" -md "$d/plan.json" >"$d/tfsum.md"
	(cd "$d" && GITHUB_TOKEN=none "$TFCMT" -owner acme -repo infra -pr 42 --output "$d/tfcmt.md" \
		plan --disable-label -- terraform show -no-color tfplan >/dev/null 2>&1) || true
	for t in tasuki tfsum tfcmt; do
		f="$d/$t.md"
		[ -s "$f" ] || { printf '%-6s %-8s %8s %8s\n' "$n" "$t" "-" "-"; continue; }
		printf '%-6s %-8s %8d %8d\n' "$n" "$t" "$(wc -c <"$f")" "$(grep -o '<details>' "$f" | wc -l)"
	done
	if [ -n "${KEEP:-}" ]; then cp -r "$d" "$KEEP/"; fi
done
