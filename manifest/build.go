package manifest

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Build holds how wheels are built.
type Build struct {
	// Python is the interpreter that runs the build frontend.
	Python string
	// Frontend is "build" (python -m build), "uv" (uv build), or "" (the
	// default): uv when the build python's directory has one, else build.
	Frontend string
	// Isolation off passes --no-isolation, for machines without an index.
	Isolation bool
	// Timeout kills a build that runs longer.
	Timeout time.Duration
	// Sync lets an edit of files the last wheel holds verbatim replace
	// them in that wheel instead of running the build backend.
	Sync bool
}

func defaultBuild() Build {
	return Build{Python: "python3", Isolation: true, Timeout: 15 * time.Minute, Sync: true}
}

var buildSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "python"}, {Name: "frontend"}, {Name: "isolation"}, {Name: "timeout"}, {Name: "sync"}},
}

func decodeBuild(block *hcl.Block, ctx *hcl.EvalContext) (Build, hcl.Diagnostics) {
	b := defaultBuild()
	content, diags := block.Body.Content(buildSchema)
	if attr, ok := content.Attributes["python"]; ok {
		diags = append(diags, decodeString(attr, ctx, &b.Python)...)
	}
	if attr, ok := content.Attributes["frontend"]; ok {
		diags = append(diags, decodeChoice(attr, ctx, &b.Frontend, "Unknown build frontend",
			"use \"build\" (python -m build) or \"uv\" (uv build)", "build", "uv")...)
	}
	if attr, ok := content.Attributes["isolation"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &b.Isolation)...)
	}
	if attr, ok := content.Attributes["sync"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &b.Sync)...)
	}
	if attr, ok := content.Attributes["timeout"]; ok {
		diags = append(diags, decodeDuration(attr, ctx, &b.Timeout)...)
	}
	return b, diags
}
