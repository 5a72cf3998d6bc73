#!/usr/bin/env bash
# bench/buildpar.sh: how many wheels to build at once (issue 15, §3).
#
#   build.par1      `adopipe stage` building 3 plugins with the default
#                   --parallelism (twice the cores) vs --parallelism 1
#   build.parcores  the same default vs --parallelism equal to the cores
#                   (the default until 5 quiet rounds of this bench showed
#                   3 at once 1.19x faster than 2 on 2 cores)
#
# Three plugins from bench/gentree (3 x 200 files), built from scratch in
# every run (the wheel cache is removed beforehand, untimed) with the
# project's .venv python and no build isolation, by whichever frontend
# adopipe picks by default. `adopipe stage` contacts no cluster, so no Ray
# head is needed. Issue 15: keep whichever setting is faster.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
src="$(bench_tree 3x200 -plugins 3 -files 200 -size 2048)"
ws="$BENCH_DIR/ws-buildpar"
bench_ws "$ws"
cp -a "$src" "$ws/tree"
plugins="$ws/tree/plugins/actuators"
# The cluster is never contacted by stage; the address only has to parse.
bench_manifest -build "$ws/ado.hcl" bench "http://127.0.0.1:9" par "${plugins:?}"/bench_p{0,1,2}
cores="$(nproc)"
def=$((2 * cores)) # wheelbuild.DefaultParallelism

# stage_cmd N: a fresh staging of the job, building all three wheels.
stage_cmd() { echo "'$ADOPIPE' -C '$ws' stage --parallelism $1 -o '$ws/staged'"; }
fresh="rm -rf '$ws/.adopipe/cache' '$ws/staged' && rm -rf '${plugins:?}'/*/build '${plugins:?}'/*/src/*.egg-info"
# Every run must build exactly three wheels.
built="n=\$(grep -c ': built ' \"\$BENCH_STDOUT\" || true); [ \"\$n\" = 3 ] || { echo \"built \$n wheels, want 3\" >&2; exit 1; }"

bt -id build.par1 -what "stage 3 plugins from scratch: --parallelism $def (twice the cores, default) vs 1" \
	-a-prepare "$fresh" -a "$(stage_cmd "$def") 2>&1" -a-name "parallelism $def" -a-after "$built" \
	-b-prepare "$fresh" -b "$(stage_cmd 1) 2>&1" -b-name "parallelism 1" -b-after "$built" \
	-max-ratio 1
bt -id build.parcores -what "stage 3 plugins from scratch: --parallelism $def (twice the cores, default) vs $cores (the cores)" \
	-a-prepare "$fresh" -a "$(stage_cmd "$def") 2>&1" -a-name "parallelism $def" -a-after "$built" \
	-b-prepare "$fresh" -b "$(stage_cmd "$cores") 2>&1" -b-name "parallelism $cores" -b-after "$built" \
	-max-ratio 1
