package scaffold

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

// Cluster names in a draft.
const (
	localClusterName  = "local"
	remoteClusterName = "remote"
)

// DefaultDashboardPort is the Ray head's dashboard (Jobs API) port.
const DefaultDashboardPort = 8265

func localCluster() Cluster {
	return Cluster{Name: localClusterName, Local: true, Comment: []string{
		"A Ray head adopipe starts on this machine and keeps for the next apply",
		"(`adopipe down` stops it). For a remote cluster replace local {} with",
		`address = "https://..." or a port_forward { namespace, service } block.`,
	}}
}

func clusterFromFlags(f ClusterFlags) (Cluster, error) {
	if !f.IsSet() {
		return localCluster(), nil
	}
	c := Cluster{Name: remoteClusterName, Address: f.Address}
	if f.Address != "" {
		if u, err := url.Parse(f.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("--cluster-address %q is not an http(s) URL; give the Ray dashboard address, such as http://10.0.0.5:8265", f.Address)
		}
	}
	if f.PortForwardNamespace == "" && f.PortForwardService == "" {
		c.Comment = []string{"The Ray cluster's dashboard (Jobs API) address."}
		return c, nil
	}
	if f.PortForwardNamespace == "" || f.PortForwardService == "" {
		return c, errors.New("a port-forward needs both --port-forward-namespace and --port-forward-service")
	}
	pf := &PortForward{Command: f.PortForwardCommand, Namespace: f.PortForwardNamespace, Service: f.PortForwardService, Port: f.PortForwardPort, LocalPort: f.LocalPort}
	if pf.Command == "" {
		pf.Command = "kubectl"
	}
	if pf.Port == 0 {
		pf.Port = DefaultDashboardPort
	}
	if pf.LocalPort == 0 {
		pf.LocalPort = pf.Port
	}
	c.PortForward = pf
	c.Comment = []string{"Reached through a port-forward that adopipe starts, restarts when it dies,", "and stops when it exits."}
	return c, nil
}

func isLoopback(addr string) bool {
	u, err := url.Parse(addr)
	if err != nil || addr == "" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// addOperations makes one operation block per operation YAML, each with
// every plugin, pip requirement and file of the draft. The discovery spaces
// found beside its YAML are staged with it, except when converting from
// ado --remote, which stages only what its context names.
func (c *chooser) addOperations(d *Draft, ctx YAMLFile, ops []YAMLFile) {
	names := map[string]bool{}
	plugins := make([]string, len(d.Plugins))
	for i, p := range d.Plugins {
		plugins[i] = p.Name
	}
	for _, y := range ops {
		stem := strings.TrimSuffix(filepath.Base(y.Path), filepath.Ext(y.Path))
		op := Operation{
			Name:      uniqueName(OperationName(stem), names),
			Context:   ctx.Path,
			Operation: y.Path,
			Plugins:   plugins,
			Comment:   []string{fmt.Sprintf("One Ray job: ado -c %s create operation -f %s", filepath.Base(ctx.Path), filepath.Base(y.Path))},
		}
		if y.About != "" {
			op.Comment[0] += " (" + y.About + ")."
		}
		var spaces []string
		for _, s := range c.f.Spaces {
			if filepath.Dir(s.Path) == filepath.Dir(y.Path) && !c.remote {
				spaces = append(spaces, s.Path)
			}
		}
		op.Pip = d.Pip
		op.Files = append(append(op.Files, d.Files...), spaces...)
		if len(spaces) == 1 {
			op.ArgsHint = []string{"ado", "-c", filepath.Base(ctx.Path), "create", "operation", "-f", filepath.Base(y.Path), "--with", "space=" + filepath.ToSlash(c.rel(spaces[0]))}
		}
		d.Operations = append(d.Operations, op)
	}
}

func header(root string, remote *Remote) []string {
	h := []string{"Written by `adopipe init` from what it found in " + filepath.Base(root) + "/."}
	if remote != nil {
		h = []string{"Converted by `adopipe init --from-ado-remote` from " + remote.File + ",", "the RemoteExecutionContext of `ado --remote` (ado-core 2.3.0)."}
		h = append(h, remote.Header...)
	}
	return append(h,
		"Check it, then:",
		"  adopipe plan             # what would be built and submitted, and why",
		"  adopipe apply --follow   # build, stage, submit, and stream the job's logs",
		"Every block and attribute: docs/manifest.md.")
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// PluginName makes a plugin block name from a distribution name:
// ado-ray-tune becomes ray_tune.
func PluginName(distribution string) string {
	n := normalizeDistribution(distribution)
	n = strings.TrimPrefix(n, "ado-")
	n = strings.ReplaceAll(nameUnsafe.ReplaceAllString(n, "_"), "-", "_")
	if n == "" || n == "ado" || !(n[0] >= 'a' && n[0] <= 'z') {
		n = "plugin_" + n
	}
	return strings.TrimRight(n, "_")
}

// OperationName makes an operation name (part of a Ray job id) from a file
// name.
func OperationName(stem string) string {
	n := strings.Trim(nameUnsafe.ReplaceAllString(stem, "_"), "_-")
	if n == "" {
		n = "operation"
	}
	if len(n) > 40 {
		n = n[:40]
	}
	return n
}

func uniqueName(n string, taken map[string]bool) string {
	out := n
	for i := 2; taken[out]; i++ {
		out = fmt.Sprintf("%s_%d", n, i)
	}
	taken[out] = true
	return out
}

// WriteManifest writes a rendered manifest atomically; without overwrite it
// never replaces an existing file, even one created meanwhile, and returns
// an error matching fs.ErrExist.
func WriteManifest(path string, data []byte, overwrite bool) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: 0o644, NoReplace: !overwrite})
}
