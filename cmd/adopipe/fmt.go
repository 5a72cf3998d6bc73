package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/manifest"
)

type fmtOptions struct {
	check, diff, recursive, list, write bool
}

func (a *app) fmtCommand() *cobra.Command {
	opts := fmtOptions{}
	cmd := &cobra.Command{
		Use:   "fmt [FILE|DIR|-]...",
		Short: "Rewrite manifests in the canonical format",
		Long: `Fmt rewrites ado.hcl and other .hcl files (variable files too) in the canonical
HCL format. With no arguments it formats the .hcl files of the current
directory; "-" formats standard input to standard output.

With --check nothing is written and the exit status is 3 when a file needs
formatting (0 otherwise), for use in CI.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.check {
				opts.write = false
			}
			return a.runFmt(args, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.check, "check", false, "write nothing; exit 3 if any file is not formatted")
	f.BoolVar(&opts.diff, "diff", false, "show the changes as a unified diff")
	f.BoolVar(&opts.recursive, "recursive", false, "also format files in subdirectories")
	f.BoolVar(&opts.list, "list", true, "list the files whose formatting changed")
	f.BoolVar(&opts.write, "write", true, "write the result back to the files")
	return cmd
}

func (a *app) runFmt(args []string, opts fmtOptions) error {
	if len(args) == 1 && args[0] == "-" {
		src, err := io.ReadAll(a.stdin)
		if err != nil {
			return err
		}
		out, files, diags := manifest.Format(src, "<stdin>")
		if diags.HasErrors() {
			a.printDiags(diags, files)
			return exitCodeError{exitError}
		}
		if opts.check && !bytes.Equal(src, out) {
			return exitCodeError{exitFormat}
		}
		_, err = a.stdout.Write(out)
		return err
	}
	if len(args) == 0 {
		args = []string{"."}
	}
	files, err := manifest.FormatTargets(args, opts.recursive)
	if err != nil {
		return err
	}
	unformatted, failed := 0, false
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, files, diags := manifest.Format(src, path)
		if diags.HasErrors() {
			a.printDiags(diags, files)
			failed = true
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		if opts.list {
			fmt.Fprintln(a.stdout, path)
		}
		if opts.diff {
			a.stdout.Write(diff.Diff(path, src, path, out))
		}
		if opts.write {
			if err := atomicfile.Replace(path, out); err != nil {
				return err
			}
		}
	}
	switch {
	case failed:
		return exitCodeError{exitError}
	case opts.check && unformatted > 0:
		return exitCodeError{exitFormat}
	}
	return nil
}
