// Package manifest turns an ado.hcl file into typed configuration. It knows
// nothing of plans or execution: it only reads, evaluates and checks.
package manifest

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// DefaultFile is the manifest name commands look for in the working directory.
const DefaultFile = "ado.hcl"

// Config is one fully evaluated and checked manifest.
type Config struct {
	// File is the absolute path of the manifest; Dir its directory. Relative
	// paths inside the manifest are resolved against Dir.
	File string
	Dir  string

	Variables  map[string]*Variable
	Clusters   map[string]*Cluster
	Ado        *Ado // nil when the manifest has no ado block
	Plugins    map[string]*Plugin
	Operations map[string]*Operation
	Env        Env
	Build      Build
	// RuntimeEnv is the top-level runtime_env, or Ray's defaults; each
	// Operation.RuntimeEnv is already resolved over it.
	RuntimeEnv RuntimeEnv
}

// OperationNames returns the operation names in sorted order, so every
// consumer walks operations the same way.
func (c *Config) OperationNames() []string { return sortedKeys(c.Operations) }

// PluginNames returns the plugin names in sorted order.
func (c *Config) PluginNames() []string { return sortedKeys(c.Plugins) }

// ClusterNames returns the cluster names in sorted order.
func (c *Config) ClusterNames() []string { return sortedKeys(c.Clusters) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EnvValue is one environment variable for the job. Sensitive values come
// from sensitive variables or the sensitive() function and must never be
// printed or stored.
type EnvValue struct {
	Value     string
	Sensitive bool
}

// Env maps variable names to values.
type Env map[string]EnvValue

// Plain returns the values without their sensitivity, for handing to Ray.
func (e Env) Plain() map[string]string {
	out := make(map[string]string, len(e))
	for k, v := range e {
		out[k] = v.Value
	}
	return out
}

// Merge returns a new Env with over's entries replacing e's.
func (e Env) Merge(over Env) Env {
	out := make(Env, len(e)+len(over))
	for k, v := range e {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// Range is where a declaration sits in its file, for later diagnostics.
type Range = hcl.Range

// RecommendedEnv is the job environment the recipe recommends; the
// manifest's env and each operation's env override it.
var RecommendedEnv = map[string]string{
	"PYTHONUNBUFFERED":             "x",
	"OMP_NUM_THREADS":              "1",
	"OPENBLAS_NUM_THREADS":         "1",
	"RAY_AIR_NEW_PERSISTENCE_MODE": "0",
}
