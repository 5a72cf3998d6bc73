// Package examples holds adopipe's example projects (quickstart/, remote/)
// and, in its tests, the real tier that runs the quickstart end to end:
//
//	go test ./examples/ -run Quickstart -v -timeout 20m
//
// Those tests build cmd/adopipe, need the project's .venv (`make venv`) and
// start a local Ray head through adopipe itself; `go test -short` skips them.
package examples
