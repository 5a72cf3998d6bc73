#!/usr/bin/env bash
# bench/incremental.sh: one plugin of three edited, then applied (issue 8,
# item 3).
#
#   apply.incremental  `adopipe apply` vs the manual recipe (bench/recipe.sh:
#                      rebuild every plugin with `python -m build -w`, write
#                      ray_runtime_env.yaml, `ray job submit --no-wait`),
#                      after the same one-line edit to one plugin
#                      (target: adopipe >= 2.5x faster, exactly one build)
#
# Three small plugins from bench/gentree (3 x 20 files); each side has its
# own copy of the tree (a git repository) and edits the same file before
# each run (untimed). Builds use the project's .venv python without build
# isolation on both sides. adopipe's builds are counted from its --json
# events (build_start); any count but 1 fails the run.
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
cp "$ws/context.yaml" "$ws/operation.yaml" "$ws/job/"
pa="$ws/tree-a/plugins/actuators"
pb="$ws/tree-b/plugins/actuators"
bench_manifest -build "$ws/ado.hcl" bench "$PROXY" incr "$pa"/bench_p{0,1,2}

# The first apply builds all three wheels.
"$ADOPIPE" -C "$ws" apply --auto-approve >"$BENCH_DIR/incr-first.out"
edit=src/ado_actuators/bench_p1/m000/mod_00000.py
counts="$BENCH_DIR/incr-builds.txt"
rm -f "$counts"

bt -id apply.incremental -what "apply after editing 1 of 3 plugins" \
	-a-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pa/bench_p1/$edit'" \
	-a "'$ADOPIPE' -C '$ws' apply --auto-approve --json" -a-name "adopipe apply" \
	-a-after "n=\$(grep -c '\"type\":\"build_start\"' \"\$BENCH_STDOUT\" || true); echo \$n >> '$counts'; [ \"\$n\" = 1 ] || { echo \"adopipe built \$n wheels, want 1\" >&2; exit 1; }" \
	-b-prepare "'$RB' idle '$PROXY' && echo \"# edit \$(date +%s%N)\" >> '$pb/bench_p1/$edit'" \
	-b "PY='$PY' RAY='$RAY' '$root/bench/recipe.sh' '$ws/job' '$PROXY' '$pb/bench_p0' '$pb/bench_p1' '$pb/bench_p2'" \
	-b-name "manual recipe" \
	-max-ratio 0.4
echo "[apply.incremental] wheels built by adopipe per run: $(tr '\n' ' ' <"$counts")(target exactly 1: $(if grep -qv '^1$' "$counts"; then echo MISSED; else echo met; fi))"
