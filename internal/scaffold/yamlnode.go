package scaffold

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"
)

// yamlDoc reads a YAML file field by field, keeping every node's position
// so each diagnostic names the file and line of the value it is about.
type yamlDoc struct {
	file       string
	src        []byte
	lineStarts []int
	diags      hcl.Diagnostics
}

func newYAMLDoc(file string, src []byte) *yamlDoc {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &yamlDoc{file: file, src: src, lineStarts: starts}
}

// hclFile lets the diagnostic printer show the YAML lines as snippets.
func (y *yamlDoc) hclFile() *hcl.File { return &hcl.File{Bytes: y.src} }

// rng is the source range of a node: its first line, from its column to
// the end of its value (or of the line, for a block).
func (y *yamlDoc) rng(n *yaml.Node) *hcl.Range {
	line := max(n.Line, 1)
	if line > len(y.lineStarts) {
		line = len(y.lineStarts)
	}
	lineStart := y.lineStarts[line-1]
	lineEnd := len(y.src)
	if i := bytes.IndexByte(y.src[lineStart:], '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	start := min(lineStart+max(n.Column, 1)-1, lineEnd)
	end := lineEnd
	if n.Kind == yaml.ScalarNode && n.Style == 0 && start+len(n.Value) <= lineEnd {
		end = start + len(n.Value)
	}
	return &hcl.Range{
		Filename: y.file,
		Start:    hcl.Pos{Line: line, Column: start - lineStart + 1, Byte: start},
		End:      hcl.Pos{Line: line, Column: end - lineStart + 1, Byte: end},
	}
}

func (y *yamlDoc) add(sev hcl.DiagnosticSeverity, n *yaml.Node, summary, detail string, args ...any) {
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(detail, args...)}
	if n != nil {
		d.Subject = y.rng(n)
	}
	y.diags = append(y.diags, d)
}

func (y *yamlDoc) errorf(n *yaml.Node, summary, detail string, args ...any) {
	y.add(hcl.DiagError, n, summary, detail, args...)
}

func (y *yamlDoc) warnf(n *yaml.Node, summary, detail string, args ...any) {
	y.add(hcl.DiagWarning, n, summary, detail, args...)
}

// where is "file:line", for details that must not quote the line itself.
func (y *yamlDoc) where(n *yaml.Node) string { return y.file + ":" + strconv.Itoa(n.Line) }

// field is one key of a mapping: the key node (for diagnostics about the
// field) and its value.
type field struct {
	key, value *yaml.Node
}

// fields reads a mapping whose keys must be among allowed, as pydantic's
// extra="forbid" requires. path names the mapping in messages.
func (y *yamlDoc) fields(n *yaml.Node, path string, allowed ...string) map[string]field {
	out := map[string]field{}
	if n.Kind != yaml.MappingNode {
		y.errorf(n, "Not a mapping", "%s must be a mapping (key: value lines), as ado's RemoteExecutionContext defines it.", path)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			sort.Strings(allowed)
			y.errorf(k, "Unknown field", "%s has no field %q in ado 2.3.0 (ado refuses it too: extra fields are forbidden). Known fields: %s.", path, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out
}

func (y *yamlDoc) isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (y *yamlDoc) str(f field, path string) (string, bool) {
	if f.value.Kind != yaml.ScalarNode || f.value.Tag != "!!str" {
		y.errorf(f.value, "Not a string", "%s must be a string; quote the value.", path)
		return "", false
	}
	return f.value.Value, true
}

// yaml11Bools are the booleans of YAML 1.1, which ado's PyYAML reads:
// `wait: yes` is true for ado though YAML 1.2 calls it a string.
var yaml11Bools = map[string]bool{"true": true, "yes": true, "on": true, "y": true, "false": false, "no": false, "off": false, "n": false}

func (y *yamlDoc) boolean(f field, path string) (bool, bool) {
	v, ok := yaml11Bools[strings.ToLower(f.value.Value)]
	if f.value.Kind != yaml.ScalarNode || !ok || (f.value.Tag != "!!bool" && f.value.Style != 0) {
		y.errorf(f.value, "Not a boolean", "%s must be true or false.", path)
		return false, false
	}
	return v, true
}

func (y *yamlDoc) integer(f field, path string) (int, bool) {
	n, err := strconv.Atoi(f.value.Value)
	if f.value.Kind != yaml.ScalarNode || f.value.Tag != "!!int" || err != nil {
		y.errorf(f.value, "Not a whole number", "%s must be a whole number.", path)
		return 0, false
	}
	return n, true
}

// strList reads a list of strings, keeping each element's node.
func (y *yamlDoc) strList(f field, path string) []*yaml.Node {
	if y.isNull(f.value) {
		return nil
	}
	if f.value.Kind != yaml.SequenceNode {
		y.errorf(f.value, "Not a list", "%s must be a list of strings.", path)
		return nil
	}
	var out []*yaml.Node
	for i, e := range f.value.Content {
		if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
			y.errorf(e, "Not a string", "%s[%d] must be a string; quote it.", path, i)
			continue
		}
		out = append(out, e)
	}
	return out
}
