package manifest

import (
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// TestRuntimeEnvResolution checks that an operation's runtime_env replaces
// only the attributes it sets, over the top level, over Ray's defaults.
func TestRuntimeEnvResolution(t *testing.T) {
	const op = `
operation "inherits" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
}
operation "overrides" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  runtime_env { setup_timeout = "none" }
}
operation "uv" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  runtime_env {
    installer = "uv"
    layout    = "wheel"
  }
}
cluster "dev" { address = "http://127.0.0.1:8265" }
`
	cases := []struct {
		name     string
		topLevel string
		want     map[string]RuntimeEnv
	}{
		{"no top-level block", "", map[string]RuntimeEnv{
			"inherits":  {SetupTimeoutSeconds: 600, EagerInstall: true, Installer: InstallerPip, Layout: LayoutModules},
			"overrides": {SetupTimeoutSeconds: NoSetupTimeout, EagerInstall: true, Declared: true, Installer: InstallerPip, Layout: LayoutModules},
			"uv":        {SetupTimeoutSeconds: 600, EagerInstall: true, Installer: InstallerUV, Layout: LayoutWheel},
		}},
		{"top-level block", `runtime_env {
  setup_timeout = "20m"
  eager_install = false
  installer     = "uv"
}`, map[string]RuntimeEnv{
			"inherits":  {SetupTimeoutSeconds: 1200, EagerInstall: false, Declared: true, Installer: InstallerUV, Layout: LayoutModules},
			"overrides": {SetupTimeoutSeconds: NoSetupTimeout, EagerInstall: false, Declared: true, Installer: InstallerUV, Layout: LayoutModules},
			"uv":        {SetupTimeoutSeconds: 1200, EagerInstall: false, Declared: true, Installer: InstallerUV, Layout: LayoutWheel},
		}},
		{"installer only: Ray's config left to Ray", `runtime_env { installer = "uv" }`, map[string]RuntimeEnv{
			"inherits": {SetupTimeoutSeconds: 600, EagerInstall: true, Installer: InstallerUV, Layout: LayoutModules},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := testfiles.Write(t, map[string]string{"ado.hcl": c.topLevel + op, "c.yaml": "project: p\n", "o.yaml": "spaces: []\n"})
			cfg, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{}})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for name, w := range c.want {
				if got := cfg.Operations[name].RuntimeEnv; got != w {
					t.Errorf("%s: runtime_env = %+v, want %+v", name, got, w)
				}
			}
		})
	}
}

func TestRuntimeEnvRayConfig(t *testing.T) {
	got := RuntimeEnv{SetupTimeoutSeconds: NoSetupTimeout, EagerInstall: false}.RayConfig()
	if got["setup_timeout_seconds"] != -1 || got["eager_install"] != false || len(got) != 2 {
		t.Errorf("RayConfig = %v, want setup_timeout_seconds -1, eager_install false", got)
	}
}
