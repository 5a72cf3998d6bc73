cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/nope.yaml" # ERROR: Context file not found
  operation = "fixtures/operation.yaml"
}
