plugin "a" {
  source = "fixtures/plugin"
  pip    = "ado-ray-tune==2.2.1" # ERROR: Both source and pip
}
