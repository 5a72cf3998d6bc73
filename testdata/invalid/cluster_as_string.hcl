cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = "dev" # ERROR: Invalid cluster reference
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
}
