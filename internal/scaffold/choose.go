package scaffold

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Flags are the user's explicit answers; each one settles a choice without
// looking at what Scan found.
type Flags struct {
	Context    string   // a context YAML
	Operations []string // operation YAMLs, one operation block each
	Plugins    []string // plugin checkouts, or the single value "none"
	Ado        string   // an ado checkout, an exact ado-core version, or "none"
	Cluster    ClusterFlags
}

// ClusterFlags describe a remote cluster; all empty means a local head.
type ClusterFlags struct {
	Address string
	// PortForwardNamespace and PortForwardService together ask for a
	// port_forward block.
	PortForwardNamespace, PortForwardService string
	PortForwardCommand                       string // "kubectl" when empty
	PortForwardPort, LocalPort               int    // 8265 and Port when 0
}

// IsSet reports whether any cluster flag was given.
func (c ClusterFlags) IsSet() bool {
	return c.Address != "" || c.PortForwardNamespace != "" || c.PortForwardService != ""
}

// None is the flag value that chooses no plugins or no ado block.
const None = "none"

// Question is a choice Scan could not settle on its own.
type Question struct {
	Prompt  string
	Options []string
	// Multi allows choosing several options (or none).
	Multi bool
	// Flag answers the question without asking.
	Flag string
}

// Asker asks a question on a terminal and returns the chosen option
// indexes. Choose is given a nil Asker when there is no terminal; it then
// fails with an error naming the flag to use.
type Asker func(Question) ([]int, error)

// Choose turns what Scan found, the flags and, with --from-ado-remote, the
// converted remote context into a Draft, asking where more than one
// candidate fits.
func Choose(f *Findings, flags Flags, remote *Remote, ask Asker) (*Draft, error) {
	c := &chooser{f: f, ask: ask, remote: remote != nil}
	d := &Draft{Dir: f.Root}
	var err error
	if d.Cluster, err = clusterFromFlags(flags.Cluster); err != nil {
		return nil, err
	}
	if remote != nil {
		if len(flags.Plugins) > 0 || flags.Ado != "" {
			return nil, errors.New("--plugin and --ado do not apply with --from-ado-remote: the remote context's packages say what the job installs")
		}
		remote.applyTo(d, flags.Cluster.IsSet())
	} else {
		if d.Ado, err = c.ado(flags.Ado); err != nil {
			return nil, err
		}
		if d.Plugins, err = c.plugins(flags.Plugins); err != nil {
			return nil, err
		}
	}
	ctx, err := c.context(flags.Context)
	if err != nil {
		return nil, err
	}
	ops, err := c.operations(flags.Operations)
	if err != nil {
		return nil, err
	}
	if ctx.Path != "" && ctx.SQLite && !d.Cluster.Local {
		return nil, fmt.Errorf("%s is a SQLite context, but the cluster is remote: the job would write the database into its throw-away working directory (ado --remote refuses SQLite contexts too). Use a MySQL context, or leave out the cluster flags for a local Ray head", ctx.Path)
	}
	if ctx.Path == "" && len(ops) > 0 {
		return nil, fmt.Errorf("found %d operation YAML(s) but no ado context (a YAML with project and metadataStore) under %s; name one with --context FILE", len(ops), f.Root)
	}
	c.addOperations(d, ctx, ops)
	d.Header = header(f.Root, remote)
	return d, nil
}

type chooser struct {
	f      *Findings
	ask    Asker
	remote bool // converting from ado --remote
}

// pick settles one choice among candidates: none, the only one, or the
// user's answer.
func (c *chooser) pick(q Question, n int) ([]int, error) {
	switch {
	case n == 0:
		return nil, nil
	case n == 1 && !q.Multi:
		return []int{0}, nil
	case c.ask == nil:
		return nil, fmt.Errorf("%s\n  %s\nNot a terminal, so adopipe cannot ask: choose with %s", q.Prompt, strings.Join(q.Options, "\n  "), q.Flag)
	}
	return c.ask(q)
}

// pickOne settles a single choice among items (see pick); ok is false when
// there was nothing to choose or the question failed.
func pickOne[T any](c *chooser, q Question, items []T) (item T, ok bool, err error) {
	idx, err := c.pick(q, len(items))
	if err != nil || len(idx) == 0 {
		return item, false, err
	}
	return items[idx[0]], true, nil
}

func (c *chooser) context(flag string) (YAMLFile, error) {
	if flag != "" {
		return c.yamlFlag(flag, "--context", c.f.Contexts)
	}
	q := Question{
		Prompt:  fmt.Sprintf("Found %d ado contexts (metastores) under %s; which one do the operations use?", len(c.f.Contexts), c.f.Root),
		Options: c.yamlOptions(c.f.Contexts),
		Flag:    "--context FILE",
	}
	y, _, err := pickOne(c, q, c.f.Contexts)
	return y, err
}

func (c *chooser) operations(flags []string) ([]YAMLFile, error) {
	if len(flags) > 0 {
		out := make([]YAMLFile, len(flags))
		for i, fl := range flags {
			y, err := c.yamlFlag(fl, "--operation", c.f.Operations)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	if len(c.f.Operations) == 1 {
		return c.f.Operations, nil
	}
	q := Question{
		Prompt:  fmt.Sprintf("Found %d ado operation YAMLs under %s; which become operations (one Ray job each)?", len(c.f.Operations), c.f.Root),
		Options: c.yamlOptions(c.f.Operations),
		Multi:   true,
		Flag:    "--operation FILE (repeatable)",
	}
	idx, err := c.pick(q, len(c.f.Operations))
	return pickYAML(c.f.Operations, idx), err
}

func (c *chooser) plugins(flags []string) ([]Plugin, error) {
	var chosen []Project
	switch {
	case len(flags) == 1 && flags[0] == None:
	case len(flags) > 0:
		for _, fl := range flags {
			p, err := projectFlag(fl)
			if err != nil {
				return nil, fmt.Errorf("--plugin %s: %w", fl, err)
			}
			chosen = append(chosen, p)
		}
	case len(c.f.Plugins) == 1:
		chosen = c.f.Plugins
	default:
		q := Question{
			Prompt:  fmt.Sprintf("Found %d ado plugin checkouts under %s; which does the job install?", len(c.f.Plugins), c.f.Root),
			Options: c.projectOptions(c.f.Plugins),
			Multi:   true,
			Flag:    "--plugin DIR (repeatable), or --plugin none",
		}
		idx, err := c.pick(q, len(c.f.Plugins))
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			chosen = append(chosen, c.f.Plugins[i])
		}
	}
	var out []Plugin
	names := map[string]bool{}
	for _, p := range chosen {
		out = append(out, Plugin{
			Name:    uniqueName(PluginName(p.Name), names),
			Source:  p.Dir,
			Comment: []string{p.Name + ": " + p.Why + ".", "Built into a wheel from this checkout."},
		})
	}
	return out, nil
}

var exactVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*([a-zA-Z0-9.+!-]*)$`)

func (c *chooser) ado(flag string) (*Ado, error) {
	switch {
	case flag == None:
		return nil, nil
	case exactVersion.MatchString(flag) && !isDir(flag):
		return &Ado{Version: flag, Comment: []string{"ado-core " + flag + " from the package index."}}, nil
	case flag != "":
		abs, _ := filepath.Abs(flag)
		p, kind, err := inspectProject(abs)
		if err == nil && kind != adoCheckout {
			err = fmt.Errorf("%s is not an ado checkout (no pyproject.toml naming %s); give a checkout, an exact version such as 2.3.0, or none", abs, adoDistribution)
		}
		if err != nil {
			return nil, fmt.Errorf("--ado %s: %w", flag, err)
		}
		return adoFromCheckout(p), nil
	}
	q := Question{
		Prompt:  fmt.Sprintf("Found %d ado checkouts under %s; which one is built for the job?", len(c.f.Ado), c.f.Root),
		Options: c.projectOptions(c.f.Ado),
		Flag:    "--ado DIR, --ado VERSION or --ado none",
	}
	p, ok, err := pickOne(c, q, c.f.Ado)
	if !ok {
		return nil, err
	}
	return adoFromCheckout(p), nil
}

func adoFromCheckout(p Project) *Ado {
	return &Ado{Source: p.Dir, Comment: []string{"ado itself, built into a wheel from this checkout. Without an ado block the job", "uses the ado installed on the cluster."}}
}

func (c *chooser) yamlFlag(flag, name string, known []YAMLFile) (YAMLFile, error) {
	abs, err := filepath.Abs(flag)
	if err != nil {
		return YAMLFile{}, err
	}
	for _, y := range known {
		if y.Path == abs {
			return y, nil
		}
	}
	if !isFile(abs) {
		return YAMLFile{}, fmt.Errorf("%s %s: no such file", name, flag)
	}
	probe := &Findings{}
	probe.classifyYAML(abs)
	if name == "--context" && len(probe.Contexts) == 1 {
		return probe.Contexts[0], nil
	}
	if name == "--operation" && len(probe.Operations) == 1 {
		return probe.Operations[0], nil
	}
	return YAMLFile{Path: abs}, nil // not recognised: validate says what is wrong
}

func projectFlag(flag string) (Project, error) {
	abs, err := filepath.Abs(flag)
	if err != nil {
		return Project{}, err
	}
	if !isDir(abs) {
		return Project{}, errors.New("no such directory")
	}
	p, kind, err := inspectProject(abs)
	if err != nil {
		return p, err
	}
	if kind == notAdo {
		if !isFile(filepath.Join(abs, "pyproject.toml")) && !isFile(filepath.Join(abs, "setup.py")) {
			return p, errors.New("holds neither pyproject.toml nor setup.py, so no wheel can be built from it")
		}
		p.Why = "named with --plugin"
	}
	return p, nil
}

func (c *chooser) rel(p string) string {
	if r, err := filepath.Rel(c.f.Root, p); err == nil {
		return r
	}
	return p
}

func (c *chooser) yamlOptions(ys []YAMLFile) []string {
	out := make([]string, len(ys))
	for i, y := range ys {
		out[i] = fmt.Sprintf("%s (%s)", c.rel(y.Path), y.About)
	}
	return out
}

func (c *chooser) projectOptions(ps []Project) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%s (%s; %s)", c.rel(p.Dir), p.Name, p.Why)
	}
	return out
}

func pickYAML(ys []YAMLFile, idx []int) []YAMLFile {
	var out []YAMLFile
	for _, i := range idx {
		out = append(out, ys[i])
	}
	return out
}

// Parse reads an answer, "2", or for several "1,3", "all" or "none", into
// zero-based option indexes; false when it is not one of the choices.
func (q Question) Parse(s string) ([]int, bool) {
	n, multi := len(q.Options), q.Multi
	switch {
	case multi && s == "all":
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx, true
	case multi && s == "none":
		return []int{}, true
	}
	parts := strings.Split(s, ",")
	if len(parts) > 1 && !multi {
		return nil, false
	}
	var idx []int
	seen := map[int]bool{}
	for _, p := range parts {
		i, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || i < 1 || i > n {
			return nil, false
		}
		if !seen[i-1] {
			idx = append(idx, i-1)
			seen[i-1] = true
		}
	}
	return idx, true
}
