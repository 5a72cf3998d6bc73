cluster "dev" {
  address = "http://${var.host}:8265" # ERROR: Unsupported attribute
}
