package main

// Main runs the adopipe command line and returns the process exit code.
func Main() int { return 0 }
