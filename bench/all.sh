#!/usr/bin/env bash
# bench/all.sh: every benchmark; `make bench` runs it.
#
#   plan.sh         no-op plan vs git status, cold plan vs sha256sum (issue 3)
#   scale.sh        plan time and peak RSS at 1k, 10k, 100k files
#   submit.sh       adopipe apply vs ray job submit; unchanged resubmit
#   incremental.sh  one of three plugins edited: apply vs the manual recipe
#   watch.sh        watch latency from a file write to the submit request
#   peer.sh         adopipe vs ado --remote: five scenarios on the lab
#                   (internal/raylab) when it can start here, else on a
#                   local head with a MariaDB metastore (issue 15; the
#                   longest by far)
#
# The first two need no cluster and run before any Ray head starts (an idle
# head still takes CPU). The next three share one Ray head started by
# scripts/with-ray-head (stopped by its pid before peer.sh starts, so that
# one cluster runs at a time), unless ADOPIPE_TEST_RAY_ADDRESS names one;
# peer.sh starts its own cluster, or uses that head. Every figure is
# printed as one line and appended to $BENCH_JSON; the summary table goes to
# $BENCH_DIR/report.md. See docs/benchmarks.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_build
export BENCH_SKIP_BUILD=1 BENCH_JSON
: >"$BENCH_JSON"
report="$BENCH_DIR/report.md"
start=$(date +%s)
{
	echo "# adopipe benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)"
	echo
	bench_machine | sed 's/^/- /'
	echo "- runs: $BENCH_RUNS timed after $BENCH_WARMUP warm-up (watch: 20 edits after 2)"
	echo
} | tee "$report"

"$root/bench/plan.sh"
"$root/bench/scale.sh"
"$root/bench/buildpar.sh"
if [[ -n "${ADOPIPE_TEST_RAY_ADDRESS:-}" ]]; then
	"$root/bench/submit.sh"
	"$root/bench/incremental.sh"
	"$root/bench/watch.sh"
	"$root/bench/peer.sh"
else
	"$root/scripts/with-ray-head" bash -c '"$0/bench/submit.sh" && "$0/bench/incremental.sh" && "$0/bench/watch.sh"' "$root"
	"$root/bench/peer.sh"
fi

{
	echo
	"$BENCH_DIR/bin/benchreport" -markdown "$BENCH_JSON"
	echo
	"$BENCH_DIR/bin/benchreport" -growth scale.warm. -growth scale.cold. "$BENCH_JSON" | sed 's/^/    /'
	echo
	echo "make bench took $(($(date +%s) - start)) s."
} | tee -a "$report"
echo "bench: report in $report"
