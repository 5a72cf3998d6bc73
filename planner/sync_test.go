package planner

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner/fingerprint"
)

func TestDecideSync(t *testing.T) {
	old := fingerprint.Listing{Files: map[string]string{
		"pyproject.toml": "f1111", "src/pkg/a.py": "fa000", "src/pkg/b.py": "fb000",
		"src/pkg/run.sh": "f5555", "src/pkg/link.py": "l7777", "README.md": "f9999",
	}}
	m := SyncMap{Files: map[string]string{"src/pkg/a.py": "pkg/a.py", "src/pkg/b.py": "pkg/b.py", "src/pkg/run.sh": "pkg/run.sh", "src/pkg/link.py": "pkg/link.py", "pyproject.toml": "pyproject.toml"}}
	edit := func(files map[string]string) (fingerprint.Listing, []fingerprint.Change) {
		nw := fingerprint.Listing{Files: map[string]string{}}
		for k, v := range old.Files {
			nw.Files[k] = v
		}
		for k, v := range files {
			if v == "" {
				delete(nw.Files, k)
			} else {
				nw.Files[k] = v
			}
		}
		return nw, fingerprint.Diff(old, nw)
	}
	ok := syncInput{enabled: true, m: m, haveMap: true, prevCached: true, old: old}
	for _, tc := range []struct {
		name   string
		change map[string]string
		adjust func(*syncInput)
		want   string // the refusal; "" for a sync
	}{
		{"two content edits", map[string]string{"src/pkg/a.py": "fa111", "src/pkg/b.py": "fb111"}, nil, ""},
		{"sync off", map[string]string{"src/pkg/a.py": "fa111"}, func(in *syncInput) { in.enabled = false }, "sync is off"},
		{"no record", map[string]string{"src/pkg/a.py": "fa111"}, func(in *syncInput) { in.haveMap = false }, "no record"},
		{"project refused", map[string]string{"src/pkg/a.py": "fa111"}, func(in *syncInput) { in.m = SyncMap{Refused: "setup.py runs code at build time"} }, "setup.py runs code"},
		{"last wheel gone", map[string]string{"src/pkg/a.py": "fa111"}, func(in *syncInput) { in.prevCached = false }, "not in the cache"},
		{"nothing changed", nil, nil, "no file changed"},
		{"added file", map[string]string{"src/pkg/a.py": "fa111", "src/pkg/new.py": "f0000"}, nil, "src/pkg/new.py was added"},
		{"removed file", map[string]string{"src/pkg/b.py": ""}, nil, "src/pkg/b.py was removed"},
		{"renamed file", map[string]string{"src/pkg/b.py": "", "src/pkg/c.py": "fb000"}, nil, "was "},
		{"build configuration", map[string]string{"pyproject.toml": "f2222"}, nil, "pyproject.toml is build configuration"},
		{"build configuration deeper", map[string]string{"sub/setup.cfg": "f2222"}, func(in *syncInput) { in.old.Files["sub/setup.cfg"] = "f1111" }, "sub/setup.cfg is build configuration"},
		{"kind changed", map[string]string{"src/pkg/run.sh": "x5555"}, nil, "changed kind"},
		{"symbolic link", map[string]string{"src/pkg/link.py": "l8888"}, nil, "symbolic link"},
		{"not in the wheel", map[string]string{"README.md": "f8888"}, nil, "README.md is not in the wheel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			in.old = fingerprint.Listing{Files: map[string]string{}}
			for k, v := range old.Files {
				in.old.Files[k] = v
			}
			if tc.adjust != nil {
				tc.adjust(&in)
			}
			saved := old
			old = in.old
			in.new, in.changes = edit(tc.change)
			old = saved
			in.digests = map[string]string{}
			for _, c := range in.changes {
				in.digests[c.Path] = "digest of " + c.Path
			}
			files, why := decideSync(in)
			if tc.want == "" {
				want := []SyncFile{{"src/pkg/a.py", "pkg/a.py", "digest of src/pkg/a.py"}, {"src/pkg/b.py", "pkg/b.py", "digest of src/pkg/b.py"}}
				if why != "" || !reflect.DeepEqual(files, want) {
					t.Errorf("decideSync = %v, %q; want %v", files, why, want)
				}
				return
			}
			if files != nil || !strings.Contains(why, tc.want) {
				t.Errorf("decideSync = %v, %q; want the refusal %q", files, why, tc.want)
			}
		})
	}
}

// TestPlanSyncsAnEditedFile plans through Plan: a recorded map turns the
// edit of a mapped file into a sync naming the member and the new
// content's digest, the job is still resubmitted (a new fingerprint is a
// new spec), and build { sync = false } plans a rebuild.
func TestPlanSyncsAnEditedFile(t *testing.T) {
	f := newFixture(t)
	f.apply(f.plan())
	maps := map[string]SyncMap{}
	for fp := range f.cache {
		maps[fp] = SyncMap{Files: map[string]string{"src/a.py": "a.py", "src/b.py": "b.py"}}
	}
	f.write("alpha/src/a.py", "A = 2\n")

	p := f.planSync(maps, "")
	a, _ := p.Wheel("alpha")
	if a.Action != ActionSync || len(a.Sync) != 1 || a.Sync[0].Member != "a.py" || len(a.Sync[0].Digest) != 64 {
		t.Fatalf("alpha = %+v, want a sync of a.py", a)
	}
	if a.SyncFrom != f.st.Plugins["alpha"].Fingerprint || !strings.Contains(a.Reason, "synced into the last wheel (1 member, no build)") {
		t.Errorf("alpha = %+v", a)
	}
	if got := actions(p); got != "~alpha =beta +op =solo" {
		t.Errorf("actions = %q", got)
	}
	if s := p.Summary(); s.Sync != 1 || s.Build != 0 || !p.HasChanges() {
		t.Errorf("summary = %+v", s)
	}

	p = f.planSync(maps, "build {\n  sync = false\n}\n")
	if a, _ := p.Wheel("alpha"); a.Action != ActionRebuild || strings.Contains(a.Reason, "synced") {
		t.Errorf("with sync = false alpha = %+v, want a rebuild", a)
	}

	// An edit the map does not cover is built, and the plan says why.
	f.write("alpha/pyproject.toml", "[project]\nname='alpha2'\n")
	p = f.planSync(maps, "")
	if a, _ := p.Wheel("alpha"); a.Action != ActionRebuild || !strings.Contains(a.Reason, "built, not synced: pyproject.toml is build configuration") {
		t.Errorf("after a pyproject edit alpha = %+v", a)
	}
}

// planSync plans with the given sync maps and extra manifest text.
func (f *fixture) planSync(maps map[string]SyncMap, extra string) *Plan {
	f.t.Helper()
	f.write("ado.hcl", testManifest+extra)
	cfg, diags := manifest.NewParser().Load(filepath.Join(f.dir, "ado.hcl"), manifest.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		f.t.Fatal(diags)
	}
	p := New(filepath.Join(f.dir, ".adopipe"), func(fp string) (string, bool) { w, ok := f.cache[fp]; return w, ok })
	p.SyncMap = func(fp string) (SyncMap, bool) { m, ok := maps[fp]; return m, ok }
	plan, err := p.Plan(context.Background(), Request{Config: cfg, State: f.st})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := p.SaveCaches(); err != nil {
		f.t.Fatal(err)
	}
	return plan
}
