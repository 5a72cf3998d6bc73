package manifest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type // cty.DynamicPseudoType when no type is given
	Default     cty.Value
	HasDefault  bool
	Sensitive   bool
	DeclRange   hcl.Range

	// badDefault records a default that failed to evaluate, so the variable
	// is not reported a second time as having no value.
	badDefault bool
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "default"},
		{Name: "type"},
		{Name: "description"},
		{Name: "sensitive"},
	},
}

// VarEnvPrefix prefixes environment variables that set manifest variables.
const VarEnvPrefix = "ADOPIPE_VAR_"

// VarSource is one value given for a variable from outside the manifest.
// Sources apply in order: a later one wins, as in Terraform.
type VarSource struct {
	// Exactly one of Assignment ("name=value", from --var) or File (from
	// --var-file) is set.
	Assignment string
	File       string
}

func decodeVariable(block *hcl.Block, ctx *hcl.EvalContext) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: block.Labels[0], Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	diags := checkName("variable", block)
	content, moreDiags := block.Body.Content(variableSchema)
	diags = append(diags, moreDiags...)

	if attr, ok := content.Attributes["type"]; ok {
		ty, tyDiags := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, tyDiags...)
		if !tyDiags.HasErrors() {
			v.Type = ty
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		diags = append(diags, decodeString(attr, ctx, &v.Description)...)
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &v.Sensitive)...)
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, valDiags := attr.Expr.Value(ctx)
		diags = append(diags, valDiags...)
		v.badDefault = valDiags.HasErrors()
		if !valDiags.HasErrors() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				v.badDefault = true
				diags = append(diags, attrError(attr, "Invalid default value for variable", "The default of variable %q does not match its type: %s.", v.Name, err))
			} else {
				v.Default, v.HasDefault = conv, true
			}
		}
	}
	return v, diags
}

// resolveVariables computes the final value of every declared variable from
// its default, ADOPIPE_VAR_<name> in environ, and the --var-file/--var
// sources in order. Sensitive variables come back marked.
func (p *Parser) resolveVariables(vars map[string]*Variable, environ []string, sources []VarSource) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	values := map[string]cty.Value{}
	ranges := map[string]*hcl.Range{}
	for name, v := range vars {
		if v.HasDefault {
			values[name] = v.Default
		}
	}

	set := func(name string, val cty.Value, rng *hcl.Range, origin string) {
		v, ok := vars[name]
		if !ok {
			diags = append(diags, errorAt(rng, "Value for undeclared variable", "%s sets variable %q, which the manifest does not declare. Declare it with a variable %q block or remove the value.", origin, name, name))
			return
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			diags = append(diags, errorAt(rng, "Invalid value for variable", "%s gives variable %q a value that does not match its type: %s.", origin, name, err))
			return
		}
		values[name] = conv
		ranges[name] = rng
	}

	// Environment first: it has the lowest precedence after defaults.
	var envNames []string
	envVals := map[string]string{}
	for _, kv := range environ {
		if !strings.HasPrefix(kv, VarEnvPrefix) {
			continue
		}
		name, val, _ := strings.Cut(strings.TrimPrefix(kv, VarEnvPrefix), "=")
		if _, declared := vars[name]; !declared {
			continue // like Terraform: stray environment variables are ignored
		}
		envNames = append(envNames, name)
		envVals[name] = val
	}
	sort.Strings(envNames)
	for _, name := range envNames {
		val, valDiags := parseRawValue(envVals[name], vars[name].Type, VarEnvPrefix+name)
		diags = append(diags, valDiags...)
		if !valDiags.HasErrors() {
			set(name, val, nil, "Environment variable "+VarEnvPrefix+name)
		}
	}

	for _, src := range sources {
		switch {
		case src.File != "":
			diags = append(diags, p.loadVarFile(src.File, set)...)
		default:
			name, raw, ok := strings.Cut(src.Assignment, "=")
			if !ok || name == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid --var option",
					Detail:   fmt.Sprintf("The value %q is not of the form name=value, for example --var 'namespace=discovery-dev'.", src.Assignment),
				})
				continue
			}
			v, declared := vars[name]
			ty := cty.String
			if declared {
				ty = v.Type
			}
			val, valDiags := parseRawValue(raw, ty, "--var "+name)
			diags = append(diags, valDiags...)
			if !valDiags.HasErrors() {
				set(name, val, nil, "The option --var "+name)
			}
		}
	}

	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if _, ok := values[name]; !ok {
			if v.badDefault {
				continue
			}
			diags = append(diags, errorAt(v.DeclRange.Ptr(), "No value for required variable", "Variable %q has no default. Set it with --var '%s=...', --var-file or the environment variable %s%s.", name, name, VarEnvPrefix, name))
			continue
		}
		if v.Sensitive {
			values[name] = values[name].Mark(sensitiveMark)
		}
	}
	return values, diags
}

// parseRawValue reads a command-line or environment value: a plain string
// for string (or untyped) variables, an HCL expression otherwise, as
// Terraform does.
func parseRawValue(raw string, ty cty.Type, origin string) (cty.Value, hcl.Diagnostics) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), origin, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return expr.Value(nil)
}

func (p *Parser) loadVarFile(path string, set func(string, cty.Value, *hcl.Range, string)) hcl.Diagnostics {
	f, diags := p.parseFile(path)
	if diags.HasErrors() {
		return diags
	}
	attrs, attrDiags := f.Body.JustAttributes()
	diags = append(diags, attrDiags...)
	for _, name := range sortedKeys(attrs) {
		attr := attrs[name]
		val, valDiags := attr.Expr.Value(nil)
		diags = append(diags, valDiags...)
		if !valDiags.HasErrors() {
			set(name, val, attr.NameRange.Ptr(), "The variables file "+path)
		}
	}
	return diags
}
