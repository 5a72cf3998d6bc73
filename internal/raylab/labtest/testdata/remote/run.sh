#!/usr/bin/env bash
# The lab job: two successive ado operations on one sample store (the
# second is what Debian's MariaDB breaks), and a check that the operator
# plugin is installed on the cluster. With "measure": one operation
# (measure.yaml), for the tests that submit again and again.
set -euo pipefail
echo "lab job via ${LAB_ROUTE} on $(hostname)"

# ado reads the metastore password only from its context file: write a
# private copy with the password from the job's environment.
ctx="$(mktemp --suffix .yaml)"
trap 'rm -f "$ctx"' EXIT
python - "$ctx" <<'PY'
import os, sys, yaml
with open("context.yaml") as f:
    ctx = yaml.safe_load(f)
ctx["metadataStore"]["password"] = os.environ["ADO_MYSQL_PASSWORD"]
with open(sys.argv[1], "w") as f:
    yaml.safe_dump(ctx, f)
PY

if [ "${1:-}" = measure ]; then
    ado -c "$ctx" create operation -f measure.yaml --with space=space.yaml
    echo "lab measure done"
    exit 0
fi
ado -c "$ctx" create operation -f operation.yaml --with space=space.yaml
ado -c "$ctx" create operation -f operation.yaml --use-latest space
# -c on every call: a node's /tmp (HOME here) outlives the job, as a pod's
# does, and ado remembers a default context there that a later job's
# (deleted) context file would break.
ado -c "$ctx" get operators | grep detect_anomalous_series
echo "lab job done"
