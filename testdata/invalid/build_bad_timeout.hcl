build {
  timeout = "forever" # ERROR: Invalid duration
}
