package main

import (
	"fmt"

	"github.com/adopipe/adopipe/internal/buildinfo"
	"github.com/spf13/cobra"
)

// versionCommand prints what --version prints (version, commit, Go
// toolchain), for those who type `adopipe version` as with kubectl or
// terraform.
func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go toolchain adopipe was built from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(a.stdout, buildinfo.Read().String())
			return err
		},
	}
}
