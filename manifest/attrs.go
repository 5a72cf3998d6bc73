package manifest

import (
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evalAs evaluates an attribute and converts it to ty, reporting a type
// mismatch against the attribute's own range. Marks are stripped; callers
// that care about sensitivity (env, headers) look at them first.
func evalAs(attr *hcl.Attribute, ctx *hcl.EvalContext, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	val, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, _ = val.UnmarkDeep()
	if !val.IsWhollyKnown() {
		return cty.DynamicVal, diags // an upstream error was already reported
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.DynamicVal, append(diags, typeError(attr, ty, err))
	}
	if conv.IsNull() {
		return conv, append(diags, attrError(attr, "Missing value", "The attribute %q must not be null.", attr.Name))
	}
	return conv, diags
}

// errorAt is an error diagnostic pointing at subject; its detail is
// format with args, as fmt.Sprintf makes it.
func errorAt(subject *hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject}
}

// attrError is errorAt attr's value.
func attrError(attr *hcl.Attribute, summary, format string, args ...any) *hcl.Diagnostic {
	return errorAt(attr.Expr.Range().Ptr(), summary, format, args...)
}

func typeError(attr *hcl.Attribute, ty cty.Type, err error) *hcl.Diagnostic {
	return attrError(attr, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s required (%s).", attr.Name, ty.FriendlyName(), err)
}

func decodeString(attr *hcl.Attribute, ctx *hcl.EvalContext, out *string) hcl.Diagnostics {
	v, diags := evalAs(attr, ctx, cty.String)
	if !diags.HasErrors() {
		*out = v.AsString()
	}
	return diags
}

func decodeBool(attr *hcl.Attribute, ctx *hcl.EvalContext, out *bool) hcl.Diagnostics {
	v, diags := evalAs(attr, ctx, cty.Bool)
	if !diags.HasErrors() {
		*out = v.True()
	}
	return diags
}

func decodeNumber(attr *hcl.Attribute, ctx *hcl.EvalContext, out *float64) hcl.Diagnostics {
	v, diags := evalAs(attr, ctx, cty.Number)
	if !diags.HasErrors() {
		f, _ := v.AsBigFloat().Float64()
		if f < 0 {
			return append(diags, attrError(attr, "Invalid value", "The attribute %q must not be negative.", attr.Name))
		}
		*out = f
	}
	return diags
}

// decodePort reads a TCP port number, 1 to 65535 (0 too when allowZero).
func decodePort(attr *hcl.Attribute, ctx *hcl.EvalContext, allowZero bool, out *int) hcl.Diagnostics {
	v, diags := evalAs(attr, ctx, cty.Number)
	if diags.HasErrors() {
		return diags
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	min := int64(1)
	if allowZero {
		min = 0
	}
	if acc != big.Exact || n < min || n > 65535 {
		return append(diags, attrError(attr, "Invalid port", "%s is not a port number; use a whole number from %d to 65535.", bf.Text('g', -1), min))
	}
	*out = int(n)
	return diags
}

// decodeChoice reads a string that must be one of choices; otherwise the
// error is summary, saying "<attribute> is <value>; <hint>."
func decodeChoice(attr *hcl.Attribute, ctx *hcl.EvalContext, out *string, summary, hint string, choices ...string) hcl.Diagnostics {
	var s string
	diags := decodeString(attr, ctx, &s)
	if diags.HasErrors() {
		return diags
	}
	if !slices.Contains(choices, s) {
		return append(diags, attrError(attr, summary, "%s is %q; %s.", attr.Name, s, hint))
	}
	*out = s
	return diags
}

func decodeStringList(attr *hcl.Attribute, ctx *hcl.EvalContext, out *[]string) hcl.Diagnostics {
	v, diags := evalAs(attr, ctx, cty.List(cty.String))
	if diags.HasErrors() {
		return diags
	}
	*out = []string{}
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			return append(diags, attrError(attr, "Null list element", "The list %q must not contain null.", attr.Name))
		}
		*out = append(*out, e.AsString())
	}
	return diags
}

func decodeDuration(attr *hcl.Attribute, ctx *hcl.EvalContext, out *time.Duration) hcl.Diagnostics {
	var s string
	diags := decodeString(attr, ctx, &s)
	if diags.HasErrors() {
		return diags
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return append(diags, attrError(attr, "Invalid duration", "%q is not a positive duration; write it like \"90s\", \"15m\" or \"1h30m\".", s))
	}
	*out = d
	return diags
}

// decodeEnv reads a map of environment variables. Values must already be
// strings: a number or bool is refused rather than converted, because
// OMP_NUM_THREADS = 1 and "1" look alike but the quoted form is what the
// job receives, and being explicit avoids surprises like 1e3.
func decodeEnv(attr *hcl.Attribute, ctx *hcl.EvalContext) (Env, hcl.Diagnostics) {
	return decodeStringMap(attr, ctx, "environment variable", false)
}

// decodeStringMap reads a map of strings, remembering which values are
// sensitive. allSensitive marks every value (used for headers).
func decodeStringMap(attr *hcl.Attribute, ctx *hcl.EvalContext, what string, allSensitive bool) (Env, hcl.Diagnostics) {
	val, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	val, topMarks := val.Unmark()
	ty := val.Type()
	if val.IsNull() || !(ty.IsObjectType() || ty.IsMapType()) {
		return nil, append(diags, attrError(attr, "Incorrect attribute value type", "Inappropriate value for attribute %q: a map of strings is required, like { NAME = \"value\" }.", attr.Name))
	}
	out := Env{}
	for it := val.ElementIterator(); it.Next(); {
		k, v := it.Element()
		key := k.AsString()
		v, marks := v.UnmarkDeep()
		_, sensitiveTop := topMarks[sensitiveMark]
		_, sensitive := marks[sensitiveMark]
		if v.IsNull() || v.Type() != cty.String {
			got := "null"
			if !v.IsNull() {
				got = v.Type().FriendlyName()
			}
			return nil, append(diags, errorAt(mapItemRange(attr.Expr, key).Ptr(), fmt.Sprintf("Invalid %s value", what), "The value of %s %q is a %s; values must be strings. Quote it, for example %s = \"1\".", what, key, got, key))
		}
		out[key] = EnvValue{Value: v.AsString(), Sensitive: allSensitive || sensitive || sensitiveTop}
	}
	return out, diags
}

// resolvePath makes a manifest-relative path absolute.
func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// decodeNumberMap reads a map of non-negative numbers, such as custom Ray
// resources.
func decodeNumberMap(attr *hcl.Attribute, ctx *hcl.EvalContext) (map[string]float64, hcl.Diagnostics) {
	v, diags := evalAs(attr, ctx, cty.Map(cty.Number))
	if diags.HasErrors() {
		return nil, diags
	}
	out := map[string]float64{}
	for k, e := range v.AsValueMap() {
		f, _ := e.AsBigFloat().Float64()
		if f < 0 {
			return nil, append(diags, attrError(attr, "Invalid value", "Resource %q must not be negative.", k))
		}
		out[k] = f
	}
	return out, diags
}

// mapItemRange finds the range of key's value in a map expression, so a
// diagnostic points at the offending line rather than the whole map.
func mapItemRange(expr hcl.Expression, key string) hcl.Range {
	pairs, diags := hcl.ExprMap(expr)
	if diags.HasErrors() {
		return expr.Range()
	}
	for _, kv := range pairs {
		k, d := kv.Key.Value(nil)
		if d.HasErrors() || k.IsNull() || !k.IsKnown() || k.Type() != cty.String {
			continue
		}
		if k.AsString() == key {
			return kv.Value.Range()
		}
	}
	return expr.Range()
}
