# What `oc port-forward` gives: a loopback address to a cluster far away.
cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_sqlite.yaml" # ERROR: SQLite context on a remote cluster
  operation = "fixtures/operation.yaml"
}
