package main

import (
	"fmt"
	"os"

	"github.com/adopipe/adopipe/manifest"
	"github.com/spf13/cobra"
)

// globalFlags are accepted by every command.
type globalFlags struct {
	chdir    string
	file     string
	noColor  bool
	vars     []string
	varFiles []string
	varOrder []manifest.VarSource
}

func (g *globalFlags) register(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVarP(&g.chdir, "chdir", "C", "", "switch to `DIR` before doing anything else")
	pf.StringVarP(&g.file, "file", "f", "", "read the manifest from `FILE` instead of ado.hcl")
	pf.BoolVar(&g.noColor, "no-color", false, "disable colour in output")
	pf.Var(&orderedVars{g, false}, "var", "set a variable: `NAME=VALUE` (repeatable)")
	pf.Var(&orderedVars{g, true}, "var-file", "read variables from an HCL `FILE` (repeatable)")
}

// apply runs before every command: -C changes directory like Terraform's
// -chdir, so every relative path after it is relative to DIR.
func (g *globalFlags) apply() error {
	if g.chdir != "" {
		if err := os.Chdir(g.chdir); err != nil {
			return fmt.Errorf("cannot switch to %s: %w", g.chdir, err)
		}
	}
	return nil
}

// manifestPath returns the manifest file to read.
func (g *globalFlags) manifestPath() (string, error) {
	if g.file != "" {
		return g.file, nil
	}
	return manifest.FindFile(".")
}

// orderedVars keeps --var and --var-file in command-line order, since a
// later value wins over an earlier one.
type orderedVars struct {
	g      *globalFlags
	isFile bool
}

func (o *orderedVars) String() string { return "" }
func (o *orderedVars) Type() string {
	if o.isFile {
		return "file"
	}
	return "name=value"
}
func (o *orderedVars) Set(v string) error {
	if o.isFile {
		o.g.varFiles = append(o.g.varFiles, v)
		o.g.varOrder = append(o.g.varOrder, manifest.VarSource{File: v})
	} else {
		o.g.vars = append(o.g.vars, v)
		o.g.varOrder = append(o.g.varOrder, manifest.VarSource{Assignment: v})
	}
	return nil
}
