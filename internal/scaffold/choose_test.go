package scaffold

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

const mysqlContext = "project: p\nmetadataStore: {scheme: mysql+pymysql, host: db}\n"

func twoOfEach(t *testing.T) *Findings {
	t.Helper()
	plugin := func(name string) string {
		return "[project]\nname = \"" + name + "\"\n[project.entry-points.\"ado.actuators\"]\na = \"a\"\n"
	}
	root := testfiles.Write(t, map[string]string{
		"a/context.yaml":    mysqlContext,
		"b/context.yaml":    mysqlContext,
		"op1.yaml":          "spaces: [s]\noperation: {module: {operatorName: random_walk}}\n",
		"op2.yaml":          "spaces: [s]\noperation: {module: {operatorName: ray_tune}}\n",
		"p1/pyproject.toml": plugin("ado-one"),
		"p2/pyproject.toml": plugin("ado-two"),
	})
	f, err := Scan(root, DefaultDepth)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestChooseWithoutTerminal: every ambiguity ends in an error naming the
// candidates and the flag that settles it, checked one at a time.
func TestChooseWithoutTerminal(t *testing.T) {
	f := twoOfEach(t)
	settled := Flags{Context: filepath.Join(f.Root, "a/context.yaml"), Operations: []string{filepath.Join(f.Root, "op1.yaml")}, Plugins: []string{None}}
	cases := []struct {
		name     string
		flags    func(Flags) Flags
		wantFlag string
		wantPath string
	}{
		{"context", func(fl Flags) Flags { fl.Context = ""; return fl }, "--context FILE", "b/context.yaml"},
		{"operations", func(fl Flags) Flags { fl.Operations = nil; return fl }, "--operation FILE", "op2.yaml"},
		{"plugins", func(fl Flags) Flags { fl.Plugins = nil; return fl }, "--plugin DIR", "p2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Choose(f, c.flags(settled), nil, nil)
			if err == nil || !strings.Contains(err.Error(), c.wantFlag) || !strings.Contains(err.Error(), c.wantPath) {
				t.Fatalf("err = %v, want one naming %s and %s", err, c.wantFlag, c.wantPath)
			}
		})
	}
	if _, err := Choose(f, settled, nil, nil); err != nil {
		t.Fatalf("all settled by flags: %v", err)
	}
}

// TestChooseAsks takes the asker's answers for every ambiguous choice.
func TestChooseAsks(t *testing.T) {
	f := twoOfEach(t)
	var asked []string
	ask := func(q Question) ([]int, error) {
		asked = append(asked, q.Flag)
		if q.Multi {
			return []int{1}, nil
		}
		return []int{1}, nil
	}
	d, err := Choose(f, Flags{}, nil, ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 3 {
		t.Errorf("asked %d questions (%v), want context, operations and plugins", len(asked), asked)
	}
	if len(d.Operations) != 1 || filepath.Base(d.Operations[0].Operation) != "op2.yaml" || !strings.HasSuffix(d.Operations[0].Context, filepath.FromSlash("b/context.yaml")) {
		t.Errorf("operations = %+v", d.Operations)
	}
	if len(d.Plugins) != 1 || d.Plugins[0].Name != "two" {
		t.Errorf("plugins = %+v", d.Plugins)
	}
}

func TestChooseRefusesSQLiteOnRemoteCluster(t *testing.T) {
	root := testfiles.Write(t, map[string]string{
		"context.yaml":   "project: p\nmetadataStore: {scheme: sqlite, path: p.db}\n",
		"operation.yaml": "spaces: [s]\noperation: {module: {operatorName: random_walk}}\n",
	})
	f, err := Scan(root, DefaultDepth)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Choose(f, Flags{Cluster: ClusterFlags{Address: "https://ray.example.com"}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "SQLite") {
		t.Fatalf("err = %v, want the SQLite refusal", err)
	}
	if _, err := Choose(f, Flags{}, nil, nil); err != nil {
		t.Fatalf("SQLite on the local head: %v", err)
	}
}

func TestChooseClusterFlags(t *testing.T) {
	f := &Findings{Root: t.TempDir()}
	d, err := Choose(f, Flags{Cluster: ClusterFlags{PortForwardNamespace: "ns", PortForwardService: "svc", PortForwardCommand: "oc", LocalPort: 18265}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pf := d.Cluster.PortForward
	if pf == nil || pf.Command != "oc" || pf.Port != 8265 || pf.LocalPort != 18265 || d.Cluster.Local {
		t.Errorf("cluster = %+v, port_forward %+v", d.Cluster, pf)
	}
	for _, bad := range []ClusterFlags{{PortForwardNamespace: "ns"}, {Address: "ray://h:10001"}} {
		if _, err := Choose(f, Flags{Cluster: bad}, nil, nil); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"ado-ray-tune": "ray_tune", "robotic_lab": "robotic_lab", "ado.sft.trainer": "sft_trainer", "ado": "plugin_ado", "3d-tools": "plugin_3d_tools"} {
		if got := PluginName(in); got != want {
			t.Errorf("PluginName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := OperationName("my op.v2"); got != "my_op_v2" {
		t.Errorf("OperationName = %q", got)
	}
}
