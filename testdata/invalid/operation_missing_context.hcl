cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" { # ERROR: Missing required argument
  cluster   = cluster.dev
  operation = "fixtures/operation.yaml"
}
