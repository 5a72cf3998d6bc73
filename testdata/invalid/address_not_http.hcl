cluster "dev" {
  address = "ray://127.0.0.1:10001" # ERROR: Invalid cluster address
}
