package planner

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// notIdentity lists the spec fields deliberately left out of the digest,
// with why. A field is added here only on purpose: every other field must
// change the digest and the per-input record when it changes.
var notIdentity = map[string]string{
	"SQLitePath": "where the metastore is on this machine; the context file's digest and the cluster cover what it is",
	"Src":        "where a staged file is on this machine; its SHA256 covers what it is",
}

// TestEverySpecFieldReachesTheDigest changes each field of a fully filled
// spec in turn, through reflection, so a field added to JobSpec (or to a
// type inside it) cannot silently stay out of the job's identity.
func TestEverySpecFieldReachesTheDigest(t *testing.T) {
	filled := func() JobSpec {
		var s JobSpec
		fill(reflect.ValueOf(&s).Elem(), "spec")
		return s
	}
	base := filled()
	baseDigest, baseInputs := base.Digest(), base.Inputs()
	var leaves []string
	walk(reflect.ValueOf(&base).Elem(), "", false, func(_ reflect.Value, path string, _ bool) { leaves = append(leaves, path) })
	if len(leaves) < 15 {
		t.Fatalf("walked only %d fields: %v", len(leaves), leaves)
	}
	for n, path := range leaves {
		s := filled()
		excluded := false
		i := 0
		walk(reflect.ValueOf(&s).Elem(), "", false, func(v reflect.Value, _ string, local bool) {
			if i == n {
				mutate(v)
				excluded = local
			}
			i++
		})
		changed := s.Digest() != baseDigest
		field := path[strings.LastIndex(path, ".")+1:]
		switch {
		case excluded && notIdentity[field] == "":
			t.Errorf("%s is tagged json:\"-\" and so left out of the digest; serialise it, or add it to notIdentity saying why", path)
		case excluded && changed:
			t.Errorf("%s is listed in notIdentity but changes the digest", path)
		case !excluded && !changed:
			t.Errorf("changing %s does not change the digest: a job with a new %s would not be resubmitted", path, field)
		case !excluded && maps.Equal(s.Inputs(), baseInputs):
			t.Errorf("changing %s changes no input: a plan could not say what changed", path)
		}
	}
}

// fill gives every field a non-zero value, one element per list and one
// entry per map.
func fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("v-" + path)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), path+"[0]")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, path+"[k]")
		v.SetMapIndex(reflect.ValueOf("k-"+path), e)
	default:
		panic(fmt.Sprintf("fill: add a case for %s (%s)", v.Kind(), path))
	}
}

// walk visits every leaf and every list and map, saying whether it sits
// under a field tagged json:"-". Map values are visited through a copy
// written back after the visit.
func walk(v reflect.Value, path string, local bool, visit func(v reflect.Value, path string, local bool)) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			walk(v.Field(i), path+"."+f.Name, local || f.Tag.Get("json") == "-", visit)
		}
	case reflect.Slice:
		visit(v, path, local)
		for i := range v.Len() {
			walk(v.Index(i), path+"[]", local, visit)
		}
	case reflect.Map:
		visit(v, path, local)
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			walk(e, path+"[]", local, visit)
			v.SetMapIndex(k, e)
		}
	default:
		visit(v, path, local)
	}
}

// mutate changes one value: a leaf gets another value, a list another
// element, a map another entry.
func mutate(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "'")
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, "extra")
		v.Set(reflect.Append(v, e))
	case reflect.Map:
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, "extra")
		v.SetMapIndex(reflect.ValueOf("another"), e)
	default:
		panic(fmt.Sprintf("mutate: add a case for %s", v.Kind()))
	}
}

// The spec built from a manifest holds every input of the job and no
// secret, and names the staged files' roles for the executors.
func TestBuildSpecFromManifest(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	spec, err := BuildSpec(cfg, cfg.Operations["op"], map[string]string{"alpha": "fa", "beta": "fb"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(spec.WheelNames(), " "); got != "alpha beta" {
		t.Errorf("wheels = %q", got)
	}
	if got := strings.Join(spec.PipRequirements(), " "); got != "ado-ray-tune==2.2.1" {
		t.Errorf("pip = %q", got)
	}
	if spec.ContextFile().Dst != "c.yaml" || spec.OperationFile().Dst != "o.yaml" || len(spec.ExtraFiles()) != 0 {
		t.Errorf("files = %+v", spec.File)
	}
	if got := spec.SensitiveEnv(); len(got) != 1 || got[0] != "TOKEN" {
		t.Errorf("sensitive env = %v", got)
	}
	if SubmitEnv(cfg, spec)["TOKEN"] != "s3cr3t" {
		t.Errorf("the submit env lacks the secret's real value")
	}
	if spec.SQLitePath != "" {
		t.Errorf("an absolute SQLite path is rewritten to %s", spec.SQLitePath)
	}
	if _, err := BuildSpec(cfg, cfg.Operations["op"], map[string]string{"alpha": "fa"}, ""); err == nil {
		t.Error("a missing fingerprint is not an error")
	}
}

func TestWatchPaths(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	trees, files := WatchPaths(cfg, []string{"solo", "nope"}, []string{filepath.Join(f.dir, "vars.hcl")})
	if len(trees) != 1 || trees[0].Dir != filepath.Join(f.dir, "beta") {
		t.Errorf("trees = %+v", trees)
	}
	var rel []string
	for _, p := range files {
		r, _ := filepath.Rel(f.dir, p)
		rel = append(rel, r)
	}
	if got := strings.Join(rel, " "); got != "ado.hcl c.yaml o.yaml vars.hcl" {
		t.Errorf("files = %q", got)
	}
}
