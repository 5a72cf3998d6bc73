ado {
  version = ">=2.0" # ERROR: Invalid ado version
}
