package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/planner"
)

// contextFile returns the context YAML to stage for a job: the file
// itself, or, when the spec points its SQLite metastore at an absolute
// path (planner.JobSpec.SQLitePath), a copy saying so, with that path's
// directory created, which ado does not do.
func contextFile(workDir string, spec planner.JobSpec) (string, error) {
	src := spec.ContextFile().Src
	if spec.SQLitePath == "" {
		return src, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	abs := spec.SQLitePath
	if !setMapPath(&doc, abs, "metadataStore", "path") {
		return src, nil
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return "", fmt.Errorf("creating the SQLite directory: %w", err)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(workDir, "contexts", spec.Operation, filepath.Base(src))
	return dst, atomicfile.Write(dst, out, atomicfile.Options{}) // 0600: a context may hold a password
}

// setMapPath sets the scalar at keys in a YAML document.
func setMapPath(doc *yaml.Node, value string, keys ...string) bool {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	n.Value, n.Tag, n.Style = value, "!!str", 0
	return true
}
