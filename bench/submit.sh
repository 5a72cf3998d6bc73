#!/usr/bin/env bash
# bench/submit.sh: submitting a staged job directory (issue 8, items 1-2).
#
#   submit.fresh      `adopipe apply` of a job whose extra file changed (a
#                     new package each run) vs `ray job submit --no-wait` of
#                     the same staged directory, with the same file changed,
#                     from the project's .venv (target: adopipe >= 5x faster)
#   submit.unchanged  a second `adopipe apply` with nothing changed vs
#                     `ray job submit --no-wait` of the unchanged directory:
#                     wall time, bytes uploaded and jobs submitted per run
#                     (target: adopipe uploads 0 bytes and submits 0 jobs)
#
# The job directory holds a ~3 MB wheel (bench/gentree's 1 plugin x 1,000
# files, built once by the first apply), the YAMLs, ray_runtime_env.yaml and
# nonce.txt (files = ["nonce.txt"]); the entrypoint is `true`. Both sides
# talk to the same Ray head through bench's counting proxy
# (raybench proxy), which counts uploaded bytes and submissions. Before
# each run the cluster is let go idle (untimed), so earlier jobs do not
# slow the next run down.
#
# Needs a Ray head: it runs under scripts/with-ray-head unless
# ADOPIPE_TEST_RAY_ADDRESS is set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_ray "$0" "$@"

[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || bench_build
tree="$(bench_tree 1x1000 -plugins 1 -files 1000)"
start_proxy

ws="$BENCH_DIR/ws-submit"
bench_ws "$ws"
nonce >"$ws/nonce.txt"
bench_manifest -build -files '["nonce.txt"]' "$ws/ado.hcl" bench "$PROXY" submit "$tree/plugins/actuators/bench_p0"

# The first apply builds the wheel; the staged copy is what ray submits.
"$ADOPIPE" -C "$ws" apply --auto-approve >"$BENCH_DIR/submit-first.out"
"$ADOPIPE" -C "$ws" stage -o "$ws/staged" >/dev/null
job="$ws/staged/submit"
size=$(tree_bytes "$job")
echo "submit.sh: job directory $job: $(find "$job" -type f | wc -l) files, $((size / 1000)) kB" >&2

A_OUT="$BENCH_DIR/submit-a.jsonl"
B_OUT="$BENCH_DIR/submit-b.jsonl"
rm -f "$A_OUT" "$B_OUT"
ray_submit="'$RAY' job submit --no-wait --address '$PROXY' --working-dir '$job' --runtime-env '$job/ray_runtime_env.yaml' -v -- true"

bt -id submit.fresh -what "submit a changed $((size / 1000)) kB job directory" \
	-a-prepare "'$RB' idle '$PROXY' && nonce=\$(date +%s%N) && echo \$nonce > '$ws/nonce.txt' && '$RB' reset '$PROXY'" \
	-a "'$ADOPIPE' -C '$ws' apply --auto-approve" -a-name "adopipe apply" \
	-a-after "grep -q 'Apply complete: .* 1 submitted,' \"\$BENCH_STDOUT\" && '$RB' stats '$PROXY' >> '$A_OUT'" \
	-b-prepare "'$RB' idle '$PROXY' && nonce=\$(date +%s%N) && echo \$nonce > '$job/nonce.txt' && '$RB' reset '$PROXY'" \
	-b "$ray_submit" -b-name "ray job submit" \
	-b-after "'$RB' stats '$PROXY' >> '$B_OUT'" \
	-max-ratio 0.2
echo "[submit.fresh] reached the cluster per run: adopipe $("$RB" sum "$A_OUT"); ray $("$RB" sum "$B_OUT")"

rm -f "$A_OUT" "$B_OUT"
bt -id submit.unchanged -what "resubmit an unchanged job directory" \
	-a-prepare "'$RB' idle '$PROXY' && '$RB' reset '$PROXY'" \
	-a "'$ADOPIPE' -C '$ws' apply --auto-approve" -a-name "adopipe apply" \
	-a-after "'$RB' stats '$PROXY' >> '$A_OUT'" \
	-b-prepare "'$RB' idle '$PROXY' && '$RB' reset '$PROXY'" \
	-b "$ray_submit" -b-name "ray job submit" \
	-b-after "'$RB' stats '$PROXY' >> '$B_OUT'"
a_sum="$("$RB" sum "$A_OUT")"
b_sum="$("$RB" sum "$B_OUT")"
verdict=MISSED
if grep -q 'uploaded_bytes=0 .*submits=0 ' <<<"$a_sum"; then verdict=met; fi
echo "[submit.unchanged] reached the cluster: adopipe $a_sum; ray $b_sum | target adopipe uploads 0 bytes and submits 0 jobs: $verdict"
