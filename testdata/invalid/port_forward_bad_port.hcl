cluster "dev" {
  port_forward {
    namespace = "discovery-dev"
    service   = "ray-head-svc"
    port      = 70000 # ERROR: Invalid port
  }
}
