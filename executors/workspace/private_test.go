package workspace

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
)

const password = "db-pa55word-planted"

// useManifest replaces the project's ado.hcl and files.
func (p *project) write(files map[string]string) {
	p.t.Helper()
	testfiles.WriteTo(p.t, p.dir, files)
}

// private checks that nothing under dir is readable by another user.
func private(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		info, _ := os.Lstat(path)
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: others may read it", path, info.Mode().Perm())
		}
		return nil
	})
}

// The staged job directory holds the context YAML with its database
// password: it is removed once uploaded, and everything under .adopipe is
// readable only by its user, an older workspace included.
func TestStagedSecretsDoNotOutliveTheUpload(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	p.write(map[string]string{"c.yaml": "project: p\nmetadataStore:\n  scheme: mysql+pymysql\n  host: db\n  password: " + password + "\n"})
	os.Mkdir(filepath.Join(p.dir, DirName), 0o755) // made by an older adopipe
	p.apply()
	if _, err := os.Stat(filepath.Join(p.dir, DirName, "jobs", "op")); !os.IsNotExist(err) {
		t.Errorf("the staged job directory outlived the upload: %v", err)
	}
	filepath.WalkDir(filepath.Join(p.dir, DirName), func(path string, d fs.DirEntry, err error) error {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(password)) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
	private(t, filepath.Join(p.dir, DirName))
	if !p.saw("staged", "removed once uploaded (--keep-staged keeps it)") {
		t.Errorf("the staged event does not say the directory goes: %+v", p.seen)
	}

	// Asked to keep it, apply leaves it, private.
	p.write(map[string]string{"o.yaml": "spaces: [s2]\n"})
	ws := p.open(true)
	s, err := ws.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plan, err := s.Plan(t.Context(), ws.NewPlanner(), PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cn := ws.Connector(false)
	defer cn.Close()
	opts := s.Pipeline(plan, 1, cn)
	opts.KeepStaged = true
	if _, err := pipeline.Apply(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(p.dir, DirName, "jobs", "op", "c.yaml")); err != nil || !bytes.Contains(b, []byte(password)) {
		t.Errorf("the kept job directory lacks the context: %v", err)
	}
	private(t, filepath.Join(p.dir, DirName))
}

// excludes leave matching staged files out of the upload, and are sent in
// the runtime_env as Ray's own client sends them.
func TestExcludesLeaveFilesOutOfTheUpload(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	p.write(map[string]string{
		"ado.hcl": fmt.Sprintf(`
cluster "dev" {
  address     = %q
  shared_disk = true
}
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  files     = ["data/keep.txt", "data/model.ckpt", "data/tmp/junk.txt"]
  excludes  = ["*.ckpt", "data/tmp/"]
}`, p.fake.URL),
		"data/keep.txt":     "k",
		"data/model.ckpt":   "big",
		"data/tmp/junk.txt": "j",
	})
	p.apply()
	p.fake.Lock()
	defer p.fake.Unlock()
	if len(p.fake.Packages) != 1 {
		t.Fatalf("%d packages uploaded", len(p.fake.Packages))
	}
	var names []string
	for _, zipped := range p.fake.Packages {
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
	}
	got := strings.Join(names, " ")
	if !strings.Contains(got, "data/keep.txt") || strings.Contains(got, "ckpt") || strings.Contains(got, "junk") {
		t.Errorf("uploaded %s", got)
	}
	rt := p.fake.Submitted[0]["runtime_env"].(map[string]any)
	if fmt.Sprint(rt["excludes"]) != "[*.ckpt data/tmp/]" {
		t.Errorf("runtime_env excludes = %v", rt["excludes"])
	}
}

// status, logs and stop of an operation no longer in the manifest use its
// cluster's settings while the manifest declares the cluster, and say
// what they use when it does not.
func TestRemovedOperationUsesItsClusterSettings(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	var headers []string
	p.fake.OnRequest = func(r *http.Request) { headers = append(headers, r.Header.Get("X-Team")) }
	cluster := fmt.Sprintf(`
cluster "dev" {
  address     = %q
  shared_disk = true
  headers     = { "X-Team" = "team-secret" }
}`, p.fake.URL)
	p.write(map[string]string{"ado.hcl": cluster + `
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
}`})
	p.apply()

	status := func() string {
		r, err := p.open(true).Read()
		if err != nil {
			t.Fatal(err)
		}
		cn := r.Connector(false)
		defer cn.Close()
		return r.Refresh(t.Context(), cn, []string{"op"})[0].Describe()
	}
	p.write(map[string]string{"ado.hcl": cluster})
	headers = nil
	if got := status(); got != "SUCCEEDED" {
		t.Errorf("status = %q", got)
	}
	for _, h := range headers {
		if h != "team-secret" {
			t.Errorf("a request went without the cluster's header: %q", headers)
		}
	}
	if len(headers) == 0 || p.saw("warning", "no longer in") {
		t.Errorf("requests %q, events %+v", headers, p.seen)
	}

	p.write(map[string]string{"ado.hcl": "# nothing left\n"})
	headers = nil
	if got := status(); got != "SUCCEEDED" {
		t.Errorf("status = %q", got)
	}
	if !p.saw("warning", "operation op and its cluster dev are no longer in "+filepath.Join(p.dir, "ado.hcl")+": using the recorded address "+p.fake.URL+" without any headers, CA file or TLS settings") {
		t.Errorf("no warning saying what is used: %+v", p.seen)
	}
}
