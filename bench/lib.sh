# Shared set-up for bench/*.sh; sourced, not run.
#
# Environment:
#   BENCH_DIR    work directory (default <repo>/.cache/bench): generated
#                trees are kept there between runs (they are deterministic)
#   BENCH_RUNS   timed runs per figure (default 5, never fewer than 5
#                unless BENCH_DRAFT=1: to try a harness, not for figures)
#   BENCH_WARMUP untimed warm-up runs (default 1)
#   BENCH_JSON   JSON lines of every figure (default $BENCH_DIR/results.jsonl)

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$root/.cache/bench}"
BENCH_RUNS="${BENCH_RUNS:-5}"
BENCH_WARMUP="${BENCH_WARMUP:-1}"
if ((BENCH_RUNS < 5)) && [[ "${BENCH_DRAFT:-}" != 1 ]]; then
	echo "bench: BENCH_RUNS=$BENCH_RUNS is below 5; using 5" >&2
	BENCH_RUNS=5
fi
mkdir -p "$BENCH_DIR/bin"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
BENCH_JSON="${BENCH_JSON:-$BENCH_DIR/results.jsonl}"
VENV="$root/.venv"
PY="${ADOPIPE_PYTHON:-$VENV/bin/python}"
RAY="$VENV/bin/ray"
ADOPIPE="$BENCH_DIR/bin/adopipe"
RB="$BENCH_DIR/bin/raybench" # see bench/cmd/raybench

# bench_build compiles adopipe and the bench helpers into $BENCH_DIR/bin.
# adopipe is built as scripts/dist builds the released binaries (static,
# CGO_ENABLED=0): a cgo build links libc dynamically and starts ~5 ms
# slower, which is a tenth of a no-op plan.
bench_build() {
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ADOPIPE" ./cmd/adopipe &&
		go build -o "$BENCH_DIR/bin/" ./bench/cmd/... ./bench/gentree)
}

# bench_tree NAME GENTREE-FLAGS... prints the path of a generated tree,
# generating it once (the flags are part of the stamp).
bench_tree() {
	local name="$1"
	shift
	local dir="$BENCH_DIR/trees/$name" stamp="$BENCH_DIR/trees/$name.stamp"
	if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$*" ]]; then
		rm -rf "$dir" "$stamp"
		mkdir -p "$BENCH_DIR/trees"
		"$BENCH_DIR/bin/gentree" -out "$dir" "$@" >&2
		echo "$*" >"$stamp"
	fi
	echo "$dir"
}

# bt runs benchtime with the shared settings; extra flags follow.
bt() {
	"$BENCH_DIR/bin/benchtime" -runs "$BENCH_RUNS" -warmup "$BENCH_WARMUP" -json "$BENCH_JSON" "$@"
}

# tree_bytes DIR... prints the total size in bytes of the regular files.
tree_bytes() {
	find "$@" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d\n", s}'
}

# bench_machine prints the machine and versions, for docs/benchmarks.md.
bench_machine() {
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
	echo "versions: $(go version | cut -d' ' -f3), ray $("$PY" -c 'import ray; print(ray.__version__)' 2>/dev/null || echo '?'), $("$PY" --version 2>&1), $(git --version)"
}

# write_mysql_context FILE: an ado context a remote cluster accepts.
write_mysql_context() {
	cat >"$1" <<'EOF'
project: bench
metadataStore:
  scheme: mysql+pymysql
  host: mysql.bench.invalid
  port: 3306
  database: bench
  user: ado
EOF
}

# bench_ws DIR: a fresh workspace DIR holding an ado context a remote
# cluster accepts (context.yaml) and a one-space operation.yaml.
bench_ws() {
	rm -rf "$1"
	mkdir -p "$1"
	write_mysql_context "$1/context.yaml"
	echo "spaces: [space-1]" >"$1/operation.yaml"
}

# bench_manifest [-build] [-build-line LINE] [-files HCL-LIST] FILE CLUSTER ADDRESS OPERATION
# PLUGIN-DIR... writes the ado.hcl of a bench workspace: cluster CLUSTER at
# ADDRESS, plugins p0, p1, ... from the PLUGIN-DIRs, and operation
# OPERATION running `true` with context.yaml and operation.yaml. -build
# adds a build block ($PY, no build isolation), -build-line LINE one with
# LINE in it (repeatable); -files sets the
# operation's files, e.g. -files '["nonce.txt"]'.
bench_manifest() {
	local build="" build_lines="" files=""
	while [[ "$1" == -* ]]; do
		case "$1" in
		-build) build=1 && shift ;;
		-build-line) build=1 && build_lines+="  $2"$'\n' && shift 2 ;;
		-files) files="  files     = $2"$'\n' && shift 2 ;;
		*) echo "bench_manifest: unknown flag $1" >&2 && return 1 ;;
		esac
	done
	[[ -z "$build" ]] || printf -v build 'build {\n  python    = "%s"\n  isolation = false\n%s}\n\n' "$PY" "$build_lines"
	local file="$1" cluster="$2" address="$3" op="$4" dir n=0 plugins="" refs=""
	shift 4
	for dir in "$@"; do
		plugins+="plugin \"p$n\" { source = \"$dir\" }"$'\n'
		refs+="${refs:+, }plugin.p$n"
		n=$((n + 1))
	done
	cat >"$file" <<EOF
# Written by bench/$(basename "$0").
cluster "$cluster" {
  address = "$address"
}

$build$plugins
operation "$op" {
  cluster   = cluster.$cluster
  context   = "context.yaml"
  operation = "operation.yaml"
  plugins   = [$refs]
${files}  args      = ["true"]
}
EOF
}

# need_ray re-runs the calling script under scripts/with-ray-head unless
# ADOPIPE_TEST_RAY_ADDRESS names a Ray head already. Call it as
# `need_ray "$0" "$@"` before anything else.
need_ray() {
	if [[ -z "${ADOPIPE_TEST_RAY_ADDRESS:-}" ]]; then
		[[ -x "$RAY" ]] || {
			echo "bench: $RAY not found: run make venv" >&2
			exit 1
		}
		exec "$root/scripts/with-ray-head" "$@"
	fi
}

# bench_on_exit CMD: run CMD (with sh -c) when the script exits; every
# registered command runs, the last registered first.
BENCH_EXIT_CMDS=()
bench_on_exit() {
	BENCH_EXIT_CMDS=("$1" "${BENCH_EXIT_CMDS[@]}")
	trap 'for c in "${BENCH_EXIT_CMDS[@]}"; do sh -c "$c" || true; done' EXIT
}

# wait_for_file FILE PID SECONDS: poll until FILE is non-empty; fail if
# process PID exits first or SECONDS pass.
wait_for_file() {
	local file="$1" pid="$2" i
	for ((i = 0; i < $3 * 10; i++)); do
		[[ -s "$file" ]] && return 0
		kill -0 "$pid" 2>/dev/null || {
			echo "bench: process $pid exited before writing $file" >&2
			exit 1
		}
		sleep 0.1 # polling for the file
	done
	echo "bench: no $file after $3 s" >&2
	exit 1
}

# start_proxy [TARGET [LISTEN]]: a counting proxy in front of TARGET
# (default: the Ray head, $ADOPIPE_TEST_RAY_ADDRESS), listening on LISTEN
# (default: a free loopback port); sets PROXY (its address) and PROXY_PID,
# and stops it (by pid) when the script exits.
start_proxy() {
	local target="${1:-$ADOPIPE_TEST_RAY_ADDRESS}" listen="${2:-127.0.0.1:0}"
	local addr_file="$BENCH_DIR/proxy.$$.addr"
	rm -f "$addr_file"
	"$RB" proxy -target "$target" -listen "$listen" -addr-file "$addr_file" &
	PROXY_PID=$!
	bench_on_exit "kill $PROXY_PID 2>/dev/null; rm -f '$addr_file'"
	wait_for_file "$addr_file" "$PROXY_PID" 10
	PROXY="$(cat "$addr_file")"
	[[ -n "$PROXY" ]] || {
		echo "bench: the proxy wrote no address" >&2
		exit 1
	}
}

# start_fakehead: a stand-in Ray head (raybench fakehead) on loopback for
# the plan benchmarks, whose plans ask their cluster for its Ray version;
# sets FAKEHEAD (its address) and stops it (by pid) when the script exits.
start_fakehead() {
	local addr_file="$BENCH_DIR/fakehead.$$.addr"
	rm -f "$addr_file"
	"$BENCH_DIR/bin/raybench" fakehead -addr-file "$addr_file" &
	local pid=$!
	bench_on_exit "kill $pid 2>/dev/null; rm -f '$addr_file'"
	wait_for_file "$addr_file" "$pid" 10
	FAKEHEAD="$(cat "$addr_file")"
}

# nonce prints a value that differs on every call.
nonce() { echo "$(date +%s%N)-$RANDOM"; }
