cluster "dev" {
  address = "http://127.0.0.1:8265"
  headers = {
    "X-Team" # ERROR: Missing attribute value
  }
}
