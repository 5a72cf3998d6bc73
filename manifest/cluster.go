package manifest

import (
	"fmt"
	"net/url"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Cluster is a Ray cluster jobs are submitted to: a remote address, an
// address reached through a port-forward, or a local head adopipe starts.
type Cluster struct {
	Name string
	// Address is the Ray dashboard / Jobs API URL. Empty for a local
	// cluster (known once it runs) and for a port-forward with a free
	// local port (known once the forward runs).
	Address               string
	Headers               Env // every value is sensitive
	CAFile                string
	InsecureSkipTLSVerify bool
	// SharedDisk is the user's statement that the cluster's nodes see
	// this machine's files at the same paths (an NFS home, a head on this
	// laptop that adopipe did not start).
	SharedDisk bool
	// PinRay pins ray==<the cluster's Ray version> into the requirements
	// of the jobs submitted to it (operations may say otherwise).
	PinRay      bool
	Timeout     time.Duration
	PortForward *PortForward
	Local       *LocalCluster
	DeclRange   hcl.Range
}

// SharesDisk reports whether jobs on the cluster see this machine's files
// at the same paths. adopipe knows it only for a head it starts itself
// (local {}) or when the user says so (shared_disk = true). A loopback
// address proves nothing: `oc port-forward` gives exactly
// http://127.0.0.1:8265 for a cluster on another continent.
func (c *Cluster) SharesDisk() bool {
	return c.Local != nil || c.SharedDisk
}

// PortForward describes `oc|kubectl port-forward --namespace NS svc/SERVICE LOCAL:PORT`.
type PortForward struct {
	Command   string // "kubectl" (default) or "oc", or a path to either
	Namespace string
	Service   string
	Port      int // the service's dashboard port
	LocalPort int // 0 picks a free port
	Context   string
	DeclRange hcl.Range
}

// LocalCluster asks adopipe to run a Ray head on 127.0.0.1.
type LocalCluster struct {
	NumCPUs   float64 // 0 lets Ray decide
	NumGPUs   float64
	Resources map[string]float64
	RayArgs   []string
	DeclRange hcl.Range
}

// DefaultClusterTimeout bounds every call to a cluster unless set.
const DefaultClusterTimeout = 30 * time.Second

var clusterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"},
		{Name: "headers"},
		{Name: "ca_file"},
		{Name: "insecure_skip_tls_verify"},
		{Name: "shared_disk"},
		{Name: "pin_ray"},
		{Name: "timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "port_forward"}, {Type: "local"}},
}

var portForwardSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command"},
		{Name: "namespace", Required: true},
		{Name: "service", Required: true},
		{Name: "port"},
		{Name: "local_port"},
		{Name: "context"},
	},
}

var localSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "num_cpus"},
		{Name: "num_gpus"},
		{Name: "resources"},
		{Name: "ray_args"},
	},
}

func decodeCluster(block *hcl.Block, ctx *hcl.EvalContext, dir string) (*Cluster, hcl.Diagnostics) {
	c := &Cluster{Name: block.Labels[0], Timeout: DefaultClusterTimeout, DeclRange: block.DefRange}
	diags := checkName("cluster", block)
	content, moreDiags := block.Body.Content(clusterSchema)
	diags = append(diags, moreDiags...)

	var addrAttr *hcl.Attribute
	if attr, ok := content.Attributes["address"]; ok {
		addrAttr = attr
		if d := decodeString(attr, ctx, &c.Address); !d.HasErrors() {
			d = append(d, checkAddress(attr, c.Address)...)
			diags = append(diags, d...)
		} else {
			diags = append(diags, d...)
		}
	}
	if attr, ok := content.Attributes["headers"]; ok {
		h, d := decodeStringMap(attr, ctx, "header", true)
		diags = append(diags, d...)
		c.Headers = h
	}
	if attr, ok := content.Attributes["ca_file"]; ok {
		if d := decodeString(attr, ctx, &c.CAFile); !d.HasErrors() {
			c.CAFile = resolvePath(dir, c.CAFile)
			diags = append(diags, checkFileExists(attr, c.CAFile, "CA file")...)
		} else {
			diags = append(diags, d...)
		}
	}
	if attr, ok := content.Attributes["insecure_skip_tls_verify"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &c.InsecureSkipTLSVerify)...)
		if c.InsecureSkipTLSVerify {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "TLS verification is off",
				Detail:   fmt.Sprintf("Cluster %q does not verify the server's certificate, so anyone on the path can read its token and jobs. Prefer ca_file.", c.Name),
				Subject:  attr.NameRange.Ptr(),
			})
		}
	}
	if attr, ok := content.Attributes["timeout"]; ok {
		diags = append(diags, decodeDuration(attr, ctx, &c.Timeout)...)
	}
	if attr, ok := content.Attributes["pin_ray"]; ok {
		diags = append(diags, decodeBool(attr, ctx, &c.PinRay)...)
	}
	var sharedAttr *hcl.Attribute
	if attr, ok := content.Attributes["shared_disk"]; ok {
		sharedAttr = attr
		diags = append(diags, decodeBool(attr, ctx, &c.SharedDisk)...)
	}

	for _, b := range content.Blocks {
		switch b.Type {
		case "port_forward":
			if c.PortForward != nil {
				diags = append(diags, onlyOne(b, "cluster "+c.Name))
				continue
			}
			pf, d := decodePortForward(b, ctx)
			diags = append(diags, d...)
			c.PortForward = pf
		case "local":
			if c.Local != nil {
				diags = append(diags, onlyOne(b, "cluster "+c.Name))
				continue
			}
			l, d := decodeLocal(b, ctx)
			diags = append(diags, d...)
			c.Local = l
		}
	}

	switch {
	case c.Local != nil && (c.PortForward != nil || addrAttr != nil):
		diags = append(diags, errorAt(c.Local.DeclRange.Ptr(), "Conflicting cluster settings", "Cluster %q has a local block, so adopipe starts the head and knows its address: remove address and port_forward, or remove local.", c.Name))
	case c.Local == nil && c.PortForward == nil && addrAttr == nil:
		diags = append(diags, errorAt(block.DefRange.Ptr(), "Cluster has no address", "Cluster %q needs one of: address = \"http://HOST:8265\", a port_forward block, or a local block.", c.Name))
	case c.Local != nil && sharedAttr != nil:
		diags = append(diags, errorAt(sharedAttr.NameRange.Ptr(), "Conflicting cluster settings", "Cluster %q has a local block: adopipe starts its head on this machine, so it shares this disk already. Remove shared_disk.", c.Name))
	case c.PortForward != nil && addrAttr == nil && c.PortForward.LocalPort != 0:
		c.Address = fmt.Sprintf("http://127.0.0.1:%d", c.PortForward.LocalPort)
	}
	return c, diags
}

func checkAddress(attr *hcl.Attribute, addr string) hcl.Diagnostics {
	u, err := url.Parse(addr)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	return hcl.Diagnostics{attrError(attr, "Invalid cluster address", "%q is not an http(s) URL. Give the Ray dashboard address, for example \"http://127.0.0.1:8265\" (ray:// client addresses are not the Jobs API).", addr)}
}

func decodePortForward(block *hcl.Block, ctx *hcl.EvalContext) (*PortForward, hcl.Diagnostics) {
	pf := &PortForward{Command: "kubectl", Port: 8265, LocalPort: -1, DeclRange: block.DefRange}
	content, diags := block.Body.Content(portForwardSchema)
	for name, out := range map[string]*string{"command": &pf.Command, "namespace": &pf.Namespace, "service": &pf.Service, "context": &pf.Context} {
		if attr, ok := content.Attributes[name]; ok {
			diags = append(diags, decodeString(attr, ctx, out)...)
		}
	}
	if attr, ok := content.Attributes["port"]; ok {
		diags = append(diags, decodePort(attr, ctx, false, &pf.Port)...)
	}
	if attr, ok := content.Attributes["local_port"]; ok {
		diags = append(diags, decodePort(attr, ctx, true, &pf.LocalPort)...)
	}
	if pf.LocalPort == -1 {
		pf.LocalPort = pf.Port
	}
	return pf, diags
}

func decodeLocal(block *hcl.Block, ctx *hcl.EvalContext) (*LocalCluster, hcl.Diagnostics) {
	l := &LocalCluster{DeclRange: block.DefRange}
	content, diags := block.Body.Content(localSchema)
	if attr, ok := content.Attributes["num_cpus"]; ok {
		diags = append(diags, decodeNumber(attr, ctx, &l.NumCPUs)...)
	}
	if attr, ok := content.Attributes["num_gpus"]; ok {
		diags = append(diags, decodeNumber(attr, ctx, &l.NumGPUs)...)
	}
	if attr, ok := content.Attributes["resources"]; ok {
		r, d := decodeNumberMap(attr, ctx)
		diags = append(diags, d...)
		l.Resources = r
	}
	if attr, ok := content.Attributes["ray_args"]; ok {
		diags = append(diags, decodeStringList(attr, ctx, &l.RayArgs)...)
	}
	return l, diags
}

func onlyOne(b *hcl.Block, where string) *hcl.Diagnostic {
	return errorAt(b.DefRange.Ptr(), fmt.Sprintf("Duplicate %s block", b.Type), "%s may have at most one %s block; remove this one.", where, b.Type)
}
