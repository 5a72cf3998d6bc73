plugin "a" {
  source = "fixtures/does-not-exist" # ERROR: Source directory not found
}
