package planner

import (
	"encoding/json"
	"reflect"
	"strings"
)

// keyedInput is a list element recorded as its own input, named by its key
// ("wheel alpha", "file c.yaml").
type keyedInput interface{ inputKey() string }

var keyedType = reflect.TypeFor[keyedInput]()

// flattenInputs walks the spec's serialised fields, so every field is an
// input with no edit here. A field's input name is its JSON name with
// spaces for underscores; a map contributes one input per key and a list
// of keyed elements one per element ("env NAME", "wheel NAME"); anything
// else is one input. Empty fields are left out, as they are from the JSON.
// A string is recorded as is, anything else as its JSON.
func flattenInputs(spec JobSpec) Inputs {
	in := Inputs{}
	v := reflect.ValueOf(spec)
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || fv.IsZero() {
			continue
		}
		name = strings.ReplaceAll(name, "_", " ")
		switch {
		case fv.Kind() == reflect.Map:
			iter := fv.MapRange()
			for iter.Next() {
				in[name+" "+iter.Key().String()] = inputValue(iter.Value())
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Implements(keyedType):
			for j := range fv.Len() {
				e := fv.Index(j)
				in[name+" "+e.Interface().(keyedInput).inputKey()] = inputValue(e)
			}
		default:
			in[name] = inputValue(fv)
		}
	}
	return in
}

func inputValue(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return v.String()
	}
	b, _ := json.Marshal(v.Interface())
	return string(b)
}
