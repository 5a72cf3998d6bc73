package manifest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// Source is where a wheel comes from: a checkout adopipe builds, or a pip
// requirement Ray installs as is.
type Source struct {
	// Dir is the absolute path of a checkout to build; empty for pip.
	Dir string
	// Pip is a requirement string such as "ado-ray-tune==2.2.1".
	Pip string
	// Exclude holds gitignore-style patterns, relative to Dir, of files that
	// do not affect the wheel.
	Exclude []string
}

// FromSource reports whether the wheel is built from a checkout.
func (s Source) FromSource() bool { return s.Dir != "" }

// decodeSource reads the source/pip (or source/version) choice shared by
// the ado and plugin blocks. altName is "pip" or "version".
func decodeSource(content *hcl.BodyContent, block *hcl.Block, ctx *hcl.EvalContext, dir, what, altName string) (Source, string, hcl.Diagnostics) {
	var src Source
	var alt string
	var diags hcl.Diagnostics
	srcAttr, hasSrc := content.Attributes["source"]
	altAttr, hasAlt := content.Attributes[altName]
	switch {
	case hasSrc && hasAlt:
		return src, alt, hcl.Diagnostics{errorAt(altAttr.NameRange.Ptr(), fmt.Sprintf("Both source and %s", altName), "%s sets both source (build from a checkout) and %s (install from the package index). Keep one.", what, altName)}
	case !hasSrc && !hasAlt:
		return src, alt, hcl.Diagnostics{errorAt(block.DefRange.Ptr(), fmt.Sprintf("Missing source or %s", altName), "%s needs source = \"path/to/checkout\" to build a wheel, or %s = \"...\" to install from the package index.", what, altName)}
	case hasAlt:
		diags = append(diags, decodeString(altAttr, ctx, &alt)...)
		if !diags.HasErrors() && alt == "" {
			diags = append(diags, attrError(altAttr, fmt.Sprintf("Empty %s", altName), "%s has an empty %s.", what, altName))
		}
	default:
		var rel string
		diags = append(diags, decodeString(srcAttr, ctx, &rel)...)
		if !diags.HasErrors() {
			src.Dir = resolvePath(dir, rel)
			diags = append(diags, checkSourceDir(srcAttr, src.Dir)...)
		}
	}
	if attr, ok := content.Attributes["exclude"]; ok {
		diags = append(diags, decodeStringList(attr, ctx, &src.Exclude)...)
		if !hasSrc {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "exclude has no effect",
				Detail:   fmt.Sprintf("%s is installed from the package index, so exclude patterns are not used.", what),
				Subject:  attr.NameRange.Ptr(),
			})
		}
	}
	return src, alt, diags
}

func checkSourceDir(attr *hcl.Attribute, dir string) hcl.Diagnostics {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		reason := "is not a directory"
		if err != nil {
			reason = fmt.Sprint(unwrapPathErr(err))
		}
		return hcl.Diagnostics{attrError(attr, "Source directory not found", "%s: %s. Give the path of the checkout (relative to the manifest), for example \"../ado/plugins/actuators/sfttrainer\".", dir, reason)}
	}
	for _, marker := range []string{"pyproject.toml", "setup.py"} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return nil
		}
	}
	return hcl.Diagnostics{attrError(attr, "Source is not a Python project", "%s holds neither pyproject.toml nor setup.py, so no wheel can be built from it. Point source at the directory that has one.", dir)}
}
