package scaffold

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
)

// initDir does what `adopipe init` does in dir and loads the result as
// `adopipe validate` does, failing on any error diagnostic.
func initDir(t *testing.T, dir string, flags Flags, remote *Remote) *manifest.Config {
	t.Helper()
	f, err := Scan(dir, DefaultDepth)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Choose(f, flags, remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	return writeValid(t, filepath.Join(dir, manifest.DefaultFile), d, false)
}

// writeValid writes d's manifest to file (overwrite as WriteManifest
// takes it) and loads it as `adopipe validate` does, failing on any error
// diagnostic.
func writeValid(t *testing.T, file string, d *Draft, overwrite bool) *manifest.Config {
	t.Helper()
	if err := WriteManifest(file, Render(d), overwrite); err != nil {
		t.Fatal(err)
	}
	cfg, diags := manifest.NewParser().Load(file, manifest.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		b, _ := os.ReadFile(file)
		t.Fatalf("the written manifest does not validate: %v\n%s", diags, b)
	}
	return cfg
}

func TestInitQuickstartValidates(t *testing.T) {
	dir := testfiles.Copy(t, filepath.Join("..", "..", "examples", "quickstart"), "ado.hcl")
	cfg := initDir(t, dir, Flags{}, nil)
	if len(cfg.Operations) != 1 {
		t.Fatalf("operations = %v", cfg.OperationNames())
	}
	op := cfg.Operations[cfg.OperationNames()[0]]
	if !op.Cluster.SharesDisk() || len(op.Plugins) != 1 || op.Plugins[0].Dir != filepath.Join(dir, "plugin") {
		t.Errorf("operation = cluster %+v, plugins %+v", op.Cluster, op.Plugins)
	}
	if len(op.Files) != 1 || op.Files[0].Dst != "space.yaml" || op.Context.Dst != "context.yaml" || op.Operation.Dst != "operation.yaml" {
		t.Errorf("staged = %+v %+v %+v", op.Context, op.Operation, op.Files)
	}
}

// TestInitAdoCheckoutPlugins builds ado and two of its plugins from the
// ado checkout, named with flags as on a machine without a terminal.
func TestInitAdoCheckoutPlugins(t *testing.T) {
	ado := adoCheckoutDir(t)
	dir := testfiles.Copy(t, filepath.Join("..", "..", "examples", "remote"), "ado.hcl")
	cfg := initDir(t, dir, Flags{
		Ado:     ado,
		Plugins: []string{filepath.Join(ado, "plugins/actuators/sfttrainer"), filepath.Join(ado, "plugins/operators/ray_tune")},
		Cluster: ClusterFlags{PortForwardNamespace: "discovery-dev", PortForwardService: "ray-head-svc", PortForwardCommand: "oc"},
	}, nil)
	if cfg.Ado == nil || cfg.Ado.Dir != ado {
		t.Errorf("ado = %+v, want source %s", cfg.Ado, ado)
	}
	if got := cfg.PluginNames(); len(got) != 2 || got[0] != "ray_tune" || got[1] != "sfttrainer" {
		t.Errorf("plugins = %v", got)
	}
	op := cfg.Operations[cfg.OperationNames()[0]]
	if op.Cluster.PortForward == nil || op.Cluster.PortForward.Service != "ray-head-svc" || len(op.Plugins) != 2 {
		t.Errorf("operation = %+v", op)
	}
}

// TestInitWithoutYAMLs writes a manifest with the operation as a comment,
// which still validates.
func TestInitWithoutYAMLs(t *testing.T) {
	dir := testfiles.Copy(t, filepath.Join("..", "..", "examples", "quickstart", "plugin"))
	cfg := initDir(t, dir, Flags{}, nil)
	if len(cfg.Operations) != 0 || len(cfg.Plugins) != 1 {
		t.Errorf("operations %v, plugins %v", cfg.OperationNames(), cfg.PluginNames())
	}
}

// TestWriteManifestNeverReplaces: without overwrite an existing manifest
// stays as it was.
func TestWriteManifestNeverReplaces(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ado.hcl")
	if err := os.WriteFile(file, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteManifest(file, []byte("# new\n"), false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "# mine\n" {
		t.Fatalf("manifest replaced: %q", b)
	}
	if err := WriteManifest(file, []byte("# new\n"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "# new\n" {
		t.Fatalf("overwrite: %q", b)
	}
}
