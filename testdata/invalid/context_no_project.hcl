cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_noproject.yaml" # ERROR: has no project key
  operation = "fixtures/operation.yaml"
}
