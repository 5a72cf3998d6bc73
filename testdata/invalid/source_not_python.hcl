plugin "a" {
  source = "fixtures/noproject" # ERROR: Source is not a Python project
}
