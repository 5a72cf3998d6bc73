package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// TestSecretsStayOut plants a secret in a sensitive variable, an env value
// marked sensitive() and a header, runs plan (text, --json, --out) and
// apply (text and --json) against a fake Jobs API, and then greps every
// artefact: stdout, stderr, and every file adopipe wrote. The secret may
// only travel to the cluster, in the submit request and the header.
func TestSecretsStayOut(t *testing.T) {
	const secret = "pl4nted-s3cret-value"
	var mu sync.Mutex
	var gotHeader, gotEnv string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if h := r.Header.Get("X-Team"); h != "" {
			gotHeader = h
		}
		switch {
		case r.URL.Path == "/api/version":
			io.WriteString(w, `{"version":"4","ray_version":"2.60.0"}`)
		case strings.HasPrefix(r.URL.Path, "/api/packages/"):
			if r.Method == http.MethodGet {
				http.NotFound(w, r)
			}
		case r.URL.Path == "/api/jobs/" && r.Method == http.MethodPost:
			var body struct {
				SubmissionID string `json:"submission_id"`
				RuntimeEnv   struct {
					EnvVars map[string]string `json:"env_vars"`
				} `json:"runtime_env"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			gotEnv = body.RuntimeEnv.EnvVars["TOKEN"]
			json.NewEncoder(w).Encode(map[string]string{"submission_id": body.SubmissionID})
		default:
			io.WriteString(w, `{"status":"SUCCEEDED"}`)
		}
	}))
	defer srv.Close()

	dir := testfiles.Write(t, map[string]string{
		"ado.hcl": `
variable "token" { sensitive = true }
cluster "dev" {
  address = "` + srv.URL + `"
  headers = { "X-Team" = env("TEAM_SECRET") }
}
plugin "plug" { source = "plug" }
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.plug]
  env       = { TOKEN = var.token, OTHER = sensitive(env("TEAM_SECRET")) }
}`,
		"c.yaml":              "project: p\n",
		"o.yaml":              "spaces: [s]\n",
		"plug/pyproject.toml": "[project]\nname='plug'\n",
	})
	t.Setenv("ADOPIPE_VAR_token", secret)
	t.Setenv("TEAM_SECRET", secret)
	preCacheWheel(t, dir)

	var out, errOut bytes.Buffer
	runOK := func(args ...string) {
		t.Helper()
		if code := run(append([]string{"-C", dir}, args...), strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("adopipe %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd) // -C changes the process's directory
	runOK("plan")
	runOK("plan", "--json")
	runOK("plan", "--out", filepath.Join(dir, "saved.plan"))
	runOK("apply", "--auto-approve", "--json")
	runOK("status")

	if gotEnv != secret || gotHeader != secret {
		t.Fatalf("the cluster did not receive the secret: env %q, header %q", gotEnv, gotHeader)
	}
	for name, s := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("secret printed on %s", name)
		}
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("secret written to %s", p)
		}
		return nil
	})
}

// preCacheWheel plans once and puts a wheel in the cache for every source,
// so the test runs no Python build.
func preCacheWheel(t *testing.T, dir string) {
	cfg, diags := manifest.NewParser().Load(filepath.Join(dir, "ado.hcl"), manifest.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	workDir := filepath.Join(dir, ".adopipe")
	cache := wheelcache.New(filepath.Join(workDir, "cache"))
	p, err := planner.New(workDir, nil).Plan(context.Background(), planner.Request{Config: cfg, State: state.New()})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Wheels {
		whl := filepath.Join(t.TempDir(), "plug-0.1-py3-none-any.whl")
		os.WriteFile(whl, []byte("wheel"), 0o644)
		if _, _, err := cache.Put(w.Fingerprint, whl); err != nil {
			t.Fatal(err)
		}
	}
}
