package scaffold

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// InitOptions are what `adopipe init` was asked.
type InitOptions struct {
	// Target is the manifest to write.
	Target string
	// Force replaces an existing manifest.
	Force bool
	// Depth bounds how far below Target's directory Scan looks.
	Depth int
	Flags Flags
	// FromRemote is ado --remote's context YAML to convert, if any, with
	// AdoCwd the directory ado --remote runs in (default: here).
	FromRemote, AdoCwd string
	// Ask settles ambiguities on a terminal; nil means flags must.
	Ask Asker
}

// Initialized is what Init wrote, and from what.
type Initialized struct {
	Target string
	Draft  *Draft
	Found  *Findings
	Remote *Remote // nil without FromRemote
}

// Init scans Target's directory (or converts FromRemote), settles the
// choices and writes the manifest. Converting reports its problems as
// diagnostics, with the parsed sources for their snippets; a failure with
// error diagnostics writes nothing.
func Init(o InitOptions) (*Initialized, map[string]*hcl.File, hcl.Diagnostics, error) {
	target, err := filepath.Abs(o.Target)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := os.Lstat(target); err == nil && !o.Force {
		return nil, nil, nil, fmt.Errorf("%s already exists; init never replaces a manifest: pass --force to overwrite it, or -f FILE to write another", target)
	}
	o.Flags.Cluster.PortForwardCommand = portForwardCommand(o.Flags.Cluster.PortForwardCommand)
	dir := filepath.Dir(target)
	res := &Initialized{Target: target}
	if res.Found, err = Scan(dir, o.Depth); err != nil {
		return nil, nil, nil, err
	}
	var files map[string]*hcl.File
	var diags hcl.Diagnostics
	if o.FromRemote != "" {
		cwd, err := filepath.Abs(o.AdoCwd)
		if err != nil {
			return nil, nil, nil, err
		}
		res.Remote, diags = FromAdoRemote(o.FromRemote, RemoteOptions{
			Cwd:                cwd,
			Dir:                dir,
			PortForwardCommand: o.Flags.Cluster.PortForwardCommand,
			ClusterGiven:       o.Flags.Cluster.IsSet(),
		})
		if res.Remote != nil {
			files = res.Remote.Sources
		}
		if diags.HasErrors() {
			return nil, files, diags, nil
		}
	}
	if res.Draft, err = Choose(res.Found, o.Flags, res.Remote, o.Ask); err != nil {
		return nil, files, diags, err
	}
	return res, files, diags, WriteManifest(target, Render(res.Draft), o.Force)
}

// portForwardCommand is the flag's value, or what ado --remote would use:
// oc when it is on PATH, else kubectl.
func portForwardCommand(flag string) string {
	if flag != "" {
		return flag
	}
	if _, err := exec.LookPath("oc"); err == nil {
		return "oc"
	}
	return "kubectl"
}
