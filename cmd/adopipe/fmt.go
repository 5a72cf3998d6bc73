package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/adopipe/adopipe/internal/atomicfile"
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
		out, files, diags := formatHCL(src, "<stdin>")
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
	files, err := fmtTargets(args, opts.recursive)
	if err != nil {
		return err
	}
	unformatted, failed := 0, false
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, files, diags := formatHCL(src, path)
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
			if err := writeFileKeepMode(path, out); err != nil {
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

// formatHCL refuses input with syntax errors rather than formatting it,
// since hclwrite would otherwise reshape broken code unpredictably.
func formatHCL(src []byte, name string) ([]byte, map[string]*hcl.File, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{name: f}, diags
	}
	return hclwrite.Format(src), nil, nil
}

func fmtTargets(args []string, recursive bool) ([]string, error) {
	var files []string
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("cannot format %s: %w", arg, err)
		}
		if !fi.IsDir() {
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path == arg {
					return nil
				}
				name := d.Name()
				if !recursive || strings.HasPrefix(name, ".") || name == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".hcl") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// writeFileKeepMode replaces a file atomically, keeping its permissions,
// so an interrupted fmt never leaves a half-written manifest.
func writeFileKeepMode(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, atomicfile.Options{Perm: fi.Mode().Perm()})
}
