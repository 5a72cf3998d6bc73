#!/usr/bin/env bash
# bench/peer.sh: adopipe against `ado --remote` (issue 15), in one run, on
# the same work.
#
# Common set-up: one Ray head (scripts/with-ray-head, unless
# ADOPIPE_TEST_RAY_ADDRESS and ADOPIPE_TEST_RAY_TEMP_DIR name one), both
# sides submitting through bench's counting proxy; one MariaDB metastore
# started here (peerbench mariadb: its own datadir under $BENCH_DIR, a free
# loopback port, stopped by pid at exit), because ado refuses SQLite; the
# quickstart's plugin and operation (examples/quickstart), the plugin's
# experiment changed to y = x0*x0 + x1 + OFFSET so that an edit shows in
# the results. ado-core's `ado --remote` builds with `uv build` and submits
# with `ray job submit`, both from the project's .venv (make venv).
# ado-core 2.3.0 cannot reuse a sample store's tables on MariaDB (see
# peerbench forget), so before every run the sample store's tables are
# dropped, untimed, and every job starts from an empty store.
#
#   peer.plugin  (a) one plugin file edited (OFFSET changed)
#   peer.yaml    (b) only the operation YAML edited
#   peer.noop    (c) nothing changed
#   peer.three   (d) one of three plugins edited
#   peer.sklearn (e) a plugin needing scikit-learn, which the base env
#                    lacks, edited
#
# Each scenario has its own workspace per side and runs interleaved rounds
# (bench/cmd/peerbench compare): per run, from the wire and from Ray, the
# time from the command's start to the job's entrypoint running and to
# SUCCEEDED, bytes uploaded, wheels written, runtime envs the node created
# and whether the stored results carry the edit. peer.plugin runs at least
# PEER_DISK_EDITS (10) edits per side and reports the disk their envs take.
#
# BENCH_DRAFT=1 allows BENCH_RUNS below 5 (figures marked draft), to try
# the harness; PEER_SCENARIOS="plugin yaml" runs a subset.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_ray "$0" "$@"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
session="${ADOPIPE_TEST_RAY_TEMP_DIR:?bench: set ADOPIPE_TEST_RAY_TEMP_DIR to the temp dir of the Ray head (scripts/with-ray-head sets it)}/session_latest"
PB="$BENCH_DIR/bin/peerbench"
for tool in ado uv ray; do
	[[ -x "$VENV/bin/$tool" ]] || {
		echo "bench: $VENV/bin/$tool not found: run make venv" >&2
		exit 1
	}
done
# ado --remote runs `uv build` and `ray job submit` from PATH.
export PATH="$VENV/bin:$PATH"

start_proxy
db_file="$BENCH_DIR/mariadb.$$.addr"
rm -f "$db_file"
"$PB" mariadb -dir "$BENCH_DIR/mariadb" -addr-file "$db_file" &
# Stopped by its pid; it stops mariadbd (by pid) and exits within a minute.
bench_on_exit "kill $! 2>/dev/null; for i in \$(seq 350); do kill -0 $! 2>/dev/null || break; sleep 0.2; done; rm -f '$db_file'"
wait_for_file "$db_file" $! 600 # a first run initialises the datadir
DB="$(cat "$db_file")"
echo "peer.sh: MariaDB at $DB, Ray session $session" >&2

ws="$BENCH_DIR/ws-peer"
rm -rf "$ws"
mkdir -p "$ws/src" "$ws/logs"
qs="$root/examples/quickstart"

# make_plugin NAME PKG EXPERIMENT [DEPENDENCY]: a copy of the quickstart's
# plugin as project NAME, package PKG, experiment EXPERIMENT, computing
# y = x0*x0 + x1 + OFFSET (with scikit-learn's PolynomialFeatures when a
# dependency is given).
make_plugin() {
	local name="$1" pkg="$2" exp="$3" dep="${4:-}" dir="$ws/src/$1"
	cp -a "$qs/plugin" "$dir"
	[[ "$pkg" == adopipe_quickstart ]] || mv "$dir/adopipe_quickstart" "$dir/$pkg"
	sed -i -e "s/adopipe-quickstart/$name/; s/adopipe_quickstart/$pkg/g" "$dir/pyproject.toml"
	local py="$dir/$pkg/experiments.py"
	sed -i -e "s/def quickstart_poly(/def $exp(/" \
		-e 's/^    return {"y": x0 \* x0 + x1}$/    return {"y": x0 * x0 + x1 + OFFSET}/' "$py"
	echo "OFFSET = 0" >>"$py"
	if [[ -n "$dep" ]]; then
		sed -i "s/^dependencies = \[\"ado-core\"\]$/dependencies = [\"ado-core\", \"$dep\"]/" "$dir/pyproject.toml"
		sed -i 's/^    return {"y": x0 \* x0 + x1 + OFFSET}$/    f = PolynomialFeatures(degree=2, include_bias=False).fit_transform([[x0, x1]])[0]\n    return {"y": int(f[2] + f[1]) + OFFSET}/' "$py"
		sed -i 's/^from typing import Any$/from typing import Any\n\nfrom sklearn.preprocessing import PolynomialFeatures/' "$py"
		grep -q "$dep" "$dir/pyproject.toml" && grep -q PolynomialFeatures "$py"
	fi
	grep -q "def $exp(" "$py" && grep -q '+ OFFSET}' "$py" && grep -q "$pkg" "$dir/pyproject.toml" || {
		echo "bench: examples/quickstart/plugin changed shape; update make_plugin in $0" >&2
		exit 1
	}
}
make_plugin quickstart adopipe_quickstart quickstart_poly
make_plugin extra-one bench_extra_one extra_one_poly
make_plugin extra-two bench_extra_two extra_two_poly
make_plugin sk bench_sk sk_poly scikit-learn==1.9.1

cat >"$ws/src/context.yaml" <<EOF
# Written by bench/peer.sh: the bench's MariaDB, reached from the job.
project: bench
metadataStore:
  scheme: mysql+pymysql
  host: ${DB%:*}
  port: ${DB##*:}
  database: bench
  user: bench
  password: bench
EOF

# make_ws SCENARIO EXPERIMENT PLUGIN...: one workspace per side, each with
# its own copy of the plugins, the operation and a space measuring
# EXPERIMENT. The first plugin is the one edited.
make_ws() {
	local scen="$1" exp="$2" side p
	shift 2
	for side in adopipe ado; do
		local d="$ws/$scen/$side"
		mkdir -p "$d/plugins"
		for p in "$@"; do cp -a "$ws/src/$p" "$d/plugins/$p"; done
		cp "$ws/src/context.yaml" "$qs/operation.yaml" "$d/"
		sed "s/experimentIdentifier: quickstart_poly/experimentIdentifier: $exp/" "$qs/space.yaml" >"$d/space.yaml"
	done
	local env='  PYTHONUNBUFFERED: "x"
  OMP_NUM_THREADS: "1"
  OPENBLAS_NUM_THREADS: "1"
  RAY_AIR_NEW_PERSISTENCE_MODE: "0"'
	{
		echo "# Written by bench/peer.sh: ado --remote's side of $scen."
		echo "executionType:"
		echo "  type: cluster"
		echo "  clusterUrl: $PROXY"
		echo "packages:"
		echo "  fromSource:"
		for p in "$@"; do echo "    - plugins/$p"; done
		echo "wait: false"
		echo "envVars:"
		echo "$env"
	} >"$ws/$scen/ado/remote.yaml"
	{
		echo "# Written by bench/peer.sh: adopipe's side of $scen."
		echo "cluster \"bench\" {"
		echo "  address = \"$PROXY\""
		echo "}"
		echo "build {"
		echo "  python = \"$PY\""
		echo "}"
		for p in "$@"; do echo "plugin \"$p\" { source = \"plugins/$p\" }"; done
		echo "operation \"walk\" {"
		echo "  cluster   = cluster.bench"
		echo "  context   = \"context.yaml\""
		echo "  operation = \"operation.yaml\""
		echo "  plugins   = [$(printf 'plugin.%s, ' "$@" | sed 's/, $//')]"
		echo "  files     = [\"space.yaml\"]"
		echo "  args      = [\"ado\", \"-c\", \"context.yaml\", \"create\", \"operation\", \"-f\", \"operation.yaml\", \"--with\", \"space=space.yaml\"]"
		echo "}"
	} >"$ws/$scen/adopipe/ado.hcl"
}

# The commands each side runs, and the edits.
ado_cmd() { echo "cd '$ws/$1/ado' && ado -c context.yaml --remote remote.yaml create operation -f operation.yaml --with space=space.yaml"; }
adopipe_cmd() { echo "'$ADOPIPE' -C '$ws/$1/adopipe' apply --auto-approve"; }
edit_plugin() { echo "sed -i \"s/^OFFSET = .*/OFFSET = \$BENCH_OFFSET/\" '$ws/$1/$2/plugins/$3/$4/experiments.py'"; }
edit_yaml() { echo "sed -i \"s/^  name: .*/  name: peer-walk-\$BENCH_OFFSET/\" '$ws/$1/$2/operation.yaml'"; }
check_offset() { echo "'$PB' results -db '$DB' -submission \"\$BENCH_SUBMISSION_ID\" -offset $1"; }

warmup=$((BENCH_WARMUP < 1 ? 1 : BENCH_WARMUP)) # every workspace starts cold
runs="$BENCH_RUNS"
disk_edits="${PEER_DISK_EDITS:-10}"

# compare SCENARIO ID WHAT ADOPIPE-PREPARE ADO-PREPARE CHECK-OFFSET RUNS FLAGS...
compare() {
	local scen="$1" id="$2" what="$3" a_prep="$4" b_prep="$5" off="$6" n="$7"
	shift 7
	[[ "${BENCH_DRAFT:-}" != 1 ]] || what="$what (DRAFT: BENCH_DRAFT=1)"
	"$PB" compare -id "$id" -what "$what" -runs "$n" -warmup "$warmup" \
		-ray "$ADOPIPE_TEST_RAY_ADDRESS" -proxy "$PROXY" -session "$session" \
		-log-dir "$ws/logs" -json "$BENCH_JSON" -before "'$PB' forget -db '$DB'" -offset-base "$((RANDOM * 100))" \
		-a "$(adopipe_cmd "$scen")" -a-name adopipe -a-prepare "$a_prep" \
		-a-check "$(check_offset "$off")" -a-wheels "$ws/$scen/adopipe/.adopipe/cache" \
		-b "$(ado_cmd "$scen")" -b-name "ado --remote" -b-prepare "$b_prep" \
		-b-check "$(check_offset "$off")" -b-wheels "$(printf "$ws/$scen/ado/plugins/%s/dist," "${plugins[@]}")" \
		"$@"
}

scenarios="${PEER_SCENARIOS:-plugin yaml noop three sklearn}"
for scen in $scenarios; do
	case "$scen" in
	plugin)
		plugins=(quickstart)
		make_ws plugin quickstart_poly "${plugins[@]}"
		compare plugin peer.plugin "(a) one plugin file edited" \
			"$(edit_plugin plugin adopipe quickstart adopipe_quickstart)" \
			"$(edit_plugin plugin ado quickstart adopipe_quickstart)" '$BENCH_OFFSET' \
			"$((runs + warmup < disk_edits ? disk_edits - warmup : runs))" \
			-speedup 3 -a-builds 1 -a-no-env -disk-edits "$disk_edits"
		;;
	yaml)
		plugins=(quickstart)
		make_ws yaml quickstart_poly "${plugins[@]}"
		compare yaml peer.yaml "(b) only the operation YAML edited" \
			"$(edit_yaml yaml adopipe)" "$(edit_yaml yaml ado)" 0 "$runs" \
			-speedup 5 -a-builds 0 -a-no-env
		;;
	noop)
		plugins=(quickstart)
		make_ws noop quickstart_poly "${plugins[@]}"
		compare noop peer.noop "(c) nothing changed" "" "" 0 "$runs" -a-no-job
		;;
	three)
		plugins=(quickstart extra-one extra-two)
		make_ws three quickstart_poly "${plugins[@]}"
		compare three peer.three "(d) one of three plugins edited" \
			"$(edit_plugin three adopipe quickstart adopipe_quickstart)" \
			"$(edit_plugin three ado quickstart adopipe_quickstart)" '$BENCH_OFFSET' "$runs" \
			-speedup 3 -a-builds 1
		;;
	sklearn)
		plugins=(sk)
		make_ws sklearn sk_poly "${plugins[@]}"
		compare sklearn peer.sklearn "(e) plugin needing scikit-learn edited" \
			"$(edit_plugin sklearn adopipe sk bench_sk)" \
			"$(edit_plugin sklearn ado sk bench_sk)" '$BENCH_OFFSET' "$runs" \
			-speedup 10 -a-builds 1
		;;
	*)
		echo "bench: unknown scenario $scen (plugin yaml noop three sklearn)" >&2
		exit 2
		;;
	esac
done
