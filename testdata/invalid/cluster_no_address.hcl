cluster "dev" { # ERROR: Cluster has no address
  timeout = "10s"
}
