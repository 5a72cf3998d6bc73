# `make bench`: every benchmark of bench/ (bench/all.sh) on this machine,
# against a Ray head scripts/with-ray-head starts on 127.0.0.1 and stops by
# pid. Figures are ratios against baselines measured in the same run; see
# docs/benchmarks.md. BENCH_RUNS (>= 5) sets the timed runs per figure.

.PHONY: bench
bench: venv
	bench/all.sh
