cluster "9lives" { # ERROR: Invalid cluster name
  address = "http://127.0.0.1:8265"
}
