package manifest

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// RuntimeEnv is Ray's runtime_env `config`: how long a node may take to
// create the job's environment (install its wheels) and whether it does so
// when the job starts. ado --remote users set the same thing as runtimeEnv
// {setupTimeoutSeconds, eagerInstall}.
type RuntimeEnv struct {
	// SetupTimeoutSeconds is Ray's setup_timeout_seconds; NoSetupTimeout
	// (-1) waits for as long as the installation takes.
	SetupTimeoutSeconds int
	// EagerInstall is Ray's eager_install: false installs on the first
	// task rather than when the job starts.
	EagerInstall bool
	// Declared is true when the manifest or the operation has a
	// runtime_env block. Without one these are Ray's own defaults, and a
	// job spec may leave `config` out, as ado --remote does.
	Declared bool
}

// NoSetupTimeout is Ray's setup_timeout_seconds for "no timeout", written
// setup_timeout = "none" in the manifest.
const NoSetupTimeout = -1

// DefaultRuntimeEnv is Ray's RuntimeEnvConfig default, also ado's.
func DefaultRuntimeEnv() RuntimeEnv {
	return RuntimeEnv{SetupTimeoutSeconds: 600, EagerInstall: true}
}

// RayConfig is the runtime_env `config` mapping Ray expects.
func (r RuntimeEnv) RayConfig() map[string]any {
	return map[string]any{"setup_timeout_seconds": r.SetupTimeoutSeconds, "eager_install": r.EagerInstall}
}

var runtimeEnvSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "setup_timeout"}, {Name: "eager_install"}},
}

// decodeRuntimeEnv reads a runtime_env block over base: attributes it sets
// replace base's, the others are inherited, so an operation can change only
// the timeout of the manifest-wide setting.
func decodeRuntimeEnv(block *hcl.Block, ctx *hcl.EvalContext, base RuntimeEnv) (RuntimeEnv, hcl.Diagnostics) {
	r := base
	r.Declared = true
	content, diags := block.Body.Content(runtimeEnvSchema)
	if attr, ok := content.Attributes["setup_timeout"]; ok {
		diags = append(diags, decodeSetupTimeout(attr, ctx, &r.SetupTimeoutSeconds)...)
	}
	if attr, ok := content.Attributes["eager_install"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &r.EagerInstall)...)
	}
	return r, diags
}

// decodeSetupTimeout reads a duration of whole seconds, or "none", since
// Ray counts the timeout in seconds and takes -1 for none.
func decodeSetupTimeout(attr *hcl.Attribute, ctx *hcl.EvalContext, out *int) hcl.Diagnostics {
	var s string
	diags := decodeString(attr, ctx, &s)
	if diags.HasErrors() {
		return diags
	}
	if s == "none" {
		*out = NoSetupTimeout
		return diags
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d%time.Second != 0 {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid setup_timeout",
			Detail:   fmt.Sprintf("%q is not a whole number of seconds; Ray counts this timeout in seconds. Write it like \"600s\" or \"10m\", or \"none\" to wait as long as the installation takes.", s),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	*out = int(d / time.Second)
	return diags
}
