cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.prod # ERROR: Reference to undeclared cluster
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
}
