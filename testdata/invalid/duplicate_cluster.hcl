cluster "dev" {
  address = "http://127.0.0.1:8265"
}
cluster "dev" { # ERROR: Duplicate cluster block
  address = "http://127.0.0.1:8266"
}
