package scaffold

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/hashicorp/hcl/v2"
)

// TestFromAdoRemoteEveryField converts a remote context that uses every
// field of ado 2.3.0's schema, and checks it against what ado does with it
// (written out by hand here; TestFromAdoRemoteMatchesAdo asks ado itself).
func TestFromAdoRemoteEveryField(t *testing.T) {
	dir := testfiles.Copy(t, filepath.Join("testdata", "adoremote", "full"))
	c := convert(t, filepath.Join(dir, "remote_context.yaml"), dir)
	if c.diags.HasErrors() {
		t.Fatal(c.diags)
	}
	in := func(p ...string) []string {
		out := make([]string, len(p))
		for i, s := range p {
			out[i] = filepath.Join(dir, s)
		}
		return out
	}
	v := adoView{
		Wait:         false,
		ClusterURL:   "http://localhost:18265/",
		FromSource:   in("adosrc", "plugins/shapes"),
		Files:        in("data.csv", "inputs/a.txt", "inputs/sub/b.txt", "extra/deep/notes.txt"),
		Requirements: []string{"ado-ray-tune==2.2.1", "numpy>2", "/data/cluster-only-1.0-py3-none-any.whl"},
		LocalWheels:  in("wheels/prebuilt-1.0-py3-none-any.whl"),
		EnvVars:      map[string]string{"LOGLEVEL": "INFO", "API_TOKEN": "not-a-real-token"},
	}
	v.PortForward = &struct {
		Namespace   string `json:"namespace"`
		Service     string `json:"service"`
		LocalPort   int    `json:"local_port"`
		ServicePort int    `json:"service_port"`
	}{"discovery-dev", "ray-head-svc", 18265, 18265}
	v.Config = &struct {
		SetupTimeoutSeconds int  `json:"setup_timeout_seconds"`
		EagerInstall        bool `json:"eager_install"`
	}{1200, false}
	sameAsAdo(t, v, c)

	if c.cfg.Ado == nil || c.cfg.Ado.Dir != filepath.Join(dir, "adosrc") {
		t.Errorf("ado = %+v, want built from adosrc", c.cfg.Ado)
	}
	if !c.cfg.Env["API_TOKEN"].Sensitive || c.cfg.Env["LOGLEVEL"].Sensitive {
		t.Errorf("env sensitivity = %+v", c.cfg.Env)
	}
	wantDiag(t, c.diags, hcl.DiagWarning, "Staged at a different path", 30)
	wantDiag(t, c.diags, hcl.DiagWarning, "Secret copied into ado.hcl", 0)
}

// TestFromAdoRemotePinnedAdo maps fromPyPI ado-core==VERSION to the ado
// block, and a range to a pip line, since the ado block takes only exact
// versions.
func TestFromAdoRemotePinnedAdo(t *testing.T) {
	for req, version := range map[string]string{"ado-core==2.3.0": "2.3.0", "ado_core >= 2.0": ""} {
		dir := testfiles.Write(t, map[string]string{
			"remote.yaml": "executionType: {type: cluster, clusterUrl: 'https://ray.example.com'}\npackages: {fromPyPI: ['" + req + "']}\n",
		})
		c := convert(t, filepath.Join(dir, "remote.yaml"), dir)
		if c.diags.HasErrors() {
			t.Fatal(c.diags)
		}
		gotVersion := ""
		if c.cfg.Ado != nil {
			gotVersion = c.cfg.Ado.Version
		}
		if gotVersion != version {
			t.Errorf("%s: ado version %q, want %q", req, gotVersion, version)
		}
		v := adoView{Wait: true, ClusterURL: "https://ray.example.com:8265", Requirements: []string{req}}
		if version != "" {
			v.Requirements = []string{"ado-core==" + version}
		}
		sameAsAdo(t, v, c)
	}
}

// TestFromAdoRemoteDocumentedExamples converts every remote context in
// ado's own documentation and examples, with ado --remote run at the root
// of the ado checkout as its docs say. Each validates, plans a wheel for
// exactly each fromSource directory, or (the additionalFiles example, whose
// paths are placeholders) fails on those lines as ado would.
func TestFromAdoRemoteDocumentedExamples(t *testing.T) {
	ado := adoCheckoutDir(t)
	examples := documentedExamples(t, ado)
	if len(examples) < 8 {
		t.Fatalf("found %d documented remote contexts in the ado checkout, want at least 8", len(examples))
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			c := convert(t, ex.file, ado)
			if missing := ex.missingFiles(); len(missing) > 0 {
				for _, line := range missing {
					wantDiag(t, c.diags, hcl.DiagError, "additionalFiles entry not found", line)
				}
				return
			}
			if c.diags.HasErrors() {
				t.Fatal(c.diags)
			}
			var built []string
			for _, w := range c.plan.Wheels {
				built = append(built, w.SourceDir)
			}
			var want []string
			for _, s := range ex.fromSource() {
				want = append(want, filepath.Join(ado, s))
			}
			same(t, "wheels built from", built, want)
		})
	}
}

// documentedExample is one remote context from ado's docs or examples.
type documentedExample struct {
	name, file string
	lines      []string
}

var docListItem = regexp.MustCompile(`^\s+- ([^#\s]+)`)

// section returns the list items under key (e.g. "additionalFiles:") with
// their line numbers in the extracted file.
func (e documentedExample) section(key string) map[int]string {
	out := map[int]string{}
	in := false
	for i, l := range e.lines {
		switch {
		case strings.TrimSpace(l) == key:
			in = true
		case in && docListItem.MatchString(l):
			out[i+1] = docListItem.FindStringSubmatch(l)[1]
		case in && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			in = false
		}
	}
	return out
}

func (e documentedExample) missingFiles() []int {
	var lines []int
	for line := range e.section("additionalFiles:") {
		lines = append(lines, line)
	}
	return lines
}

func (e documentedExample) fromSource() []string {
	var out []string
	for _, p := range e.section("fromSource:") {
		out = append(out, p)
	}
	return out
}

// documentedExamples collects ado's example remote contexts and every YAML
// block with executionType in its markdown docs, each written to a file.
func documentedExamples(t *testing.T, ado string) []documentedExample {
	t.Helper()
	var out []documentedExample
	files, _ := filepath.Glob(filepath.Join(ado, "examples", "remote_operation", "execution_context_*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, documentedExample{name: filepath.Base(f), file: f, lines: strings.Split(string(b), "\n")})
	}
	tmp := t.TempDir()
	for _, md := range []string{"docs/user-guide/advanced/remote-execution.md", ".agents/skills/ado-run-operation-remote/SKILL.md"} {
		f, err := os.Open(filepath.Join(ado, md))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var block []string
		start, inYAML := 0, false
		for n := 1; sc.Scan(); n++ {
			l := sc.Text()
			switch {
			case strings.TrimSpace(l) == "```yaml":
				inYAML, block, start = true, nil, n+1
			case inYAML && strings.TrimSpace(l) == "```":
				inYAML = false
				if strings.HasPrefix(strings.Join(block, "\n"), "executionType:") {
					name := filepath.Base(md) + ":" + strconv.Itoa(start)
					file := filepath.Join(tmp, strings.NewReplacer(".", "_", ":", "_").Replace(name)+".yaml")
					if err := os.WriteFile(file, []byte(strings.Join(block, "\n")+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					out = append(out, documentedExample{name: name, file: file, lines: block})
				}
			case inYAML:
				block = append(block, l)
			}
		}
		f.Close()
	}
	return out
}

// TestFromAdoRemoteInvalid converts each testdata/adoremote/invalid file
// and checks every line marked "# ERROR: text" or "# WARNING: text" gets
// such a diagnostic, and no error lands elsewhere. A diagnostic about a
// secret has no snippet (it would print the value's line) and names the
// line in its detail instead.
func TestFromAdoRemoteInvalid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "adoremote", "invalid", "*.yaml"))
	if len(files) < 5 {
		t.Fatalf("found %d invalid remote contexts", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir := filepath.Dir(file)
			_, diags := FromAdoRemote(file, RemoteOptions{Cwd: dir, Dir: dir})
			marked := markers(t, file)
			for line, m := range marked {
				wantDiag(t, diags, m.severity, m.text, line)
			}
			for _, d := range diags {
				line := diagLine(d)
				if d.Severity == hcl.DiagError && marked[line].severity != hcl.DiagError {
					t.Errorf("unexpected error on line %d: %s: %s", line, d.Summary, d.Detail)
				}
			}
		})
	}
}

type marker struct {
	severity hcl.DiagnosticSeverity
	text     string
}

func markers(t *testing.T, file string) map[int]marker {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]marker{}
	for i, l := range strings.Split(string(b), "\n") {
		if _, text, ok := strings.Cut(l, "# ERROR: "); ok {
			out[i+1] = marker{hcl.DiagError, strings.TrimSpace(text)}
		} else if _, text, ok := strings.Cut(l, "# WARNING: "); ok {
			out[i+1] = marker{hcl.DiagWarning, strings.TrimSpace(text)}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no # ERROR: or # WARNING: marker", file)
	}
	return out
}

var detailLine = regexp.MustCompile(`\.yaml:(\d+)`)

// diagLine is the YAML line a diagnostic is about: its snippet's, or the
// one its detail names.
func diagLine(d *hcl.Diagnostic) int {
	if d.Subject != nil {
		return d.Subject.Start.Line
	}
	if m := detailLine.FindStringSubmatch(d.Detail); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// wantDiag checks for a diagnostic of severity containing text, on line
// (any line when 0).
func wantDiag(t *testing.T, diags hcl.Diagnostics, sev hcl.DiagnosticSeverity, text string, line int) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == sev && (line == 0 || diagLine(d) == line) && (strings.Contains(d.Summary, text) || strings.Contains(d.Detail, text)) {
			return
		}
	}
	var got []string
	for _, d := range diags {
		got = append(got, strconv.Itoa(diagLine(d))+": "+d.Summary+": "+d.Detail)
	}
	t.Errorf("want a diagnostic %q on line %d; got:\n  %s", text, line, strings.Join(got, "\n  "))
}
