cluster "dev" {
  address                  = "http://127.0.0.1:8265"
  insecure_skip_tls_verify = "sometimes" # ERROR: Incorrect attribute value type
}
