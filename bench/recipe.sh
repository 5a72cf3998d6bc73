#!/usr/bin/env bash
# bench/recipe.sh JOBDIR ADDRESS PLUGIN_DIR...
#
# The manual recipe of docs' "Running ado on a remote Ray cluster"
# (reference/remote_run.md), the baseline of bench/incremental.sh: for each
# plugin checkout `rm -rf dist/ build/; python -m build -w` and move the
# wheel into the job directory; write ray_runtime_env.yaml listing every
# wheel; `ray job submit --no-wait`. JOBDIR already holds context.yaml and
# operation.yaml. Uses $PY (python) and $RAY (ray CLI). The builds run
# with --no-isolation, as adopipe's side does (build { isolation = false }),
# so neither side downloads setuptools.
set -euo pipefail
jobdir="$1" address="$2"
shift 2
rm -f "$jobdir"/*.whl
for p in "$@"; do
	(cd "$p" && rm -rf dist/ build/ && "$PY" -m build -w --no-isolation >/dev/null && mv dist/*.whl "$jobdir/")
done
cd "$jobdir"
{
	echo "pip:"
	for w in *.whl; do echo "  - \${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/$w"; done
	cat <<'YAML'
env_vars:
  PYTHONUNBUFFERED: "x"
  OMP_NUM_THREADS: "1"
  OPENBLAS_NUM_THREADS: "1"
  RAY_AIR_NEW_PERSISTENCE_MODE: "0"
YAML
} >ray_runtime_env.yaml
exec "$RAY" job submit --no-wait --address "$address" --working-dir . --runtime-env ray_runtime_env.yaml -v -- true
