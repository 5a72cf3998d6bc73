package main

import (
	"errors"
	"fmt"

	"github.com/adopipe/adopipe/internal/scaffold"
	"github.com/adopipe/adopipe/manifest"
	"github.com/spf13/cobra"
)

type initOptions struct {
	force      bool
	depth      int
	flags      scaffold.Flags
	fromRemote string
	adoCwd     string
}

func (a *app) initCommand() *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented ado.hcl from the ado files found here",
		Long: `Init writes ado.hcl (or the file given with -f) from what it finds in the
current directory and up to --depth levels below: ado plugin checkouts
(pyproject.toml with ado.actuators, ado.operators or ado.custom_experiments
entry points, or ado_actuators / ado_operators packages), an ado checkout,
and ado context and operation YAMLs (recognised by their keys).

Where more than one candidate fits, init asks on a terminal; otherwise it
stops and names the flag that settles it. Without cluster flags the manifest
uses a Ray head adopipe starts on this machine.

--from-ado-remote FILE converts the RemoteExecutionContext of ado --remote
(cluster, port-forward, packages, envVars, runtimeEnv, additionalFiles) instead
of looking for plugins; relative paths in it are read from --ado-cwd, the
directory ado --remote runs in.

An existing manifest is never replaced without --force. The result is
validated as adopipe validate does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runInit(o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.force, "force", false, "replace an existing manifest")
	f.IntVar(&o.depth, "depth", scaffold.DefaultDepth, "how many directory levels below this one to look in")
	f.StringVar(&o.flags.Context, "context", "", "the ado context (metastore) `YAML` the operations use")
	f.StringArrayVar(&o.flags.Operations, "operation", nil, "an ado operation `YAML`, one operation each (repeatable)")
	f.StringArrayVar(&o.flags.Plugins, "plugin", nil, "a plugin checkout `DIR` to build (repeatable), or none")
	f.StringVar(&o.flags.Ado, "ado", "", "ado itself: a checkout `DIR`, an exact ado-core version, or none (the cluster's)")
	f.StringVar(&o.flags.Cluster.Address, "cluster-address", "", "the Ray dashboard `URL` of a running cluster")
	f.StringVar(&o.flags.Cluster.PortForwardNamespace, "port-forward-namespace", "", "reach the cluster through a port-forward in `NAMESPACE`")
	f.StringVar(&o.flags.Cluster.PortForwardService, "port-forward-service", "", "the Ray head `SERVICE` to port-forward to")
	f.StringVar(&o.flags.Cluster.PortForwardCommand, "port-forward-command", "", "oc or kubectl (default: oc when on PATH, else kubectl)")
	f.IntVar(&o.flags.Cluster.PortForwardPort, "port-forward-port", 0, "the service's dashboard `PORT` (default 8265)")
	f.IntVar(&o.flags.Cluster.LocalPort, "local-port", 0, "the local `PORT` of the port-forward (default: the service port)")
	f.StringVar(&o.fromRemote, "from-ado-remote", "", "convert ado --remote's remote context `YAML`")
	f.StringVar(&o.adoCwd, "ado-cwd", "", "the `DIR` ado --remote runs in, for its relative paths (default: here)")
	return cmd
}

func (a *app) runInit(o initOptions) error {
	target := a.global.file
	if target == "" {
		target = manifest.DefaultFile
	}
	res, files, diags, err := scaffold.Init(scaffold.InitOptions{
		Target: target, Force: o.force, Depth: o.depth, Flags: o.flags,
		FromRemote: o.fromRemote, AdoCwd: o.adoCwd, Ask: a.initAsker(),
	})
	a.printDiags(diags, files)
	if diags.HasErrors() {
		return exitCodeError{exitError}
	}
	if err != nil {
		return err
	}
	return a.reportInit(res.Target, res.Draft, res.Found, res.Remote)
}

// reportInit validates the written manifest and says what it holds and
// what to do next.
func (a *app) reportInit(target string, d *scaffold.Draft, found *scaffold.Findings, remote *scaffold.Remote) error {
	p := manifest.NewParser()
	_, diags := p.Load(target, manifest.LoadOptions{})
	a.printDiags(diags, p.Files())
	if diags.HasErrors() {
		fmt.Fprintf(a.stderr, "Wrote %s, but it does not validate: fix the errors above.\n", target)
		return exitCodeError{exitError}
	}
	fmt.Fprintf(a.stdout, "Wrote %s: cluster %q, %d plugin(s), %d operation(s).\n", target, d.Cluster.Name, len(d.Plugins), len(d.Operations))
	if remote != nil {
		for _, n := range remote.Notes {
			fmt.Fprintln(a.stdout, "Note: "+n)
		}
	} else if len(found.AdoRemotes) > 0 {
		fmt.Fprintf(a.stdout, "Note: %s is an ado --remote context; adopipe init --from-ado-remote %s converts it.\n", found.AdoRemotes[0].Path, found.AdoRemotes[0].Path)
	}
	fmt.Fprintln(a.stdout, "Next: adopipe plan")
	return nil
}

// errNoAnswer ends init when the terminal closes mid-question.
var errNoAnswer = errors.New("no answer given")
