package manifest

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// Ado says where ado itself comes from: built from a checkout, a pinned
// ado-core version from the package index, or (no block) whatever the
// cluster already has.
type Ado struct {
	Source
	Version   string
	DeclRange hcl.Range
}

var adoSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "version"}, {Name: "exclude"}},
}

var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*([a-zA-Z0-9.+!-]*)$`)

func decodeAdo(block *hcl.Block, ctx *hcl.EvalContext, dir string) (*Ado, hcl.Diagnostics) {
	content, diags := block.Body.Content(adoSchema)
	src, version, moreDiags := decodeSource(content, block, ctx, dir, "The ado block", "version")
	diags = append(diags, moreDiags...)
	if version != "" && !versionPattern.MatchString(version) {
		diags = append(diags, attrError(content.Attributes["version"], "Invalid ado version",
			"version is an exact ado-core release such as \"1.2.0\"; for other requirements use an operation's pip list."))
	}
	return &Ado{Source: src, Version: version, DeclRange: block.DefRange}, diags
}
