package scaffold

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Render writes d as a formatted, commented ado.hcl.
func Render(d *Draft) []byte {
	w := &writer{dir: d.Dir}
	for _, line := range d.Header {
		w.comment(line)
	}
	w.line("")
	w.cluster(d.Cluster)
	w.ado(d.Ado)
	for _, p := range d.Plugins {
		w.plugin(p)
	}
	w.env(d.Env)
	w.runtimeEnv(d.RuntimeEnv)
	if len(d.Operations) == 0 {
		w.exampleOperation(d)
	}
	for _, op := range d.Operations {
		w.operation(d.Cluster.Name, op)
	}
	return hclwrite.Format([]byte(strings.TrimRight(w.b.String(), "\n") + "\n"))
}

type writer struct {
	b      strings.Builder
	dir    string
	indent int
}

func (w *writer) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if s != "" {
		w.b.WriteString(strings.Repeat("  ", w.indent))
	}
	w.b.WriteString(s + "\n")
}

func (w *writer) comment(s string) {
	if s == "" {
		w.line("#")
		return
	}
	w.line("# %s", s)
}

func (w *writer) comments(lines []string) {
	for _, l := range lines {
		w.comment(l)
	}
}

func (w *writer) open(format string, args ...any) {
	w.line(format+" {", args...)
	w.indent++
}

func (w *writer) close() {
	w.indent--
	w.line("}")
	w.line("")
}

// path renders an absolute path relative to the manifest, as the manifest
// resolves it.
func (w *writer) path(p string) string {
	if rel, err := filepath.Rel(w.dir, p); err == nil {
		p = rel
	}
	return quote(filepath.ToSlash(p))
}

func (w *writer) cluster(c Cluster) {
	w.comments(c.Comment)
	w.open("cluster %s", quote(c.Name))
	if c.Address != "" {
		w.line("address = %s", quote(c.Address))
	}
	switch {
	case c.Local:
		w.line("local {}")
	case c.PortForward != nil:
		pf := c.PortForward
		w.open("port_forward")
		w.line("command    = %s", quote(pf.Command))
		w.line("namespace  = %s", quote(pf.Namespace))
		w.line("service    = %s", quote(pf.Service))
		w.line("port       = %d", pf.Port)
		w.line("local_port = %d", pf.LocalPort)
		w.indent--
		w.line("}")
	}
	w.close()
}

func (w *writer) ado(a *Ado) {
	if a == nil {
		w.comment("No ado block: ado comes from the cluster's environment, or from an")
		w.comment("operation's pip list. To install a release or build a checkout instead:")
		w.comment(`ado { version = "2.3.0" }   or   ado { source = "../ado" }`)
		w.line("")
		return
	}
	w.comments(a.Comment)
	if a.Source != "" {
		w.line("ado { source = %s }", w.path(a.Source))
	} else {
		w.line("ado { version = %s }", quote(a.Version))
	}
	w.line("")
}

func (w *writer) plugin(p Plugin) {
	w.comments(p.Comment)
	if p.Source != "" {
		w.line("plugin %s { source = %s }", quote(p.Name), w.path(p.Source))
	} else {
		w.line("plugin %s { pip = %s }", quote(p.Name), quote(p.Pip))
	}
	w.line("")
}

func (w *writer) env(vars []EnvVar) {
	w.comment("Job environment over the recommended defaults PYTHONUNBUFFERED, OMP_NUM_THREADS,")
	w.comment("OPENBLAS_NUM_THREADS and RAY_AIR_NEW_PERSISTENCE_MODE.")
	if len(vars) == 0 {
		w.comment(`env = { LOGLEVEL = "WARNING", HOME = "/tmp" }`)
		w.line("")
		return
	}
	w.open("env =")
	for _, v := range vars {
		w.comments(v.Comment)
		value := quote(v.Value)
		if v.Sensitive {
			value = "sensitive(" + value + ")"
		}
		w.line("%s = %s", objectKey(v.Name), value)
	}
	w.close()
}

func (w *writer) runtimeEnv(r *RuntimeEnv) {
	if r == nil {
		w.comment("Ray's runtime environment setup, at Ray's defaults:")
		w.comment("runtime_env {")
		w.comment(`  setup_timeout = "10m"`)
		w.comment("  eager_install = true")
		w.comment("}")
		w.line("")
		return
	}
	w.comments(r.Comment)
	w.open("runtime_env")
	w.line("setup_timeout = %s", quote(FormatSetupTimeout(r.SetupTimeoutSeconds)))
	w.line("eager_install = %t", r.EagerInstall)
	w.close()
}

func (w *writer) operation(cluster string, op Operation) {
	w.comments(op.Comment)
	w.open("operation %s", quote(op.Name))
	w.line("cluster   = cluster.%s", cluster)
	w.line("context   = %s", w.path(op.Context))
	w.line("operation = %s", w.path(op.Operation))
	if len(op.Plugins) > 0 {
		refs := make([]string, len(op.Plugins))
		for i, p := range op.Plugins {
			refs[i] = "plugin." + p
		}
		w.list("plugins", refs)
	}
	if len(op.Pip) > 0 {
		w.list("pip", quoteAll(op.Pip, quote))
	}
	if len(op.Files) > 0 {
		w.list("files", quoteAll(op.Files, w.path))
	}
	if len(op.ArgsHint) > 0 {
		w.comment("If the operation's spaces are not in the metastore yet, let ado create the")
		w.comment("space from the staged file first:")
		w.comment("args = [" + strings.Join(quoteAll(op.ArgsHint, quote), ", ") + "]")
	}
	w.close()
}

// exampleOperation writes, as a comment, the operation the user completes
// when no context and operation YAMLs were found.
func (w *writer) exampleOperation(d *Draft) {
	w.comment("No ado context and operation YAMLs were found (a context has project and")
	w.comment("metadataStore; an operation has operation.module). Add them and uncomment:")
	w.comment(`operation "NAME" {`)
	w.comment("  cluster   = cluster." + d.Cluster.Name)
	w.comment(`  context   = "context.yaml"`)
	w.comment(`  operation = "operation.yaml"`)
	refs := make([]string, len(d.Plugins))
	for i, p := range d.Plugins {
		refs[i] = "plugin." + p.Name
	}
	for _, l := range []struct {
		name  string
		elems []string
	}{{"plugins", refs}, {"pip", quoteAll(d.Pip, quote)}, {"files", quoteAll(d.Files, w.path)}} {
		if len(l.elems) > 0 {
			w.comment("  " + l.name + " = [" + strings.Join(l.elems, ", ") + "]")
		}
	}
	w.comment("}")
}

// list writes a list attribute, one element a line when it is long.
func (w *writer) list(name string, elems []string) {
	one := name + " = [" + strings.Join(elems, ", ") + "]"
	if len(one) <= 80 {
		w.line("%s", one)
		return
	}
	w.line("%s = [", name)
	for _, e := range elems {
		w.line("  %s,", e)
	}
	w.line("]")
}

func quoteAll(in []string, q func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = q(s)
	}
	return out
}

// quote renders s as an HCL string literal: quotes and backslashes escaped,
// and "${" written "$${" so Ray receives ${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}
// untouched.
func quote(s string) string {
	return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
}

var identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func objectKey(k string) string {
	if identifierPattern.MatchString(k) {
		return k
	}
	return quote(k)
}

// FormatSetupTimeout writes Ray's setup_timeout_seconds as the manifest's
// setup_timeout: "none" for -1, else the shortest exact unit.
func FormatSetupTimeout(seconds int) string {
	switch {
	case seconds < 0:
		return "none"
	case seconds%3600 == 0:
		return fmt.Sprintf("%dh", seconds/3600)
	case seconds%60 == 0:
		return fmt.Sprintf("%dm", seconds/60)
	}
	return fmt.Sprintf("%ds", seconds)
}
