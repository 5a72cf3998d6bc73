#!/usr/bin/env bash
# bench/scale.sh: plan time and peak RSS as the tree grows (issue 8,
# item 6).
#
# One plugin checkout from bench/gentree with 1,000, 10,000 and 100,000
# files of ~1 KiB (so the file count is what grows), a git repository, and a
# manifest whose cluster is a stand-in Ray head on loopback (see plan.sh).
# At each size:
#
#   scale.warm.N  warm plan (stat cache filled) vs `git status --porcelain`
#   scale.cold.N  plan without stat cache vs find | xargs sha256sum
#
# Target: peak RSS of plan < 60 MB at 100,000 files (issue 15). No wheel
# is built here (the plan's wheel line is "+ build"): checking a cached
# wheel costs the wheel's size, not the file count, and plan.sh measures
# it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
start_fakehead
for n in 1000 10000 100000; do
	tree="$(bench_tree "scale-$n" -plugins 1 -files "$n" -size 1024)"
	plugin="$tree/plugins/actuators/bench_p0"
	ws="$BENCH_DIR/ws-scale-$n"
	bench_ws "$ws"
	bench_manifest "$ws/ado.hcl" remote "$FAKEHEAD" scale "$plugin"
	"$ADOPIPE" -C "$ws" plan >/dev/null
	files=$(find "$plugin" -type f | wc -l)
	bytes=$(tree_bytes "$plugin")
	rss=()
	((n == 100000)) && rss=(-max-rss-mb 60)
	bt -id "scale.warm.$n" -what "warm plan, $files files" \
		-a "'$ADOPIPE' -C '$ws' plan" -a-name adopipe \
		-b "git -C '$tree' status --porcelain" -b-name "git status" "${rss[@]}"
	bt -id "scale.cold.$n" -what "cold plan, $files files, $((bytes / 1000000)) MB" \
		-a-prepare "rm -f '$ws/.adopipe/statcache'" \
		-a "'$ADOPIPE' -C '$ws' plan" -a-name adopipe \
		-b "find '$plugin' -type f -print0 | xargs -0 sha256sum >/dev/null" -b-name "find|sha256sum" \
		-bytes "$bytes" "${rss[@]}"
done
"$BENCH_DIR/bin/benchreport" -growth scale.warm. -growth scale.cold. "$BENCH_JSON"
