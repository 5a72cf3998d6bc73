runtime_env {
  setup_timeout = "1500ms" # ERROR: not a whole number of seconds
}
cluster "dev" {
  address = "http://127.0.0.1:8265"
}
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
  runtime_env {
    eager_install = "sometimes" # ERROR: bool required
  }
  runtime_env { # ERROR: Duplicate runtime_env block
    setup_timeout = "5m"
  }
}
