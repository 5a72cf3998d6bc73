cluster "dev" {
  address = "http://127.0.0.1:8265"
  local { # ERROR: Conflicting cluster settings
    num_cpus = 2
  }
}
