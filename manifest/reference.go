package manifest

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// decodeReference reads an attribute such as `cluster = cluster.dev` and
// returns the referenced name, checking it is declared.
func decodeReference(attr *hcl.Attribute, kind string, declared []string) (string, hcl.Diagnostics) {
	return referenceName(attr.Expr, attr.Name, kind, declared)
}

// decodeReferenceList reads `plugins = [plugin.a, plugin.b]`.
func decodeReferenceList(attr *hcl.Attribute, kind string, declared []string) ([]string, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{attrError(attr, "Invalid reference list", "%s must be a list of references such as [%s.a, %s.b].", attr.Name, kind, kind)}
	}
	var names []string
	seen := map[string]bool{}
	for _, e := range exprs {
		name, d := referenceName(e, attr.Name, kind, declared)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if seen[name] {
			diags = append(diags, errorAt(e.Range().Ptr(), "Duplicate reference", "%s.%s is listed twice in %s; list it once.", kind, name, attr.Name))
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, diags
}

func referenceName(expr hcl.Expression, attrName, kind string, declared []string) (string, hcl.Diagnostics) {
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(trav) != 2 || trav.RootName() != kind {
		return "", hcl.Diagnostics{errorAt(expr.Range().Ptr(), fmt.Sprintf("Invalid %s reference", kind), "%s must refer to a declared %s block, like %s.NAME (without quotes).", attrName, kind, kind)}
	}
	step, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return "", hcl.Diagnostics{errorAt(expr.Range().Ptr(), fmt.Sprintf("Invalid %s reference", kind), "Write %s.NAME to refer to a %s block.", kind, kind)}
	}
	for _, d := range declared {
		if d == step.Name {
			return step.Name, nil
		}
	}
	hint := fmt.Sprintf("No %s %q is declared in this manifest.", kind, step.Name)
	if len(declared) > 0 {
		hint += fmt.Sprintf(" Declared: %s.", strings.Join(declared, ", "))
	} else {
		hint += fmt.Sprintf(" Add a %s %q block.", kind, step.Name)
	}
	return "", hcl.Diagnostics{errorAt(expr.Range().Ptr(), fmt.Sprintf("Reference to undeclared %s", kind), "%s", hint)}
}
