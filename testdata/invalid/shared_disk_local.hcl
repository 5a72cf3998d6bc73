cluster "dev" {
  local {}
  shared_disk = true # ERROR: Conflicting cluster settings
}
