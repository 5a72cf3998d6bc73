runtime_env {
  installer = "conda" # ERROR: Unknown installer
}
cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
  runtime_env {
    layout = "egg" # ERROR: Unknown layout
  }
}
