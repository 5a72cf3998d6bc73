// Command wheelversion prints the Python package version (PEP 440) of an
// adopipe binary, converted from the version the go command stamped into
// it. make dist names the wheels with it, so a wheel's version and what its
// `adopipe --version` prints both come from git.
//
//	go run ./internal/buildinfo/cmd/wheelversion bin/adopipe
package main

import (
	"debug/buildinfo"
	"fmt"
	"os"

	adopipebuild "github.com/adopipe/adopipe/internal/buildinfo"
	"github.com/adopipe/adopipe/internal/buildinfo/pep440"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wheelversion BINARY")
		os.Exit(2)
	}
	bi, err := buildinfo.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "wheelversion: %v\n", err)
		os.Exit(1)
	}
	v, err := pep440.PythonVersion(adopipebuild.FromBuildInfo(bi).Version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wheelversion: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Println(v)
}
