package pipeline

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/executors/wheelsync"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/planner"
)

// writeTestWheel writes a small valid wheel of plug holding mod.
func writeTestWheel(t *testing.T, path, mod string) {
	testfiles.Wheel(t, path, "plug-0.1.dist-info", []testfiles.Member{
		{Name: "plug/mod.py", Content: mod, Method: zip.Deflate},
		{Name: "plug-0.1.dist-info/METADATA", Content: "Metadata-Version: 2.1\nName: plug\nVersion: 0.1\n\n", Method: zip.Deflate},
		{Name: "plug-0.1.dist-info/WHEEL", Content: "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", Method: zip.Deflate},
	})
}

// syncPlan plans with the workspace's sync maps, as workspace wires it.
func (e *env) syncPlan() *planner.Plan {
	e.t.Helper()
	workDir := filepath.Join(e.dir, ".adopipe")
	pl := planner.New(workDir, func(fp string) (string, bool) {
		p, _, ok, _ := e.cache.Peek(fp)
		return filepath.Base(p), ok
	})
	pl.SyncMap = func(fp string) (planner.SyncMap, bool) { return wheelsync.LoadMap(e.cache.Dir(fp)) }
	p, err := pl.Plan(context.Background(), planner.Request{Config: e.cfg, State: e.st})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := pl.SaveCaches(); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestApplySyncs carries a planned sync out: the new wheel enters the
// cache under the new fingerprint with the edit and the file map, the
// state records it, the job is submitted again; and a sync that can no
// longer be done (the last wheel gone) builds instead, with a warning.
func TestApplySyncs(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(filepath.Join(e.dir, "plug/pyproject.toml"), []byte("[project]\nname = \"plug\"\nversion = \"0.1\"\n"), 0o644)
	os.MkdirAll(filepath.Join(e.dir, "plug/plug"), 0o755)
	os.WriteFile(filepath.Join(e.dir, "plug/plug/mod.py"), []byte("V = 1\n"), 0o644)
	first := e.syncPlan()
	fp1 := first.Wheels[0].Fingerprint
	whl := filepath.Join(t.TempDir(), "plug-0.1-py3-none-any.whl")
	writeTestWheel(t, whl, "V = 1\n")
	if _, _, err := e.cache.Put(fp1, whl); err != nil {
		t.Fatal(err)
	}
	if err := wheelsync.SaveMap(e.cache.Dir(fp1), planner.SyncMap{Files: map[string]string{"plug/mod.py": "plug/mod.py"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(e.syncPlan()); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(filepath.Join(e.dir, "plug/plug/mod.py"), []byte("V = 2\n"), 0o644)
	p := e.syncPlan()
	if w := p.Wheels[0]; w.Action != planner.ActionSync || w.SyncFrom != fp1 {
		t.Fatalf("wheel step = %+v, want a sync from %s", w, fp1[:12])
	}
	out, err := e.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if out.Synced != 1 || out.Built != 0 || out.Submitted != 1 || len(e.fake.Submitted) != 2 {
		t.Fatalf("outcome = %+v, %d jobs submitted in all", out, len(e.fake.Submitted))
	}
	fp2 := p.Wheels[0].Fingerprint
	path, sha, ok, err := e.cache.Get(fp2)
	if !ok {
		t.Fatalf("no verified wheel cached for the new fingerprint: %v", err)
	}
	zr, _ := zip.OpenReader(path)
	rc, _ := zr.Open("plug/mod.py")
	got, _ := io.ReadAll(rc)
	rc.Close()
	zr.Close()
	if string(got) != "V = 2\n" {
		t.Errorf("synced wheel holds mod.py %q", got)
	}
	if m, ok := wheelsync.LoadMap(e.cache.Dir(fp2)); !ok || m.Files["plug/mod.py"] != "plug/mod.py" {
		t.Errorf("the new entry's map = %+v, %v", m, ok)
	}
	if rec := e.st.Plugins["plug"]; rec.Fingerprint != fp2 || rec.Wheel.SHA256 != sha || rec.Wheel.Version != "0.1" {
		t.Errorf("state = %+v", rec)
	}
	if _, ok, _ := peek(e, fp1); !ok {
		t.Error("the last good wheel left the cache")
	}

	// The last wheel gone between plan and apply: built instead (here
	// the build fails, with no Python), and a warning says why.
	os.WriteFile(filepath.Join(e.dir, "plug/plug/mod.py"), []byte("V = 3\n"), 0o644)
	p = e.syncPlan()
	if p.Wheels[0].Action != planner.ActionSync {
		t.Fatalf("wheel step = %+v, want a sync", p.Wheels[0])
	}
	os.RemoveAll(e.cache.Dir(fp2))
	e.cfg.Build.Python = filepath.Join(e.dir, "no-such-python")
	out, warnings, err := e.applyWarned(p)
	if err == nil || out.Synced != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "wheel plug: not synced") {
		t.Errorf("err = %v, outcome = %+v, warnings = %q", err, out, warnings)
	}
	if e.st.Plugins["plug"].Fingerprint != fp2 {
		t.Errorf("the state moved on after a failed sync and build: %+v", e.st.Plugins["plug"])
	}
}

func peek(e *env, fp string) (string, bool, error) {
	p, _, ok, err := e.cache.Peek(fp)
	return p, ok, err
}
