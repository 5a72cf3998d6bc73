// Package scaffold writes a first ado.hcl for `adopipe init`. Scan finds ado
// plugin checkouts, an ado checkout and ado's context and operation YAMLs
// in a directory; Choose settles what is ambiguous from flags or by asking;
// FromAdoRemote converts the RemoteExecutionContext YAML of `ado --remote`;
// Render writes the result as a commented manifest; WriteManifest puts it
// on disk without ever replacing a manifest unless asked to.
package scaffold

// Draft is a manifest before it is rendered. Paths are absolute; Render
// makes them relative to Dir, the manifest's directory.
type Draft struct {
	Dir string
	// Header is the opening comment, one line per element.
	Header     []string
	Cluster    Cluster
	Ado        *Ado // nil: the cluster's ado
	Plugins    []Plugin
	Env        []EnvVar
	RuntimeEnv *RuntimeEnv // nil: Ray's defaults, shown as a comment
	// Pip and Files (absolute paths) go into every operation.
	Pip, Files []string
	Operations []Operation // none: a commented example operation
}

// Cluster is the one cluster a draft submits to.
type Cluster struct {
	Name        string
	Address     string
	PortForward *PortForward
	Local       bool
	Comment     []string
}

// PortForward mirrors the manifest's port_forward block.
type PortForward struct {
	Command, Namespace, Service string
	Port, LocalPort             int
}

// Ado is where ado itself comes from: Source (a checkout) or Version.
type Ado struct {
	Source, Version string
	Comment         []string
}

// Plugin is built from Source or installed from Pip.
type Plugin struct {
	Name, Source, Pip string
	Comment           []string
}

// EnvVar is one job environment variable. Sensitive ones are rendered
// inside sensitive() so adopipe never prints or stores them.
type EnvVar struct {
	Name, Value string
	Sensitive   bool
	Comment     []string
}

// RuntimeEnv is Ray's runtime_env config; SetupTimeoutSeconds -1 is none.
type RuntimeEnv struct {
	SetupTimeoutSeconds int
	EagerInstall        bool
	Comment             []string
}

// Operation is one ado operation; Plugins are plugin names.
type Operation struct {
	Name, Context, Operation string
	Plugins                  []string
	Pip                      []string
	Files                    []string
	// ArgsHint, when set, is an entrypoint offered as a comment.
	ArgsHint []string
	Comment  []string
}
