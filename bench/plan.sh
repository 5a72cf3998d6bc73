#!/usr/bin/env bash
# bench/plan.sh: how fast adopipe decides that nothing changed (issue 3).
#
# On bench/gentree's tree (3 plugins x 5,000 files, ~150 MB, a git
# repository), with a manifest whose 3 plugins are those checkouts and whose
# cluster is a stand-in Ray head on loopback (raybench fakehead: a plan
# asks its cluster for the Ray version, and an answer at once keeps the
# network out of the comparison):
#
#   plan.noop  warm no-op `adopipe plan` vs `git status --porcelain` on the
#              same tree (target: not slower) and its peak RSS (< 100 MB)
#   plan.cold  plan with no stat cache (every file read and hashed) vs
#              `find ... -type f -print0 | xargs -0 sha256sum` over the same
#              three checkouts (target: at least as fast)
#
# The 3 wheels are built once beforehand with `adopipe stage` (which
# contacts no cluster), so the plan finds them in the wheel cache: every
# wheel line is "= cached", as after an apply. The job line stays "+ submit"
# because nothing was ever submitted to that head; deciding that
# costs the same as deciding "= already submitted" (one digest compared).
#
#   bench/plan.sh            (make bench runs it with the others)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
tree="$(bench_tree 3x5000 -plugins 3 -files 5000)"
ws="$BENCH_DIR/ws-plan"
plugins="$tree/plugins/actuators"

start_fakehead
# The manifest is written on every run (the head's port changes); the
# workspace and its wheel cache are kept while the tree is the same.
if [[ ! -f "$ws/.stamp" || "$(cat "$ws/.stamp")" != "$(cat "$BENCH_DIR/trees/3x5000.stamp")" ]]; then
	bench_ws "$ws"
fi
bench_manifest -build "$ws/ado.hcl" remote "$FAKEHEAD" bench "$plugins"/bench_p{0,1,2}
if [[ ! -f "$ws/.stamp" ]]; then
	echo "plan.sh: building the 3 wheels once (adopipe stage)" >&2
	"$ADOPIPE" -C "$ws" stage -o "$ws/staged" >&2
	rm -rf "$ws/staged"
	# setuptools leaves build/ and *.egg-info in the checkouts: remove them
	# so the tree is again exactly what gentree wrote.
	rm -rf "${plugins:?}"/*/build "${plugins:?}"/*/src/*.egg-info
	cp "$BENCH_DIR/trees/3x5000.stamp" "$ws/.stamp"
fi

files=$(find "$plugins" -type f | wc -l)
[[ -z "$(find "$plugins" -name build -o -name dist -o -name '*.egg-info')" ]] || {
	echo "plan.sh: build output in $plugins: the baselines would hash it" >&2
	exit 1
}
bytes=$(tree_bytes "$plugins")
echo "plan.sh: $files files, $((bytes / 1000000)) MB in 3 checkouts" >&2

# Fill the stat cache and check the plan is the no-op one.
"$ADOPIPE" -C "$ws" plan >"$BENCH_DIR/plan-noop.out"
grep -q 'Plan: 0 wheels to build, 3 cached' "$BENCH_DIR/plan-noop.out" || {
	echo "plan.sh: the warm plan is not a no-op:" >&2
	cat "$BENCH_DIR/plan-noop.out" >&2
	exit 1
}

bt -id plan.noop -what "warm no-op plan, 3x5,000 files ($files files)" \
	-a "'$ADOPIPE' -C '$ws' plan" -a-name adopipe \
	-b "git -C '$tree' status --porcelain" -b-name "git status" \
	-max-ratio 1 -max-rss-mb 100

bt -id plan.cold -what "cold plan (no stat cache) vs sha256sum, $((bytes / 1000000)) MB" \
	-a-prepare "rm -f '$ws/.adopipe/statcache'" \
	-a "'$ADOPIPE' -C '$ws' plan" -a-name adopipe \
	-b "find '$plugins' -type f -print0 | xargs -0 sha256sum >/dev/null" -b-name "find|sha256sum" \
	-bytes "$bytes" -max-ratio 1 -max-rss-mb 100
