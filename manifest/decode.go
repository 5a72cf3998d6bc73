package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "env"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "cluster", LabelNames: []string{"name"}},
		{Type: "ado"},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "operation", LabelNames: []string{"name"}},
		{Type: "build"},
		{Type: "runtime_env"},
	},
}

// decode evaluates a parsed manifest. Variables come first because every
// other block may refer to them; operations come last because they refer
// to clusters and plugins.
func (p *Parser) decode(f *hcl.File, file string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		File:       file,
		Dir:        filepath.Dir(file),
		Variables:  map[string]*Variable{},
		Clusters:   map[string]*Cluster{},
		Plugins:    map[string]*Plugin{},
		Operations: map[string]*Operation{},
		Build:      defaultBuild(),
		RuntimeEnv: DefaultRuntimeEnv(),
	}
	content, diags := f.Body.Content(rootSchema)

	baseCtx := &hcl.EvalContext{Functions: p.functions(cfg.Dir)}
	seen := map[string]map[string]*hcl.Block{}
	for _, block := range content.Blocks {
		if block.Type != "variable" {
			continue
		}
		if dup := duplicate(seen, block); dup != nil {
			diags = append(diags, dup)
			continue
		}
		v, vDiags := decodeVariable(block, baseCtx)
		diags = append(diags, vDiags...)
		cfg.Variables[v.Name] = v
	}

	values, varDiags := p.resolveVariables(cfg.Variables, p.environForVars(), opts.Vars)
	diags = append(diags, varDiags...)
	ctx := p.evalContext(cfg, values)

	var ops []*hcl.Block
	for _, block := range content.Blocks {
		if block.Type == "variable" {
			continue
		}
		if dup := duplicate(seen, block); dup != nil {
			diags = append(diags, dup)
			continue
		}
		switch block.Type {
		case "cluster":
			c, cDiags := decodeCluster(block, ctx, cfg.Dir)
			diags = append(diags, cDiags...)
			cfg.Clusters[c.Name] = c
		case "plugin":
			pl, pDiags := decodePlugin(block, ctx, cfg.Dir)
			diags = append(diags, pDiags...)
			cfg.Plugins[pl.Name] = pl
		case "ado":
			a, aDiags := decodeAdo(block, ctx, cfg.Dir)
			diags = append(diags, aDiags...)
			cfg.Ado = a
		case "build":
			b, bDiags := decodeBuild(block, ctx)
			diags = append(diags, bDiags...)
			cfg.Build = b
		case "runtime_env":
			r, rDiags := decodeRuntimeEnv(block, ctx, DefaultRuntimeEnv())
			diags = append(diags, rDiags...)
			cfg.RuntimeEnv = r
		case "operation":
			ops = append(ops, block) // after every cluster, plugin and runtime_env is known
		}
	}
	if attr, ok := content.Attributes["env"]; ok {
		env, envDiags := decodeEnv(attr, ctx)
		diags = append(diags, envDiags...)
		cfg.Env = env
	}
	for _, block := range ops {
		op, opDiags := decodeOperation(block, ctx, cfg)
		diags = append(diags, opDiags...)
		cfg.Operations[op.Name] = op
	}
	return cfg, diags
}

func (p *Parser) environForVars() []string {
	if p.environ != nil {
		return p.environ
	}
	return os.Environ()
}

// evalContext exposes var.<name> and path.root/path.cwd to expressions.
func (p *Parser) evalContext(cfg *Config, values map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for name := range cfg.Variables {
		if v, ok := values[name]; ok {
			vars[name] = v
		} else {
			vars[name] = cty.DynamicVal // already reported as missing
		}
	}
	cwd, _ := os.Getwd()
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(vars),
			"path": cty.ObjectVal(map[string]cty.Value{
				"root": cty.StringVal(cfg.Dir),
				"cwd":  cty.StringVal(cwd),
			}),
		},
		Functions: p.functions(cfg.Dir),
	}
}

// duplicate records block in seen and reports it when a block of the same
// type and name was declared before.
func duplicate(seen map[string]map[string]*hcl.Block, block *hcl.Block) *hcl.Diagnostic {
	name := ""
	if len(block.Labels) > 0 {
		name = block.Labels[0]
	}
	if seen[block.Type] == nil {
		seen[block.Type] = map[string]*hcl.Block{}
	}
	if prev, ok := seen[block.Type][name]; ok {
		what := fmt.Sprintf("%s %q", block.Type, name)
		if name == "" {
			what = block.Type
		}
		return errorAt(block.DefRange.Ptr(), fmt.Sprintf("Duplicate %s block", block.Type), "A %s block was already declared at %s. Names must be unique; rename or remove one.", what, prev.DefRange)
	}
	seen[block.Type][name] = block
	return nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func checkName(kind string, block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if namePattern.MatchString(name) {
		return nil
	}
	return hcl.Diagnostics{errorAt(block.LabelRanges[0].Ptr(), fmt.Sprintf("Invalid %s name", kind), "%q is not a valid name: use a letter followed by letters, digits, underscores or dashes.", name)}
}
