env = {
  TOKEN = file("fixtures/no-such-token") # ERROR: Error in function call
}
