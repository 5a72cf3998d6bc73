package rayjobs

// Test helpers shared with the external test package (real_test.go is
// package rayjobs_test: its Ray head comes from internal/raytest, which
// imports localcluster, which imports rayjobs).
var WriteTree = writeTree
