build {
  frontend = "poetry" # ERROR: Unknown build frontend
}
