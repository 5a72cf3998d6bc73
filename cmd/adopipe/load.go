package main

import (
	"github.com/adopipe/adopipe/manifest"
	"github.com/hashicorp/hcl/v2"
)

// loadManifest reads the manifest selected by the global flags. The parser
// is returned too: it owns the file cache that diagnostics need for their
// snippets.
func (a *app) loadManifest() (*manifest.Config, *manifest.Parser, hcl.Diagnostics) {
	p := manifest.NewParser()
	path, err := a.global.manifestPath()
	if err != nil {
		return nil, p, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No manifest", Detail: err.Error()}}
	}
	cfg, diags := p.Load(path, manifest.LoadOptions{Vars: a.global.varOrder})
	return cfg, p, diags
}
