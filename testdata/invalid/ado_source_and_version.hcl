ado {
  source  = "fixtures/plugin"
  version = "2.3.0" # ERROR: Both source and version
}
