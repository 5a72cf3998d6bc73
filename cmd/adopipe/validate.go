package main

import (
	"fmt"

	"github.com/adopipe/adopipe/manifest"

	"github.com/spf13/cobra"
)

func (a *app) validateCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the manifest and the files and sources it refers to",
		Long: `Validate parses ado.hcl, evaluates variables and functions, type-checks every
block, resolves references, and checks that sources, context, operation and
extra files exist and are valid. It contacts no cluster and builds nothing.

Exit status is 0 when the manifest is valid (warnings allowed), 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, p, diags := a.loadManifest()
			errs, warns := manifest.CountDiagnostics(diags)
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{
					"format_version": "1.0",
					"valid":          errs == 0,
					"error_count":    errs,
					"warning_count":  warns,
					"diagnostics":    manifest.DiagnosticsJSON(diags),
				}); err != nil {
					return err
				}
			} else {
				a.printDiags(diags, p.Files())
				if errs == 0 {
					fmt.Fprintln(a.stdout, "Success! The manifest is valid.")
				}
			}
			if errs > 0 {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
