package scaffold

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"
)

// RemoteOptions says how to read an ado --remote context.
type RemoteOptions struct {
	// Cwd is the directory `ado --remote` runs in: ado resolves relative
	// fromSource, fromPyPI wheel and additionalFiles paths against it.
	Cwd string
	// Dir is the manifest's directory; staged files must be inside it.
	Dir string
	// PortForwardCommand is what runs the port-forward; ado uses oc when
	// it is on PATH, else kubectl.
	PortForwardCommand string
	// ClusterGiven is set when cluster flags replace executionType.
	ClusterGiven bool
}

// Remote is an ado --remote RemoteExecutionContext turned into manifest
// parts.
type Remote struct {
	File    string
	Header  []string // notes for the manifest's opening comment
	Cluster *Cluster // nil when executionType could not be converted
	Ado     *Ado
	Plugins []Plugin
	// Pip and Files (absolute paths) go into every operation.
	Pip, Files []string
	Env        []EnvVar
	RuntimeEnv *RuntimeEnv
	// Notes are said to the user once the manifest is written.
	Notes []string
	// Sources holds the YAML for diagnostic snippets.
	Sources map[string]*hcl.File
}

// workingDirVar is what Ray expands on the worker to the job's directory.
const workingDirVar = "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}"

// maxDirFiles bounds how many files one additionalFiles directory may
// expand to: the manifest lists each staged file.
const maxDirFiles = 200

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// FromAdoRemote converts the RemoteExecutionContext YAML of ado 2.3.0's
// `ado --remote FILE`. Every field either maps to the manifest or gets a
// diagnostic naming the file and line; errors mean no manifest should be
// written.
func FromAdoRemote(file string, opts RemoteOptions) (*Remote, hcl.Diagnostics) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the remote context", Detail: err.Error()}}
	}
	y := newYAMLDoc(file, src)
	r := &Remote{File: file, Sources: map[string]*hcl.File{file: y.hclFile()}}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		where, msg := file, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
			where, msg = file+":"+m[1], m[2]
		}
		return r, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid YAML", Detail: fmt.Sprintf("%s: %s. ado would refuse it too.", where, msg)}}
	}
	if len(root.Content) == 0 {
		return r, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Empty remote context", Detail: file + " is empty; ado's RemoteExecutionContext needs at least executionType."}}
	}
	doc := root.Content[0]
	c := &remoteConverter{y: y, opts: opts, r: r}
	fields := y.fields(doc, "The remote context", "executionType", "packages", "wait", "envVars", "runtimeEnv", "additionalFiles")
	if f, ok := fields["executionType"]; ok {
		c.executionType(f)
	} else if doc.Kind == yaml.MappingNode {
		y.errorf(doc, "Missing executionType", "ado requires executionType, for example {type: cluster, clusterUrl: http://localhost:8265}.")
	}
	if f, ok := fields["packages"]; ok {
		c.packages(f)
	}
	c.wait(fields)
	if f, ok := fields["envVars"]; ok {
		c.envVars(f)
	}
	if f, ok := fields["runtimeEnv"]; ok {
		c.runtimeEnv(f)
	}
	if f, ok := fields["additionalFiles"]; ok {
		for _, n := range y.strList(f, "additionalFiles") {
			c.additionalFile(n)
		}
	}
	r.Header = append(r.Header,
		"ado installs packages with Ray's uv runtime env; adopipe uses pip, with the same",
		"requirements and wheels, and adds its recommended env under envVars.")
	return r, y.diags
}

type remoteConverter struct {
	y    *yamlDoc
	opts RemoteOptions
	r    *Remote
}

// at is "FILE line N", for comments in the manifest.
func (c *remoteConverter) at(n *yaml.Node) string {
	return fmt.Sprintf("%s line %d", filepath.Base(c.r.File), n.Line)
}

func (c *remoteConverter) executionType(f field) {
	y := c.y
	if f.value.Kind != yaml.MappingNode {
		y.errorf(f.value, "Not a mapping", "executionType must be a mapping with type: cluster and clusterUrl.")
		return
	}
	typ, typNode := "", f.key
	for i := 0; i+1 < len(f.value.Content); i += 2 {
		if f.value.Content[i].Value == "type" {
			typ, typNode = f.value.Content[i+1].Value, f.value.Content[i+1]
		}
	}
	switch typ {
	case "cluster":
		c.cluster(y.fields(f.value, "executionType", "type", "clusterUrl", "portForward"), f)
	case "job":
		y.fields(f.value, "executionType", "type")
		if c.opts.ClusterGiven {
			y.warnf(typNode, "executionType job ignored", "type: job (a KubeRay RayJob) is replaced by the cluster flags given.")
			return
		}
		y.errorf(typNode, "KubeRay jobs are not implemented by ado", "executionType type: job asks for a KubeRay RayJob, which ado 2.3.0 has not implemented either (ado --remote raises NotImplementedError). adopipe submits to a running Ray cluster: run init again with --cluster-address URL, or with --port-forward-namespace NS and --port-forward-service SVC.")
	case "":
		y.errorf(f.key, "Missing executionType.type", "executionType needs type: cluster (ado's only implemented kind).")
	default:
		y.errorf(typNode, "Unknown executionType", "type %q is neither cluster nor job.", typ)
	}
}

func (c *remoteConverter) cluster(fields map[string]field, et field) {
	y := c.y
	cl := &Cluster{Name: remoteClusterName}
	port := DefaultDashboardPort // ado's default_port for clusterUrl
	urlOK := false
	if urlField, ok := fields["clusterUrl"]; !ok {
		y.errorf(et.key, "Missing clusterUrl", "executionType type: cluster needs clusterUrl, the Ray dashboard URL (for a port-forward, http://localhost:<localPort>).")
	} else if raw, ok := y.str(urlField, "clusterUrl"); ok {
		cl.Address, port, urlOK = dashboardURL(raw)
		if !urlOK {
			y.errorf(urlField.value, "Invalid clusterUrl", "%q is not an http(s) URL with a host, as ado requires.", raw)
		}
		cl.Comment = []string{"executionType.clusterUrl (" + c.at(urlField.value) + ")."}
	}
	if pf, ok := fields["portForward"]; ok && !y.isNull(pf.value) {
		c.portForward(pf, cl, port, urlOK)
	}
	if !c.opts.ClusterGiven {
		c.r.Cluster = cl
	}
}

// dashboardURL normalises clusterUrl as ado's pydantic model does (port
// 8265 when none is given) and returns it without a trailing slash, with
// its port.
func dashboardURL(raw string) (string, int, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", 0, false
	}
	port := DefaultDashboardPort
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, false
		}
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s://%s:%d%s", u.Scheme, host, port, strings.TrimSuffix(u.EscapedPath(), "/")), port, true
}

var rfc1123 = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)

func (c *remoteConverter) portForward(f field, cl *Cluster, servicePort int, urlOK bool) {
	y := c.y
	fields := y.fields(f.value, "portForward", "namespace", "serviceName", "localPort")
	pf := &PortForward{Command: c.opts.PortForwardCommand, Port: servicePort, LocalPort: DefaultDashboardPort}
	if pf.Command == "" {
		pf.Command = "kubectl"
	}
	for name, out := range map[string]*string{"namespace": &pf.Namespace, "serviceName": &pf.Service} {
		nf, ok := fields[name]
		if !ok {
			y.errorf(f.key, "Missing portForward."+name, "portForward needs %s.", name)
			continue
		}
		if s, ok := y.str(nf, "portForward."+name); ok {
			if len(s) == 0 || len(s) > 63 || !rfc1123.MatchString(s) {
				y.errorf(nf.value, "Invalid portForward."+name, "%q is not an RFC 1123 name (1 to 63 letters, digits and dashes, starting and ending with a letter or digit), as ado requires.", s)
			}
			*out = s
		}
	}
	if lp, ok := fields["localPort"]; ok {
		if n, ok := y.integer(lp, "portForward.localPort"); ok {
			if n < 1 || n > 65535 {
				y.errorf(lp.value, "Invalid portForward.localPort", "%d is not a port number from 1 to 65535.", n)
			}
			pf.LocalPort = n
		}
	}
	cl.PortForward = pf
	cl.Comment = append(cl.Comment,
		fmt.Sprintf("executionType.portForward (%s): ado runs `%s port-forward --namespace %s svc/%s %d:%d`", c.at(f.key), pf.Command, pf.Namespace, pf.Service, pf.LocalPort, pf.Port),
		"for one call; adopipe keeps it alive while it runs and restarts it when it dies.",
		"port is the service port ado takes from clusterUrl.")
	if !urlOK || (isLoopback(cl.Address) && servicePort == pf.LocalPort) {
		cl.Address = "" // adopipe derives http://127.0.0.1:<local_port>, where the forward listens
		return
	}
	y.warnf(f.key, "clusterUrl does not point at the port-forward", "ado forwards local port %d but submits to %s; the converted cluster keeps that address beside the port_forward block. If the job should go through the forward, remove address (adopipe then uses http://127.0.0.1:%d).", pf.LocalPort, cl.Address, pf.LocalPort)
}

func (c *remoteConverter) wait(fields map[string]field) {
	follow, line := true, "default"
	if f, ok := fields["wait"]; ok {
		if v, ok := c.y.boolean(f, "wait"); ok {
			follow, line = v, c.at(f.value)
		}
	}
	if follow {
		c.r.Notes = append(c.r.Notes, "wait: true ("+line+"): ado stays attached until the job ends; run `adopipe apply --follow` to stream its logs and exit with its result.")
		c.r.Header = append(c.r.Header, "wait: true -> adopipe apply --follow")
		return
	}
	c.r.Notes = append(c.r.Notes, "wait: false ("+line+"): `adopipe apply` returns once the job is submitted, as ray job submit --no-wait does.")
	c.r.Header = append(c.r.Header, "wait: false -> adopipe apply (returns once submitted)")
}

// secretName matches environment variable names whose values are
// credentials, which the manifest marks sensitive().
var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CREDENTIAL|PRIVATE_KEY)`)

func (c *remoteConverter) envVars(f field) {
	y := c.y
	if y.isNull(f.value) {
		return
	}
	if f.value.Kind != yaml.MappingNode {
		y.errorf(f.value, "Not a mapping", "envVars must be a mapping of names to string values.")
		return
	}
	for i := 0; i+1 < len(f.value.Content); i += 2 {
		k, v := f.value.Content[i], f.value.Content[i+1]
		sensitive := secretName.MatchString(k.Value)
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			subject := k
			if sensitive {
				subject = nil // a snippet would print the secret's line
			}
			y.errorf(subject, "envVars value is not a string", "%s: the value of %s is not a string, which ado refuses; quote it (%s: \"...\").", y.where(k), k.Value, k.Value)
			continue
		}
		ev := EnvVar{Name: k.Value, Value: v.Value, Sensitive: sensitive}
		if sensitive {
			ev.Comment = []string{"Kept secret by adopipe; better read it from your environment: sensitive(env(\"" + k.Value + "\"))."}
			y.warnf(nil, "Secret copied into ado.hcl", "%s sets %s; its value is now in ado.hcl too, marked sensitive() so adopipe never prints or stores it. Consider %s = sensitive(env(%q)) instead.", y.where(k), k.Value, k.Value, k.Value)
		}
		c.r.Env = append(c.r.Env, ev)
	}
}

func (c *remoteConverter) runtimeEnv(f field) {
	y := c.y
	if y.isNull(f.value) {
		return
	}
	fields := y.fields(f.value, "runtimeEnv", "setupTimeoutSeconds", "eagerInstall")
	rt := &RuntimeEnv{SetupTimeoutSeconds: 600, EagerInstall: true, Comment: []string{
		"runtimeEnv (" + c.at(f.key) + "): Ray's runtime_env config, as ado writes it."}}
	if tf, ok := fields["setupTimeoutSeconds"]; ok {
		if n, ok := y.integer(tf, "runtimeEnv.setupTimeoutSeconds"); ok {
			if n != -1 && n <= 0 {
				y.errorf(tf.value, "Invalid setupTimeoutSeconds", "%d: setupTimeoutSeconds must be greater than zero, or -1 for no timeout (ado refuses it too).", n)
			}
			rt.SetupTimeoutSeconds = n
		}
	}
	if ef, ok := fields["eagerInstall"]; ok {
		if v, ok := y.boolean(ef, "runtimeEnv.eagerInstall"); ok {
			rt.EagerInstall = v
		}
	}
	c.r.RuntimeEnv = rt
}

// resolve makes a path from the remote context absolute the way ado does:
// relative to the directory ado --remote runs in.
func (c *remoteConverter) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.opts.Cwd, p)
}

// inManifestDir returns p relative to the manifest's directory, or false
// when it lies outside (adopipe stages only files inside it).
func (c *remoteConverter) inManifestDir(p string) (string, bool) {
	rel, err := filepath.Rel(c.opts.Dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// applyTo puts the converted parts into a draft; cluster flags, when given,
// keep the cluster they describe.
func (r *Remote) applyTo(d *Draft, clusterGiven bool) {
	if !clusterGiven && r.Cluster != nil {
		d.Cluster = *r.Cluster
	}
	d.Ado, d.Plugins, d.Env, d.RuntimeEnv = r.Ado, r.Plugins, r.Env, r.RuntimeEnv
	d.Pip, d.Files = r.Pip, r.Files
}
