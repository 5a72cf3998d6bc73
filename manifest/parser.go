package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser loads manifests. It owns the cache of every file it read, so
// diagnostics rendered later can show source snippets from them.
type Parser struct {
	p       *hclparse.Parser
	environ []string // nil means the process environment
}

// NewParser returns a Parser reading the process environment.
func NewParser() *Parser { return &Parser{p: hclparse.NewParser()} }

// Files returns every file the parser has read, keyed by the name used in
// diagnostics; hcl.NewDiagnosticTextWriter takes it for snippets.
func (p *Parser) Files() map[string]*hcl.File { return p.p.Files() }

// LoadOptions are the outside inputs of a manifest.
type LoadOptions struct {
	Vars []VarSource
	// Environ, when not nil, is what env() and ADOPIPE_VAR_* read instead
	// of the process environment; tests give an empty one to stay
	// hermetic.
	Environ []string
}

// FindFile returns the manifest file to read in dir: ado.hcl, or its JSON
// form ado.hcl.json.
func FindFile(dir string) (string, error) {
	native := filepath.Join(dir, DefaultFile)
	jsonForm := native + ".json"
	_, errNative := os.Stat(native)
	_, errJSON := os.Stat(jsonForm)
	switch {
	case errNative == nil && errJSON == nil:
		return "", fmt.Errorf("both %s and %s exist in %s; keep one, or pick one with -f", DefaultFile, DefaultFile+".json", dir)
	case errNative == nil:
		return native, nil
	case errJSON == nil:
		return jsonForm, nil
	default:
		return "", fmt.Errorf("no %s in %s; create one (see docs/manifest.md), or point to it with -f FILE or -C DIR", DefaultFile, dir)
	}
}

// Load reads, evaluates and checks the manifest at path. The Config is
// returned whenever it could be built, even alongside warnings; callers
// must check diags.HasErrors().
func (p *Parser) Load(path string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	if opts.Environ != nil {
		p.environ = append([]string{}, opts.Environ...)
	}
	f, diags := p.parseFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	cfg, moreDiags := p.decode(f, abs, opts)
	return cfg, append(diags, moreDiags...)
}

func (p *Parser) parseFile(path string) (*hcl.File, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{errorAt(nil, "Cannot read file", "%s: %s.", path, unwrapPathErr(err))}
	}
	if strings.HasSuffix(path, ".json") {
		return p.p.ParseJSON(src, path)
	}
	return p.p.ParseHCL(src, path)
}
