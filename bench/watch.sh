#!/usr/bin/env bash
# bench/watch.sh: adopipe watch's latency from a file write to the job
# submission reaching the cluster, excluding any wheel build (issue 8,
# item 7). The work is done by bench/cmd/watchlat (see its doc comment):
# a manifest whose only changing input is files = ["input.txt"], watch
# --debounce 200ms, 20 timed edits after 2 warm-up edits, each timed from
# just before the write to the arrival of POST /api/jobs/ at a counting
# proxy in front of the Ray head. Target: median < debounce + 100 ms.
#
# Needs a Ray head: it runs under scripts/with-ray-head unless
# ADOPIPE_TEST_RAY_ADDRESS is set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_ray "$0" "$@"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
edits=$((BENCH_RUNS > 20 ? BENCH_RUNS : 20))
"$BENCH_DIR/bin/watchlat" -adopipe "$ADOPIPE" -ray "$ADOPIPE_TEST_RAY_ADDRESS" \
	-dir "$BENCH_DIR/ws-watch" -edits "$edits" -warmup 2 -debounce "${BENCH_DEBOUNCE:-200ms}" \
	-json "$BENCH_JSON" ${BENCH_VERBOSE:+-v}
