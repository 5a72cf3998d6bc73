cluster "dev" {
  address = "http://127.0.0.1:8265"
  adress  = "http://127.0.0.1:8265" # ERROR: Unsupported argument
}
