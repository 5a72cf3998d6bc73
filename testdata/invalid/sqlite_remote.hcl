cluster "dev" {
  address = "https://ray.example.com"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_sqlite.yaml" # ERROR: SQLite context on a remote cluster
  operation = "fixtures/operation.yaml"
}
