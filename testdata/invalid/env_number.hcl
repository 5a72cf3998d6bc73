env = {
  OMP_NUM_THREADS = 1 # ERROR: Invalid environment variable value
}
