cluster "dev" {
  port_forward { # ERROR: Missing required argument
    command   = "oc"
    namespace = "discovery-dev"
  }
}
