package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/manifest"
)

// Inputs maps each input of an operation's job to its digest or value:
// "wheel NAME" to a source fingerprint, "file PATH" to a content sha256,
// "env NAME" to a value, and so on. Its digest names the job; the map
// itself is kept in state so a plan can say which input changed.
type Inputs map[string]string

// Keys returns the input names, sorted.
func (in Inputs) Keys() []string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Digest is the hex sha256 over the sorted inputs.
func (in Inputs) Digest() string {
	h := sha256.New()
	for _, k := range in.Keys() {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(k), k, len(in[k]), in[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sensitiveInput stands in for a secret value. A secret's value never
// enters the digest or the state, so changing only a secret does not
// resubmit the job; its presence does count.
const sensitiveInput = "(sensitive)"

// OperationInputs collects everything an operation's job depends on.
// fps maps source-built wheel names to their fingerprints.
func OperationInputs(cfg *manifest.Config, op *manifest.Operation, fps map[string]string) (Inputs, error) {
	in := Inputs{}
	for _, name := range operationWheels(cfg, op) {
		fp, ok := fps[name]
		if !ok {
			return nil, fmt.Errorf("internal error: no fingerprint for wheel %s", name)
		}
		in["wheel "+name] = fp
	}
	if cfg.Ado != nil && cfg.Ado.Version != "" {
		in["ado version"] = cfg.Ado.Version
	}
	for _, pl := range op.Plugins {
		if !pl.FromSource() {
			in["plugin "+pl.Name] = pl.Pip
		}
	}
	for _, f := range append([]manifest.StagedFile{op.Context, op.Operation}, op.Files...) {
		d, err := digest.FileSHA256(f.Src)
		if err != nil {
			return nil, fmt.Errorf("operation %s: %w", op.Name, err)
		}
		in["file "+f.Dst] = d
	}
	if len(op.Pip) > 0 {
		in["pip"] = jsonString(op.Pip)
	}
	for k, v := range cfg.JobEnv(op, manifest.RecommendedEnv) {
		if v.Sensitive {
			in["env "+k] = sensitiveInput
		} else {
			in["env "+k] = v.Value
		}
	}
	in["entrypoint"] = jsonString(op.Entrypoint())
	if r := op.Resources; r.NumCPUs != 0 || r.NumGPUs != 0 || r.Memory != 0 || len(r.Custom) > 0 {
		in["resources"] = jsonString(r)
	}
	in["cluster"] = clusterIdentity(op.Cluster)
	return in, nil
}

// clusterIdentity names where a job runs. A local cluster's address
// changes with every start, so its name stands in for it.
func clusterIdentity(c *manifest.Cluster) string {
	switch {
	case c.Local != nil:
		return "local " + c.Name
	case c.PortForward != nil:
		pf := c.PortForward
		return fmt.Sprintf("port-forward %s/%s:%d", pf.Namespace, pf.Service, pf.Port)
	default:
		return c.Address
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
