// Command adopipe builds, stages and submits ado operations to Ray clusters
// from one declarative manifest, ado.hcl.
package main

import "os"

func main() { os.Exit(Main()) }
