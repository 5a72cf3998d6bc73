cluster "dev" {
  address = "http://127.0.0.1:8265"
  headers = { "X-Team" = env("ADOPIPE_TEST_SURELY_UNSET") } # ERROR: Error in function call
}
