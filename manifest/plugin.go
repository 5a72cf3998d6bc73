package manifest

import (
	"github.com/hashicorp/hcl/v2"
)

// Plugin is an ado plugin (actuator, operator or custom experiment package)
// the job installs.
type Plugin struct {
	Name string
	Source
	DeclRange hcl.Range
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "pip"}, {Name: "exclude"}},
}

func decodePlugin(block *hcl.Block, ctx *hcl.EvalContext, dir string) (*Plugin, hcl.Diagnostics) {
	pl := &Plugin{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName("plugin", block)
	if pl.Name == "ado" {
		diags = append(diags, errorAt(block.LabelRanges[0].Ptr(), "Reserved plugin name", "%q names ado itself; declare ado with an ado block, or give the plugin another name.", pl.Name))
	}
	content, moreDiags := block.Body.Content(pluginSchema)
	diags = append(diags, moreDiags...)
	src, pip, moreDiags := decodeSource(content, block, ctx, dir, "Plugin \""+pl.Name+"\"", "pip")
	diags = append(diags, moreDiags...)
	pl.Source = src
	pl.Pip = pip
	return pl, diags
}
