# `make bench`: every benchmark of bench/ (bench/all.sh) on this machine,
# against a Ray head scripts/with-ray-head starts on 127.0.0.1 and stops by
# pid; bench/peer.sh runs on the lab (mk/lab.mk: lab-deps installs its
# packages as root; peer.sh builds raylab and labmysql when it can start
# one) when it can start here, else on such a head. Figures are ratios
# against baselines measured in the same run; see docs/benchmarks.md.
# BENCH_RUNS (>= 5) sets the timed runs per figure.

.PHONY: bench mariadb
bench: venv mariadb lab-deps
	bench/all.sh

# The MariaDB server and client bench/peer.sh runs (ado --remote refuses
# SQLite metastores). Only the -core packages: the binaries, no system
# service that starts on install; bench/peer.sh starts its own server on a
# loopback port and stops it by pid.
MARIADB_PACKAGES := mariadb-server-core mariadb-client-core
mariadb:
	@if ! command -v mariadb >/dev/null 2>&1 || ! test -x /usr/sbin/mariadbd; then \
		echo "installing $(MARIADB_PACKAGES) (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(MARIADB_PACKAGES); \
	fi
