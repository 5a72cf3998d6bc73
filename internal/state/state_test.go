package state

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 4, 12, 3, 4, 500, time.UTC)

// populated returns a state with every field set.
func populated() *State {
	s := New()
	s.Serial = 7
	s.Plugins["sfttrainer"] = PluginState{
		Fingerprint: "sha256:abc",
		Wheel: WheelRecord{FileName: "sfttrainer-1.0-py3-none-any.whl", SHA256: "def",
			Distribution: "sfttrainer", Version: "1.0", BuiltAt: t0},
	}
	s.Operations["sweep"] = OperationState{InputDigest: "sha256:123", JobID: "adopipe-sweep-123",
		SubmittedAt: t0, Cluster: "dev", Address: "http://127.0.0.1:8265", Status: "RUNNING"}
	return s
}

func TestNew(t *testing.T) {
	a, b := New(), New()
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(a.Lineage) {
		t.Errorf("lineage %q is not a v4 uuid", a.Lineage)
	}
	if a.Lineage == b.Lineage {
		t.Errorf("two new states share lineage %s", a.Lineage)
	}
	if a.Version != FormatVersion || a.Serial != 0 {
		t.Errorf("new state: version %d serial %d", a.Version, a.Serial)
	}
	if a.Plugins == nil || a.Operations == nil {
		t.Error("new state has nil maps")
	}
}

func TestRoundTrip(t *testing.T) {
	s := populated()
	s.Extra = map[string]json.RawMessage{"future": json.RawMessage(`{"x":[1,2]}`)}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip changed the state:\n got %+v\nwant %+v", got, s)
	}
}

func TestMarshalWritesEmptyMaps(t *testing.T) {
	data, err := json.Marshal(State{Version: 1, Lineage: "l"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"plugins":{}`, `"operations":{}`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
}

func TestUnknownKeysKeptWithinVersion(t *testing.T) {
	in := `{"version":1,"serial":3,"lineage":"L","plugins":{},"zeta":{"a":1},"alpha":[true],"Serial":9}`
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// "Serial" is a case variant of a known key: encoding/json decodes it
	// into Serial, so it must not also be kept as an unknown key.
	if len(s.Extra) != 2 || string(s.Extra["zeta"]) != `{"a":1}` || string(s.Extra["alpha"]) != `[true]` {
		t.Fatalf("extra = %v", s.Extra)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), `,"alpha":[true],"zeta":{"a":1}}`) {
		t.Errorf("unknown keys not written back in order: %s", out)
	}
}

func TestMarshalRejectsInvalidExtra(t *testing.T) {
	s := New()
	s.Extra = map[string]json.RawMessage{"bad": json.RawMessage(`{`)}
	if _, err := json.Marshal(s); err == nil {
		t.Fatal("invalid extra JSON was written")
	}
}

// secretish matches names of fields that could carry secrets.
var secretish = regexp.MustCompile(`(?i)token|header|env|secret|passw|auth|cookie|credential|key`)

// TestNoSecretFields guards the rule that the state has nowhere to put
// header values, environment values or tokens: neither the Go types nor the
// JSON written have a field named like that.
func TestNoSecretFields(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, where string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Map || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeFor[State]().PkgPath() {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if secretish.MatchString(f.Name) || secretish.MatchString(f.Tag.Get("json")) {
				t.Errorf("%s.%s looks like it could carry a secret", where, f.Name)
			}
			walk(f.Type, where+"."+f.Name)
		}
	}
	walk(reflect.TypeFor[State](), "State")
	walk(reflect.TypeFor[PlanFile](), "PlanFile")
	walk(reflect.TypeFor[Holder](), "Holder")
	if len(seen) < 6 {
		t.Fatalf("walked only %d types; the guard is not looking", len(seen))
	}

	data, err := json.Marshal(populated())
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	keys := 0
	var walkJSON func(any, string)
	walkJSON = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys++
				// Map keys under these are user-chosen names, not fields.
				if where != ".plugins" && where != ".operations" && secretish.MatchString(k) {
					t.Errorf("state JSON has field %s%s", where, "."+k)
				}
				walkJSON(e, where+"."+k)
			}
		case []any:
			for _, e := range v {
				walkJSON(e, where+"[]")
			}
		}
	}
	walkJSON(doc, "")
	if keys < 20 {
		t.Fatalf("walked only %d JSON keys; populated() is not populated", keys)
	}
}
