#!/usr/bin/env bash
# bench/peer.sh: adopipe against `ado --remote` (issue 15), in one run, on
# the same work.
#
# The cluster (PEER_CLUSTER=auto, the default; lab or local force one):
#
#   - the lab (internal/raylab) when it can start here (Linux, root, `ip`
#     and `haproxy`: make lab-deps; raylab and labmysql: make lab, built
#     here when missing): peer.sh re-runs itself under `raylab up`, or uses
#     the lab ADOPIPE_LAB_DIR names. Both sides reach the cluster as a user
#     of a remote one does: through `port-forward` of the lab's stand-in oc
#     (adopipe's `port_forward {}` block; ado's executionType.portForward,
#     which opens one per call) with the lab's token (RAY_AUTH_TOKEN_PATH;
#     `ray job submit` sends it only under RAY_AUTH_MODE=token, set here).
#     The counting proxy sits between the clients and the forwarded local
#     port: both sides' address is the proxy, on port 8265 of a loopback
#     address of its own (ado takes the service port of its `oc
#     port-forward` from its clusterUrl), and the proxy targets the local
#     port that each side's forward binds, one side at a time. The
#     metastore is the lab's MySQL-compatible server (labmysql); the bench
#     reads results and watches jobs through forwards of its own. The node
#     figures come from every lab node's own Ray temp dir (DIR/ray/NODE,
#     the node's /tmp/ray): runtime envs are counted on all nodes and
#     driver logs watched on all nodes.
#   - else a local Ray head (scripts/with-ray-head, unless
#     ADOPIPE_TEST_RAY_ADDRESS and ADOPIPE_TEST_RAY_TEMP_DIR name one),
#     both sides submitting through the counting proxy, and a MariaDB
#     metastore started here (peerbench mariadb: its own datadir under
#     $BENCH_DIR, a free loopback port, stopped by pid at exit), because
#     ado refuses SQLite. ado-core 2.3.0 cannot reuse a sample store's
#     tables on MariaDB (see peerbench forget), so before every run the
#     sample store's tables are dropped, untimed, and every job starts from
#     an empty store.
#
# Which one ran is printed and kept in every JSON record ("cluster"), with
# the machine's load average.
#
# The work: the quickstart's plugin and operation (examples/quickstart),
# the plugin's experiment changed to y = x0*x0 + x1 + OFFSET so that an
# edit shows in the results. ado-core's `ado --remote` builds with
# `uv build` and submits with `ray job submit`, both from the project's
# .venv (make venv).
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
# SUCCEEDED, bytes uploaded, wheels written, runtime envs the nodes created
# and whether the stored results carry the edit. peer.plugin runs at least
# PEER_DISK_EDITS (10) edits per side and reports the disk their envs take.
#
# BENCH_DRAFT=1 allows BENCH_RUNS below 5 (figures marked draft), to try
# the harness; PEER_SCENARIOS="plugin yaml" runs a subset.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# lab_missing prints why the lab cannot start here (nothing when it can).
lab_missing() {
	[[ "$(uname -s)" == Linux ]] || { echo "not Linux"; return; }
	[[ "$(id -u)" == 0 ]] || { echo "not root (the lab needs network and mount namespaces)"; return; }
	command -v ip >/dev/null 2>&1 || { echo "no ip (make lab-deps)"; return; }
	command -v haproxy >/dev/null 2>&1 || { echo "no haproxy (make lab-deps)"; return; }
}

PEER_CLUSTER="${PEER_CLUSTER:-auto}"
if [[ -z "${ADOPIPE_LAB_DIR:-}" && -z "${ADOPIPE_TEST_RAY_ADDRESS:-}" && "$PEER_CLUSTER" != local ]]; then
	why="$(lab_missing)"
	if [[ -z "$why" ]]; then
		[[ "${BENCH_SKIP_BUILD:-}" == 1 && -x "$root/.cache/lab/raylab" && -x "$root/.cache/lab/labmysql" ]] ||
			make -s -C "$root" lab >&2
		echo "peer.sh: cluster: the lab (internal/raylab), started by raylab up" >&2
		cd "$root"
		exec "$root/.cache/lab/raylab" up -venv "$VENV" -labmysql "$root/.cache/lab/labmysql" -- "$root/bench/peer.sh" "$@"
	fi
	[[ "$PEER_CLUSTER" != lab ]] || {
		echo "bench: PEER_CLUSTER=lab but the lab cannot start here: $why" >&2
		exit 1
	}
	export PEER_LOCAL_WHY="the lab cannot start here: $why"
fi
[[ -n "${ADOPIPE_LAB_DIR:-}" ]] || need_ray "$0" "$@"
scenarios="${PEER_SCENARIOS:-plugin yaml noop three sklearn}"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
PB="$BENCH_DIR/bin/peerbench"
for tool in ado uv ray; do
	[[ -x "$VENV/bin/$tool" ]] || {
		echo "bench: $VENV/bin/$tool not found: run make venv" >&2
		exit 1
	}
done
# ado --remote runs `uv build` and `ray job submit` from PATH (and, on the
# lab, `oc`: raylab up put the stand-in's directory first on PATH).
export PATH="$VENV/bin:$PATH"

# lab_forward SERVICE PORT: a port-forward of the bench's own (the stand-in
# oc, kept for the whole run, stopped by pid at exit) to SERVICE:PORT in
# the lab; sets FWD_PORT to its local port.
lab_forward() {
	local out="$BENCH_DIR/forward.$$.$1" i pid
	: >"$out" # before oc's shell opens it: the loop below reads it at once
	"$LAB_OC" port-forward --namespace "$LAB_NS" "svc/$1" "0:$2" >"$out" 2>&1 &
	pid=$!
	bench_on_exit "kill $pid 2>/dev/null; rm -f '$out'"
	for ((i = 0; i < 600; i++)); do
		FWD_PORT="$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> .*/\1/p' "$out" | head -1)"
		[[ -z "$FWD_PORT" ]] || return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1 # polling for oc's "Forwarding from" line
	done
	echo "bench: $LAB_OC port-forward svc/$1 did not start:" >&2
	cat "$out" >&2
	exit 1
}

# free_on HOST PORT: is PORT free on HOST?
free_on() { "$PY" -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], int(sys.argv[2])))' "$1" "$2" 2>/dev/null; }

if [[ -n "${ADOPIPE_LAB_DIR:-}" ]]; then
	LAB_NS="${ADOPIPE_LAB_NAMESPACE:?bench: ADOPIPE_LAB_NAMESPACE unset: run under raylab up}"
	LAB_OC="$ADOPIPE_LAB_DIR/bin/oc"
	[[ "$(command -v oc)" == "$LAB_OC" ]] || {
		echo "bench: oc on PATH is $(command -v oc || echo nothing), not the lab's $LAB_OC" >&2
		exit 1
	}
	# `ray job submit` sends the token only when the client's auth mode is token.
	export RAY_AUTH_MODE=token
	: "${RAY_AUTH_TOKEN_PATH:?bench: RAY_AUTH_TOKEN_PATH unset: run under raylab up}"
	# The bench's own ways in: watching jobs (not counted) and the metastore.
	lab_forward ray-head-svc 8265
	RAY_MON="http://127.0.0.1:$FWD_PORT"
	lab_forward mysql 3306
	DB="127.0.0.1:$FWD_PORT"
	DB_FLAGS="-db-user ado -db-name adopipe_lab -db-password-file '$ADOPIPE_LAB_DIR/secrets/mysql_password'"
	# The local port each side's forward binds (one side at a time), and
	# the proxy in front of it, on port 8265 of a loopback address of its own.
	fwd_port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	proxy_host=""
	for h in 127.0.0.2 "127.$((RANDOM % 200 + 20)).$((RANDOM % 250)).$((RANDOM % 250 + 1))" "127.$((RANDOM % 200 + 20)).$((RANDOM % 250)).$((RANDOM % 250 + 1))"; do
		free_on "$h" 8265 && {
			proxy_host="$h"
			break
		}
	done
	[[ -n "$proxy_host" ]] || {
		echo "bench: port 8265 is taken on every loopback address tried" >&2
		exit 1
	}
	start_proxy "http://127.0.0.1:$fwd_port" "$proxy_host:8265"
	# Every node's session, under the node's own temp dir: session_latest
	# points at /tmp/ray/session_..., the path the node itself sees.
	sessions=""
	for node in "$ADOPIPE_LAB_DIR"/ray/*/; do
		s="$(readlink "$node/session_latest")" || continue
		sessions+="${node%/}/$(basename "$s"),"
	done
	[[ -n "$sessions" ]] || {
		echo "bench: no node session under $ADOPIPE_LAB_DIR/ray" >&2
		exit 1
	}
	nodes="$(ls "$ADOPIPE_LAB_DIR/ray" | tr '\n' ' ')"
	CLUSTER="the lab (internal/raylab: nodes ${nodes% }; both sides through the stand-in oc port-forward, token auth, labmysql metastore)"
	BEFORE=""
	# The lab has no route out. For (e), scikit-learn and its dependencies
	# come from a wheelhouse in the lab's own directory (visible to every
	# node), as an air-gapped cluster's mirror would serve them: downloaded
	# here once, untimed, and named to both sides' installers through the
	# job's env vars (Ray's pip and uv plugins run with them; neither puts
	# them in the env's key). Both sides install from it, so its speed
	# favours neither.
	if [[ " $scenarios " == *" sklearn "* ]]; then
		wheels="$BENCH_DIR/wheelhouse"
		[[ -f "$wheels/.complete" ]] || {
			"$PY" -m pip download -q --only-binary :all: -d "$wheels" scikit-learn==1.9.1 >&2
			touch "$wheels/.complete"
		}
		LAB_WHEELS="$ADOPIPE_LAB_DIR/wheelhouse"
		cp -a "$wheels" "$LAB_WHEELS"
	fi
	echo "peer.sh: lab $ADOPIPE_LAB_DIR: both sides' forwards on 127.0.0.1:$fwd_port behind the proxy $PROXY; metastore forwarded at $DB; node sessions ${sessions%,}" >&2
else
	RAY_MON="$ADOPIPE_TEST_RAY_ADDRESS"
	sessions="${ADOPIPE_TEST_RAY_TEMP_DIR:?bench: set ADOPIPE_TEST_RAY_TEMP_DIR to the temp dir of the Ray head (scripts/with-ray-head sets it)}/session_latest"
	start_proxy
	db_file="$BENCH_DIR/mariadb.$$.addr"
	rm -f "$db_file"
	"$PB" mariadb -dir "$BENCH_DIR/mariadb" -addr-file "$db_file" &
	# Stopped by its pid; it stops mariadbd (by pid) and exits within a minute.
	bench_on_exit "kill $! 2>/dev/null; for i in \$(seq 350); do kill -0 $! 2>/dev/null || break; sleep 0.2; done; rm -f '$db_file'"
	wait_for_file "$db_file" $! 600 # a first run initialises the datadir
	DB="$(cat "$db_file")"
	DB_FLAGS=""
	CLUSTER="a local head (${PEER_LOCAL_WHY:-chosen: PEER_CLUSTER=$PEER_CLUSTER or ADOPIPE_TEST_RAY_ADDRESS given}; MariaDB metastore)"
	BEFORE="'$PB' forget -db '$DB'"
	echo "peer.sh: local head, MariaDB at $DB, Ray session $sessions" >&2
fi
echo "peer.sh: cluster: $CLUSTER" >&2

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

if [[ -n "${ADOPIPE_LAB_DIR:-}" ]]; then
	# ado 2.3.0 reads the password only from the context file, and ado
	# --remote uploads that file, so both sides ship it (the lab's
	# password, made per lab).
	cat >"$ws/src/context.yaml" <<EOF
# Written by bench/peer.sh: the lab's metastore, as the job reaches it.
project: adopipe_lab
metadataStore:
  scheme: mysql+pymysql
  host: mysql.$LAB_NS.svc.cluster.local
  port: 3306
  database: adopipe_lab
  user: ado
  password: $(cat "$ADOPIPE_LAB_DIR/secrets/mysql_password")
  sslVerify: false
EOF
else
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
fi

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
	# The lab has no route out, and Ray's uv plugin runs `uv pip install`
	# in the env it made (a clone of the base env, ado-core in it), which
	# still asks the package index for ado-core and fails; offline, uv
	# takes the clone's ado-core. An air-gapped cluster needs the same (or
	# an index mirror). The runtime env's env_vars reach uv's environment
	# and do not enter the uv env's key.
	[[ -z "${ADOPIPE_LAB_DIR:-}" ]] || env+=$'\n  UV_OFFLINE: "1"'
	local lab_env=()
	[[ -z "${LAB_WHEELS:-}" ]] || lab_env=(PIP_NO_INDEX=1 "PIP_FIND_LINKS=$LAB_WHEELS" "UV_FIND_LINKS=$LAB_WHEELS")
	local kv
	for kv in "${lab_env[@]}"; do env+=$'\n'"  ${kv%%=*}: \"${kv#*=}\""; done
	{
		echo "# Written by bench/peer.sh: ado --remote's side of $scen."
		echo "executionType:"
		echo "  type: cluster"
		echo "  clusterUrl: $PROXY"
		if [[ -n "${ADOPIPE_LAB_DIR:-}" ]]; then
			echo "  portForward:"
			echo "    namespace: $LAB_NS"
			echo "    serviceName: ray-head-svc"
			echo "    localPort: $fwd_port"
		fi
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
		if [[ -n "${ADOPIPE_LAB_DIR:-}" ]]; then
			echo "  port_forward {"
			echo "    command    = \"$LAB_OC\""
			echo "    namespace  = \"$LAB_NS\""
			echo "    service    = \"ray-head-svc\""
			echo "    port       = 8265"
			echo "    local_port = $fwd_port"
			echo "  }"
		fi
		echo "}"
		echo "build {"
		echo "  python = \"$PY\""
		echo "}"
		if ((${#lab_env[@]})); then
			echo "env = {"
			for kv in "${lab_env[@]}"; do echo "  ${kv%%=*} = \"${kv#*=}\""; done
			echo "}"
		fi
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
check_offset() { echo "'$PB' results -db '$DB' $DB_FLAGS -submission \"\$BENCH_SUBMISSION_ID\" -offset $1"; }

warmup=$((BENCH_WARMUP < 1 ? 1 : BENCH_WARMUP)) # every workspace starts cold
runs="$BENCH_RUNS"
disk_edits="${PEER_DISK_EDITS:-10}"

# compare SCENARIO ID WHAT ADOPIPE-PREPARE ADO-PREPARE CHECK-OFFSET RUNS FLAGS...
compare() {
	local scen="$1" id="$2" what="$3" a_prep="$4" b_prep="$5" off="$6" n="$7"
	shift 7
	[[ "${BENCH_DRAFT:-}" != 1 ]] || what="$what (DRAFT: BENCH_DRAFT=1)"
	"$PB" compare -id "$id" -what "$what" -runs "$n" -warmup "$warmup" \
		-ray "$RAY_MON" -proxy "$PROXY" -session "${sessions%,}" -cluster "$CLUSTER" \
		-log-dir "$ws/logs" -json "$BENCH_JSON" -before "$BEFORE" -offset-base "$((RANDOM * 100))" \
		-a "$(adopipe_cmd "$scen")" -a-name adopipe -a-prepare "$a_prep" \
		-a-check "$(check_offset "$off")" -a-wheels "$ws/$scen/adopipe/.adopipe/cache" \
		-b "$(ado_cmd "$scen")" -b-name "ado --remote" -b-prepare "$b_prep" \
		-b-check "$(check_offset "$off")" -b-wheels "$(printf "$ws/$scen/ado/plugins/%s/dist," "${plugins[@]}")" \
		"$@"
}

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
			-speedup 5 -a-builds 0 -a-no-env -floor-within 0.3 \
			-floor-stage "'$ADOPIPE' -C '$ws/yaml/adopipe' stage -o \"\$BENCH_FLOOR_DIR\""
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
