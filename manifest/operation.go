package manifest

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// Operation is one ado operation submitted as one Ray job.
type Operation struct {
	Name    string
	Cluster *Cluster
	// Context and Operation are the ado context (metastore) and operation
	// YAML files, staged under their base names.
	Context   StagedFile
	Operation StagedFile
	// ContextInfo is what adopipe read from the context YAML.
	ContextInfo ContextInfo
	Plugins     []*Plugin
	Pip         []string
	Files       []StagedFile
	// Excludes are Ray's runtime_env excludes for the job's working
	// directory: gitignore-style patterns of staged files not uploaded.
	Excludes []string
	// Env is only the operation's own env; see Config.JobEnv for the merge.
	Env Env
	// Args replaces the default entrypoint when set.
	Args      []string
	Resources Resources
	// RuntimeEnv is Ray's runtime_env config for the job: the operation's
	// runtime_env block over the manifest's, over Ray's defaults.
	RuntimeEnv RuntimeEnv
	OnChange   string
	// PinRay pins ray==<the cluster's Ray version> into the job's
	// requirements: the operation's pin_ray, else its cluster's.
	PinRay bool
	// AllowRemoteSQLite is the user's explicit acceptance that a SQLite
	// metastore on a remote cluster is lost with the job's working dir.
	AllowRemoteSQLite bool
	DeclRange         hcl.Range
}

// StagedFile is a file copied into the job directory.
type StagedFile struct {
	Src string // absolute path on this machine
	Dst string // slash-separated path inside the job directory
}

// Resources are reserved for the job's entrypoint.
type Resources struct {
	NumCPUs float64
	NumGPUs float64
	Memory  float64 // bytes
	Custom  map[string]float64
	// LabelSelector is Ray's entrypoint_label_selector: node labels the
	// entrypoint must run on (Ray 2.49 and later).
	LabelSelector map[string]string
}

// On-change policies: what watch does when an operation's inputs change.
const (
	OnChangeRestart  = "restart"  // stop the running job, then submit
	OnChangeQueue    = "queue"    // submit once the running job ends
	OnChangeParallel = "parallel" // submit beside the running job
	OnChangeIgnore   = "ignore"   // never resubmit (the wheels are still built)
)

// onChangePolicies are the valid on_change values.
var onChangePolicies = []string{OnChangeRestart, OnChangeQueue, OnChangeParallel, OnChangeIgnore}

// DefaultEntrypoint is the recipe's command for the staged YAMLs.
func (o *Operation) DefaultEntrypoint() []string {
	return []string{"ado", "-c", o.Context.Dst, "create", "operation", "-f", o.Operation.Dst}
}

// Entrypoint is the command the job runs.
func (o *Operation) Entrypoint() []string {
	if len(o.Args) > 0 {
		return o.Args
	}
	return o.DefaultEntrypoint()
}

// MaxOperationNameLen keeps submission ids (adopipe-<name>-<12 hex>) short.
const MaxOperationNameLen = 40

var operationNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

var operationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "cluster", Required: true},
		{Name: "context", Required: true},
		{Name: "operation", Required: true},
		{Name: "plugins"},
		{Name: "pip"},
		{Name: "files"},
		{Name: "excludes"},
		{Name: "env"},
		{Name: "args"},
		{Name: "on_change"},
		{Name: "allow_remote_sqlite"},
		{Name: "pin_ray"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "resources"}, {Type: "runtime_env"}},
}

var resourcesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "num_cpus"}, {Name: "num_gpus"}, {Name: "memory"}, {Name: "custom"}, {Name: "label_selector"}},
}

func decodeOperation(block *hcl.Block, ctx *hcl.EvalContext, cfg *Config) (*Operation, hcl.Diagnostics) {
	op := &Operation{Name: block.Labels[0], OnChange: OnChangeRestart, RuntimeEnv: cfg.RuntimeEnv, DeclRange: block.DefRange}
	var diags hcl.Diagnostics
	if len(op.Name) > MaxOperationNameLen || !operationNamePattern.MatchString(op.Name) {
		diags = append(diags, errorAt(block.LabelRanges[0].Ptr(), "Invalid operation name", "%q cannot be part of a Ray job id: use at most %d letters, digits, dashes or underscores, starting with a letter or digit.", op.Name, MaxOperationNameLen))
	}
	content, moreDiags := block.Body.Content(operationSchema)
	diags = append(diags, moreDiags...)

	if attr, ok := content.Attributes["cluster"]; ok {
		name, d := decodeReference(attr, "cluster", cfg.ClusterNames())
		diags = append(diags, d...)
		op.Cluster = cfg.Clusters[name]
		if op.Cluster != nil {
			op.PinRay = op.Cluster.PinRay
		}
	}
	if attr, ok := content.Attributes["pin_ray"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &op.PinRay)...)
	}
	if attr, ok := content.Attributes["plugins"]; ok {
		names, d := decodeReferenceList(attr, "plugin", cfg.PluginNames())
		diags = append(diags, d...)
		for _, n := range names {
			op.Plugins = append(op.Plugins, cfg.Plugins[n])
		}
	}
	if attr, ok := content.Attributes["context"]; ok {
		f, info, d := decodeContextFile(attr, ctx, cfg.Dir)
		diags = append(diags, d...)
		op.Context, op.ContextInfo = f, info
	}
	if attr, ok := content.Attributes["operation"]; ok {
		f, d := decodeYAMLFile(attr, ctx, cfg.Dir)
		diags = append(diags, d...)
		op.Operation = f
	}
	if attr, ok := content.Attributes["files"]; ok {
		files, d := decodeFiles(attr, ctx, cfg.Dir)
		diags = append(diags, d...)
		op.Files = files
	}
	if attr, ok := content.Attributes["excludes"]; ok {
		diags = append(diags, decodeStringList(attr, ctx, &op.Excludes)...)
	}
	if attr, ok := content.Attributes["pip"]; ok {
		diags = append(diags, decodeStringList(attr, ctx, &op.Pip)...)
	}
	if attr, ok := content.Attributes["env"]; ok {
		env, d := decodeEnv(attr, ctx)
		diags = append(diags, d...)
		op.Env = env
	}
	if attr, ok := content.Attributes["args"]; ok {
		diags = append(diags, decodeStringList(attr, ctx, &op.Args)...)
	}
	if attr, ok := content.Attributes["on_change"]; ok {
		diags = append(diags, decodeChoice(attr, ctx, &op.OnChange, "Invalid on_change",
			"use \"restart\" (stop the running job, then submit the new one), \"queue\" (submit the new one after it ends), \"parallel\" (submit the new one beside it) or \"ignore\" (watch never resubmits; the wheels are still built)", onChangePolicies...)...)
	}
	if attr, ok := content.Attributes["allow_remote_sqlite"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &op.AllowRemoteSQLite)...)
	}
	seen := map[string]map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		if dup := duplicate(seen, b); dup != nil {
			diags = append(diags, dup)
			continue
		}
		switch b.Type {
		case "resources":
			r, d := decodeResources(b, ctx)
			diags = append(diags, d...)
			op.Resources = r
		case "runtime_env":
			r, d := decodeRuntimeEnv(b, ctx, cfg.RuntimeEnv)
			diags = append(diags, d...)
			op.RuntimeEnv = r
		}
	}
	diags = append(diags, checkStagedNames(op)...)
	diags = append(diags, checkSQLite(op, content.Attributes["context"])...)
	return op, diags
}

func decodeResources(block *hcl.Block, ctx *hcl.EvalContext) (Resources, hcl.Diagnostics) {
	var r Resources
	content, diags := block.Body.Content(resourcesSchema)
	for name, out := range map[string]*float64{"num_cpus": &r.NumCPUs, "num_gpus": &r.NumGPUs, "memory": &r.Memory} {
		if attr, ok := content.Attributes[name]; ok {
			diags = append(diags, decodeNumber(attr, ctx, out)...)
		}
	}
	if attr, ok := content.Attributes["custom"]; ok {
		m, d := decodeNumberMap(attr, ctx)
		diags = append(diags, d...)
		r.Custom = m
	}
	if attr, ok := content.Attributes["label_selector"]; ok {
		m, d := decodeStringMap(attr, ctx, "label_selector", false)
		diags = append(diags, d...)
		r.LabelSelector = m.Plain()
	}
	return r, diags
}

// checkStagedNames refuses two inputs that would land on the same path in
// the job directory, where one would silently overwrite the other.
func checkStagedNames(op *Operation) hcl.Diagnostics {
	seen := map[string]string{}
	var diags hcl.Diagnostics
	all := append([]StagedFile{op.Context, op.Operation}, op.Files...)
	for _, f := range all {
		if f.Dst == "" {
			continue
		}
		if prev, ok := seen[f.Dst]; ok && prev != f.Src {
			diags = append(diags, errorAt(op.DeclRange.Ptr(), "Two files staged at one path", "Operation %q stages both %s and %s as %s in the job directory. Rename one of them.", op.Name, prev, f.Src, f.Dst))
		}
		seen[f.Dst] = f.Src
	}
	return diags
}

// JobEnv merges the job's environment: recommended defaults, then the
// manifest's env, then the operation's env.
func (c *Config) JobEnv(op *Operation, defaults map[string]string) Env {
	env := Env{}
	for k, v := range defaults {
		env[k] = EnvValue{Value: v}
	}
	return env.Merge(c.Env).Merge(op.Env)
}
