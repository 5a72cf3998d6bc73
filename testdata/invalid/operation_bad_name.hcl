cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "my sweep!" { # ERROR: Invalid operation name
  cluster   = cluster.dev
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
}
