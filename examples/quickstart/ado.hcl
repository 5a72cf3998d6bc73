# The quickstart: a small ado plugin built from source and submitted by
# adopipe to a Ray head it starts on this machine, running a random walk
# over a 12-point discovery space. Results land in results/quickstart.db
# (the context's relative SQLite path is made absolute for the local
# cluster), where `ado -c context.yaml show measurements operation
# --use-latest` reads them.
#
#   make demo                   # from the repository root, or:
#   adopipe apply --follow      # here, with the project's .venv on PATH
#   adopipe down                # stop the local Ray head

cluster "local" {
  local {
    num_cpus = 2
  }
}

plugin "quickstart" {
  source = "plugin"
}

operation "walk" {
  cluster   = cluster.local
  context   = "context.yaml"
  operation = "operation.yaml"
  plugins   = [plugin.quickstart]
  files     = ["space.yaml"]

  # The recipe's command, plus --with space=space.yaml: ado creates the
  # discovery space from the staged file and runs the operation on it.
  args = [
    "ado", "-c", "context.yaml", "create", "operation", "-f", "operation.yaml",
    "--with", "space=space.yaml",
  ]
}
