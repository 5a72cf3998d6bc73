#!/usr/bin/env bash
# bench/incremental.sh: one plugin of three edited, then applied (issue 8,
# item 3).
#
#   apply.incremental  `adopipe apply` vs the manual recipe (bench/recipe.sh:
#                      rebuild every plugin with `python -m build -w`, write
#                      ray_runtime_env.yaml, `ray job submit --no-wait`),
#                      after the same one-line edit to one plugin
#                      (target: adopipe >= 2.5x faster, exactly one wheel
#                      built or synced)
#   apply.sync         `adopipe apply` (the edit synced into the last wheel,
#                      no build backend) vs `adopipe apply` with
#                      build { sync = false } (the backend builds), after the
#                      same edit: the before/after of sync in one run
#                      (checks: exactly 1 sync and 0 builds, resp. 1 build)
#
# Three small plugins from bench/gentree (3 x 20 files); each side has its
# own copy of the tree (a git repository) and edits the same file before
# each run (untimed). Builds use the project's .venv python without build
# isolation on both sides. adopipe's builds are counted from its --json
# events (build_start, wheel_synced); any count but 1 fails the run.
#
# Needs a Ray head: it runs under scripts/with-ray-head unless
# ADOPIPE_TEST_RAY_ADDRESS is set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_ray "$0" "$@"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
src="$(bench_tree 3x20 -plugins 3 -files 20 -size 2048)"
start_proxy

ws="$BENCH_DIR/ws-incr"
bench_ws "$ws"
mkdir -p "$ws/job"
cp -a "$src" "$ws/tree-a"
cp -a "$src" "$ws/tree-b"
cp -a "$src" "$ws/tree-c"
cp "$ws/context.yaml" "$ws/operation.yaml" "$ws/job/"
pa="$ws/tree-a/plugins/actuators"
pb="$ws/tree-b/plugins/actuators"
pc="$ws/tree-c/plugins/actuators"
bench_manifest -build "$ws/ado.hcl" bench "$PROXY" incr "$pa"/bench_p{0,1,2}
# The sync-off side: its own workspace and tree.
wsoff="$ws/sync-off"
mkdir -p "$wsoff"
cp "$ws/context.yaml" "$ws/operation.yaml" "$wsoff/"
bench_manifest -build -build-line "sync = false" "$wsoff/ado.hcl" bench "$PROXY" incr "$pc"/bench_p{0,1,2}

# The first apply of each side builds all three wheels.
"$ADOPIPE" -C "$ws" apply --auto-approve >"$BENCH_DIR/incr-first.out"
"$ADOPIPE" -C "$wsoff" apply --auto-approve >"$BENCH_DIR/incr-first-off.out"
edit=src/ado_actuators/bench_p1/m000/mod_00000.py
counts="$BENCH_DIR/incr-builds.txt"
rm -f "$counts"

bt -id apply.incremental -what "apply after editing 1 of 3 plugins" \
	-a-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pa/bench_p1/$edit'" \
	-a "'$ADOPIPE' -C '$ws' apply --auto-approve --json" -a-name "adopipe apply" \
	-a-after "n=\$(grep -Ec '\"type\":\"(build_start|wheel_synced)\"' \"\$BENCH_STDOUT\" || true); echo \$n >> '$counts'; [ \"\$n\" = 1 ] || { echo \"adopipe built or synced \$n wheels, want 1\" >&2; exit 1; }" \
	-b-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pb/bench_p1/$edit'" \
	-b "PY='$PY' RAY='$RAY' '$root/bench/recipe.sh' '$ws/job' '$PROXY' '$pb/bench_p0' '$pb/bench_p1' '$pb/bench_p2'" \
	-b-name "manual recipe" \
	-max-ratio 0.4
echo "[apply.incremental] wheels built or synced by adopipe per run: $(tr '\n' ' ' <"$counts")(target exactly 1: $(if grep -qv '^1$' "$counts"; then echo MISSED; else echo met; fi))"

# Sync against a build: the same edit to 1 of 3 plugins on each side.
synccounts="$BENCH_DIR/incr-sync.txt"
rm -f "$synccounts"
check() { # check TYPE WANT: an -after hook failing the run unless adopipe printed WANT events of TYPE
	echo "n=\$(grep -c '\"type\":\"$1\"' \"\$BENCH_STDOUT\" || true); echo $1 \$n >> '$synccounts'; [ \"\$n\" = $2 ] || { echo \"adopipe: \$n $1 events, want $2\" >&2; exit 1; }"
}
bt -id apply.sync -what "apply after editing 1 of 3 plugins: synced vs built" \
	-a-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pa/bench_p1/$edit'" \
	-a "'$ADOPIPE' -C '$ws' apply --auto-approve --json" -a-name "adopipe apply (sync)" \
	-a-after "$(check wheel_synced 1) && $(check build_start 0)" \
	-b-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pc/bench_p1/$edit'" \
	-b "'$ADOPIPE' -C '$wsoff' apply --auto-approve --json" -b-name "adopipe apply (sync = false)" \
	-b-after "$(check build_start 1)"
echo "[apply.sync] events per run: $(sort "$synccounts" | uniq -c | tr -s ' \n' ' ')"
