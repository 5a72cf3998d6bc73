package manifest

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"
)

// ContextInfo is what adopipe needs to know of an ado context YAML.
type ContextInfo struct {
	Project string
	// Scheme is the metastore's scheme, "sqlite" or "mysql+pymysql"; empty
	// when the context has no metadataStore.
	Scheme string
	// Path is the SQLite database path as written (may be relative).
	Path string
}

func checkFileExists(attr *hcl.Attribute, p, what string) hcl.Diagnostics {
	fi, err := os.Stat(p)
	if err == nil && fi.Mode().IsRegular() {
		return nil
	}
	reason := "is not a regular file"
	if err != nil {
		reason = fmt.Sprint(unwrapPathErr(err))
	}
	return hcl.Diagnostics{attrError(attr, fmt.Sprintf("%s not found", upperFirst(what)), "%s: %s. Paths are relative to the manifest's directory.", p, reason)}
}

// decodeYAMLFile reads a path attribute naming a YAML file, checks the file
// parses as a YAML mapping, and stages it under its base name.
func decodeYAMLFile(attr *hcl.Attribute, ctx *hcl.EvalContext, dir string) (StagedFile, hcl.Diagnostics) {
	f, _, diags := readYAMLAttr(attr, ctx, dir)
	return f, diags
}

func readYAMLAttr(attr *hcl.Attribute, ctx *hcl.EvalContext, dir string) (StagedFile, *yaml.Node, hcl.Diagnostics) {
	var rel string
	diags := decodeString(attr, ctx, &rel)
	if diags.HasErrors() {
		return StagedFile{}, nil, diags
	}
	f := StagedFile{Src: resolvePath(dir, rel), Dst: filepath.Base(rel)}
	if d := checkFileExists(attr, f.Src, attr.Name+" file"); d.HasErrors() {
		return f, nil, append(diags, d...)
	}
	doc, d := parseYAML(attr, f.Src)
	diags = append(diags, d...)
	if d.HasErrors() {
		return f, nil, diags
	}
	if doc == nil || doc.Kind != yaml.MappingNode {
		diags = append(diags, attrError(attr, "YAML file is not a mapping", "%s must hold a YAML mapping (key: value lines), as ado expects for a %s file.", f.Src, attr.Name))
		return f, nil, diags
	}
	return f, doc, diags
}

var yamlLinePattern = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses path and reports a syntax error with the YAML file's own
// line, against the manifest attribute that names the file.
func parseYAML(attr *hcl.Attribute, p string) (*yaml.Node, hcl.Diagnostics) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, hcl.Diagnostics{attrError(attr, "Cannot read file", "%s: %s.", p, unwrapPathErr(err))}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		where, msg := p, err.Error()
		if m := yamlLinePattern.FindStringSubmatch(msg); m != nil {
			where, msg = p+":"+m[1], m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		return nil, hcl.Diagnostics{attrError(attr, "Invalid YAML", "%s: %s. Fix the YAML file; ado would refuse it too.", where, msg)}
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	return root.Content[0], nil
}

func decodeContextFile(attr *hcl.Attribute, ctx *hcl.EvalContext, dir string) (StagedFile, ContextInfo, hcl.Diagnostics) {
	f, doc, diags := readYAMLAttr(attr, ctx, dir)
	var info ContextInfo
	if doc == nil {
		return f, info, diags
	}
	var raw struct {
		Project       string `yaml:"project"`
		MetadataStore *struct {
			Scheme string `yaml:"scheme"`
			Path   string `yaml:"path"`
		} `yaml:"metadataStore"`
	}
	if err := doc.Decode(&raw); err != nil {
		return f, info, append(diags, attrError(attr, "Invalid ado context", "%s: %s. A context has project and metadataStore keys.", f.Src, strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	info.Project = raw.Project
	if raw.MetadataStore != nil {
		info.Scheme, info.Path = raw.MetadataStore.Scheme, raw.MetadataStore.Path
	}
	if info.Project == "" {
		diags = append(diags, attrError(attr, "Invalid ado context", "%s has no project key; ado needs it to name the metastore's project.", f.Src))
	}
	return f, info, diags
}

// checkSQLite refuses a SQLite metastore on a cluster that does not share
// this machine's disk: the database would be written into the job's
// throw-away working directory and the results lost.
func checkSQLite(op *Operation, attr *hcl.Attribute) hcl.Diagnostics {
	if op.ContextInfo.Scheme != "sqlite" || op.Cluster == nil || attr == nil {
		return nil
	}
	if !op.Cluster.SharesDisk() {
		if op.AllowRemoteSQLite {
			return nil
		}
		return hcl.Diagnostics{attrError(attr, "SQLite context on a remote cluster", "Operation %q uses a SQLite metastore (%s) on cluster %q, which does not share this machine's disk: the database is written into the job's temporary working directory and the results are lost when the job ends. Use a MySQL metastore; or, if the cluster's nodes do see this machine's files (a head you started here, an NFS home), set shared_disk = true in cluster %q; or set allow_remote_sqlite = true in the operation to accept the loss.", op.Name, op.Context.Src, op.Cluster.Name, op.Cluster.Name)}
	}
	return nil
}

// decodeFiles reads the extra files staged beside the YAMLs. Each keeps its
// path relative to the manifest, which must not leave the manifest's
// directory.
func decodeFiles(attr *hcl.Attribute, ctx *hcl.EvalContext, dir string) ([]StagedFile, hcl.Diagnostics) {
	var rels []string
	diags := decodeStringList(attr, ctx, &rels)
	if diags.HasErrors() {
		return nil, diags
	}
	var files []StagedFile
	for i, rel := range rels {
		clean := path.Clean(filepath.ToSlash(rel))
		bad := ""
		switch {
		case filepath.IsAbs(rel) || strings.HasPrefix(clean, "/"):
			bad = "is absolute"
		case clean == ".." || strings.HasPrefix(clean, "../"):
			bad = "leaves the manifest's directory"
		case clean == "." || clean == "":
			bad = "is empty"
		}
		if bad == "" {
			for _, part := range strings.Split(clean, "/") {
				if part == ".git" {
					bad = "is inside .git"
				}
			}
		}
		if bad != "" {
			diags = append(diags, attrError(attr, "Invalid file path", "files[%d] %q %s. List files inside the manifest's directory, by relative path; they are staged at the same relative path.", i, rel, bad))
			continue
		}
		f := StagedFile{Src: filepath.Join(dir, filepath.FromSlash(clean)), Dst: clean}
		if d := checkStagedFile(attr, i, dir, f); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		if ext := strings.ToLower(path.Ext(clean)); ext == ".yaml" || ext == ".yml" {
			if _, d := parseYAML(attr, f.Src); d.HasErrors() {
				diags = append(diags, d...)
				continue
			}
		}
		files = append(files, f)
	}
	return files, diags
}

// checkStagedFile checks an extra file exists, is a regular file, and does
// not reach outside the manifest's directory through a symlink.
func checkStagedFile(attr *hcl.Attribute, i int, dir string, f StagedFile) hcl.Diagnostics {
	fail := func(reason string) hcl.Diagnostics {
		return hcl.Diagnostics{attrError(attr, "Invalid file path", "files[%d] %s: %s.", i, strconv.Quote(f.Dst), reason)}
	}
	fi, err := os.Stat(f.Src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Sprintf("%s does not exist (paths are relative to the manifest's directory)", f.Src))
		}
		return fail(fmt.Sprint(unwrapPathErr(err)))
	}
	if !fi.Mode().IsRegular() {
		return fail("is not a regular file; list each file to stage")
	}
	realDir, err1 := filepath.EvalSymlinks(dir)
	real, err2 := filepath.EvalSymlinks(f.Src)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(realDir, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return fail(fmt.Sprintf("is a symlink to %s, outside the manifest's directory; copy the file in instead", real))
		}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
