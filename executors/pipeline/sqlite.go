package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/manifest"
)

// contextFile returns the context YAML to stage for op. ado opens a
// relative SQLite path against the job's working directory, a temporary
// copy that Ray throws away, so on a cluster sharing this disk adopipe
// stages a copy whose path is made absolute against the context file's own
// directory (where `ado -c context.yaml show ...` run by the user looks),
// and creates that directory, which ado does not.
func contextFile(workDir string, op *manifest.Operation) (string, error) {
	info := op.ContextInfo
	if info.Scheme != "sqlite" || info.Path == "" || filepath.IsAbs(info.Path) || !op.Cluster.SharesDisk() {
		return op.Context.Src, nil
	}
	b, err := os.ReadFile(op.Context.Src)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", op.Context.Src, err)
	}
	abs := filepath.Join(filepath.Dir(op.Context.Src), filepath.FromSlash(info.Path))
	if !setMapPath(&doc, abs, "metadataStore", "path") {
		return op.Context.Src, nil
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return "", fmt.Errorf("creating the SQLite directory: %w", err)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(workDir, "contexts", op.Name, filepath.Base(op.Context.Src))
	return dst, atomicfile.Write(dst, out, atomicfile.Options{Perm: 0o644})
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
