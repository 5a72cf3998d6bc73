package manifest

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// RuntimeEnv is how the job's Ray runtime environment is made: Ray's
// runtime_env `config` (how long a node may take to create the job's
// environment and whether it does so when the job starts; ado --remote
// users set the same thing as runtimeEnv {setupTimeoutSeconds,
// eagerInstall}), which installer Ray uses, and how source-built plugins
// reach the job.
type RuntimeEnv struct {
	// SetupTimeoutSeconds is Ray's setup_timeout_seconds; NoSetupTimeout
	// (-1) waits for as long as the installation takes.
	SetupTimeoutSeconds int
	// EagerInstall is Ray's eager_install: false installs on the first
	// task rather than when the job starts.
	EagerInstall bool
	// Declared is true when the manifest or the operation sets
	// setup_timeout or eager_install. Without them these are Ray's own
	// defaults, and a job spec may leave `config` out, as ado --remote does.
	Declared bool
	// Installer is InstallerPip (Ray's `pip:` field) or InstallerUV (`uv:`,
	// as ado --remote writes it).
	Installer string
	// Layout is LayoutModules or LayoutWheel: how source-built plugins
	// reach the job.
	Layout string
}

// Installers: which Ray runtime_env field installs the job's packages.
const (
	InstallerPip = "pip"
	InstallerUV  = "uv"
)

// Layouts of source-built plugins in the job.
const (
	// LayoutModules ships each plugin wheel unpacked (its packages and
	// .dist-info, so entry points are found) as a Ray py_modules entry,
	// and puts only the wheels' requirements in the pip or uv list. That
	// list rarely changes, so Ray reuses the job's environment across
	// plugin edits. Wheels that are not pure Python fall back to
	// LayoutWheel.
	LayoutModules = "modules"
	// LayoutWheel installs each wheel with pip or uv, from the staged
	// directory. Every plugin edit makes Ray create a new environment,
	// but the wheel is what the environment lists (ado's vllm_performance
	// actuator rebuilds nested environments from the uv list).
	LayoutWheel = "wheel"
)

// NoSetupTimeout is Ray's setup_timeout_seconds for "no timeout", written
// setup_timeout = "none" in the manifest.
const NoSetupTimeout = -1

// DefaultRuntimeEnv is Ray's RuntimeEnvConfig default, also ado's.
func DefaultRuntimeEnv() RuntimeEnv {
	return RuntimeEnv{SetupTimeoutSeconds: 600, EagerInstall: true, Installer: InstallerPip, Layout: LayoutModules}
}

// RayConfig is the runtime_env `config` mapping Ray expects.
func (r RuntimeEnv) RayConfig() map[string]any {
	return map[string]any{"setup_timeout_seconds": r.SetupTimeoutSeconds, "eager_install": r.EagerInstall}
}

var runtimeEnvSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "setup_timeout"}, {Name: "eager_install"}, {Name: "installer"}, {Name: "layout"}},
}

// decodeRuntimeEnv reads a runtime_env block over base: attributes it sets
// replace base's, the others are inherited, so an operation can change only
// the timeout of the manifest-wide setting.
func decodeRuntimeEnv(block *hcl.Block, ctx *hcl.EvalContext, base RuntimeEnv) (RuntimeEnv, hcl.Diagnostics) {
	r := base
	content, diags := block.Body.Content(runtimeEnvSchema)
	if attr, ok := content.Attributes["setup_timeout"]; ok {
		r.Declared = true
		diags = append(diags, decodeSetupTimeout(attr, ctx, &r.SetupTimeoutSeconds)...)
	}
	if attr, ok := content.Attributes["eager_install"]; ok {
		r.Declared = true
		diags = append(diags, decodeBool(attr, ctx, &r.EagerInstall)...)
	}
	if attr, ok := content.Attributes["installer"]; ok {
		diags = append(diags, decodeChoice(attr, ctx, &r.Installer, "Unknown installer",
			"use \"pip\" (Ray's pip: field) or \"uv\" (Ray's uv: field, as ado --remote writes it)", InstallerPip, InstallerUV)...)
	}
	if attr, ok := content.Attributes["layout"]; ok {
		diags = append(diags, decodeChoice(attr, ctx, &r.Layout, "Unknown layout",
			"use \"modules\" (plugins as py_modules, the environment reused across plugin edits) or \"wheel\" (plugin wheels installed by pip or uv)", LayoutModules, LayoutWheel)...)
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
		return append(diags, attrError(attr, "Invalid setup_timeout", "%q is not a whole number of seconds; Ray counts this timeout in seconds. Write it like \"600s\" or \"10m\", or \"none\" to wait as long as the installation takes.", s))
	}
	*out = int(d / time.Second)
	return diags
}
