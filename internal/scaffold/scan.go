package scaffold

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultDepth is how many directory levels below the root Scan looks:
// enough for an ado clone's plugins (ado/plugins/actuators/NAME).
const DefaultDepth = 4

// maxYAMLSize skips YAML files too large to be a hand-written context or
// operation (data files, exported results).
const maxYAMLSize = 1 << 20

// Findings is what Scan found under a directory, each list sorted by path.
type Findings struct {
	Root       string
	Ado        []Project // ado checkouts
	Plugins    []Project // ado plugin checkouts
	Contexts   []YAMLFile
	Operations []YAMLFile
	Spaces     []YAMLFile // discovery spaces
	AdoRemotes []YAMLFile // ado --remote RemoteExecutionContext files
}

// YAMLFile is an ado YAML recognised by its keys.
type YAMLFile struct {
	Path string // absolute
	// About describes it for a prompt: "project quickstart, sqlite".
	About string
	// SQLite is set for a context whose metastore is a SQLite file.
	SQLite bool
}

// skipDirs are never looked into: version control, environments, build
// output and caches hold copies, not the user's sources.
var skipDirs = map[string]bool{
	"node_modules": true, "venv": true, "__pycache__": true, "dist": true,
	"build": true, "site-packages": true,
}

// Scan looks through root and up to depth levels below it for ado
// checkouts, plugin checkouts and ado's YAML files. YAML files inside an ado
// checkout below root are ado's own examples and tests, not the user's, so
// they are left out; plugins inside it are found.
func Scan(root string, depth int) (*Findings, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	f := &Findings{Root: root}
	var adoDirs []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable corner does not stop the scan
		}
		if d.IsDir() {
			return f.visitDir(p, d, depth, &adoDirs)
		}
		if ext := strings.ToLower(filepath.Ext(p)); (ext == ".yaml" || ext == ".yml") && !under(p, adoDirs) {
			f.classifyYAML(p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, list := range [][]YAMLFile{f.Contexts, f.Operations, f.Spaces, f.AdoRemotes} {
		sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	}
	for _, list := range [][]Project{f.Ado, f.Plugins} {
		sort.Slice(list, func(i, j int) bool { return list[i].Dir < list[j].Dir })
	}
	return f, nil
}

func (f *Findings) visitDir(p string, d fs.DirEntry, depth int, adoDirs *[]string) error {
	if p != f.Root {
		name := d.Name()
		if strings.HasPrefix(name, ".") || skipDirs[name] || strings.HasSuffix(name, ".egg-info") {
			return filepath.SkipDir
		}
		if rel, _ := filepath.Rel(f.Root, p); strings.Count(rel, string(filepath.Separator))+1 > depth {
			return filepath.SkipDir
		}
	}
	proj, kind, err := inspectProject(p)
	if err != nil {
		return nil // a broken pyproject.toml is not ado's; the user sees it when building
	}
	switch kind {
	case adoCheckout:
		f.Ado = append(f.Ado, proj)
		if p != f.Root {
			*adoDirs = append(*adoDirs, p)
		}
	case adoPlugin:
		f.Plugins = append(f.Plugins, proj)
	}
	return nil
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// classifyYAML sorts a YAML file by its top-level keys: a context has
// project and metadataStore; an operation has operation.module, or spaces
// and operation; a discovery space has entitySpace or experiments; ado
// --remote's file has executionType.
func (f *Findings) classifyYAML(p string) {
	fi, err := os.Stat(p)
	if err != nil || fi.Size() > maxYAMLSize {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var doc map[string]any
	if yaml.Unmarshal(b, &doc) != nil || doc == nil {
		return
	}
	has := func(k string) bool { _, ok := doc[k]; return ok }
	op, _ := doc["operation"].(map[string]any)
	switch {
	case has("project") && has("metadataStore"):
		f.Contexts = append(f.Contexts, describeContext(p, doc))
	case op != nil && (op["module"] != nil || has("spaces")):
		f.Operations = append(f.Operations, describeOperation(p, op))
	case has("executionType"):
		f.AdoRemotes = append(f.AdoRemotes, YAMLFile{Path: p, About: "ado --remote context"})
	case has("entitySpace") || has("experiments"):
		f.Spaces = append(f.Spaces, YAMLFile{Path: p, About: "discovery space"})
	}
}

func describeContext(p string, doc map[string]any) YAMLFile {
	y := YAMLFile{Path: p, About: "project " + str(doc["project"])}
	if ms, ok := doc["metadataStore"].(map[string]any); ok {
		scheme := str(ms["scheme"])
		y.SQLite = scheme == "sqlite"
		if scheme != "" {
			y.About += ", " + scheme
		}
	}
	return y
}

func describeOperation(p string, op map[string]any) YAMLFile {
	about := "operation"
	if m, ok := op["module"].(map[string]any); ok {
		about = strings.TrimSpace(str(m["operatorName"]) + " " + str(m["operationType"]))
	}
	return YAMLFile{Path: p, About: about}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
