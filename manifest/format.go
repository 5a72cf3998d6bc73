package manifest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src (named name in diagnostics) in the canonical HCL
// format. Input with syntax errors is refused, not formatted, since
// hclwrite would reshape broken code unpredictably; the files map then
// holds its parse for the diagnostics' snippets.
func Format(src []byte, name string) ([]byte, map[string]*hcl.File, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{name: f}, diags
	}
	return hclwrite.Format(src), nil, nil
}

// FormatTargets lists the .hcl files that formatting paths means: each
// file as given, and the .hcl files of each directory (of its
// subdirectories too when recursive, skipping hidden ones and
// node_modules), sorted.
func FormatTargets(paths []string, recursive bool) ([]string, error) {
	var files []string
	for _, arg := range paths {
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
