package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"

	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/manifest"
)

// JobSpec is everything an operation's job depends on, built from the
// manifest in one place. The executors stage and submit from it, and its
// canonical JSON is the job's identity: Digest hashes that JSON, so a field
// added here reaches the digest, the submission id and the per-input record
// with no other edit (Skaffold keys its build cache the same way).
//
// It never holds a secret: a sensitive env value is SensitiveMarker here,
// and the real value is read from the manifest only for the submit request
// (SubmitEnv).
//
// Fields tagged json:"-" are where an input is on this machine, not what
// it is (its content is covered by a digest beside it); they are not part
// of the identity, so moving the project does not resubmit its jobs.
type JobSpec struct {
	Operation string `json:"operation"`
	// Cluster names where the job runs (see clusterIdentity).
	Cluster string `json:"cluster"`
	// Wheel lists the source-built wheels in install order: ado first
	// (its plugins depend on it), then plugins in manifest order.
	Wheel []WheelInput `json:"wheel,omitempty"`
	// AdoVersion installs ado-core from its index at this version.
	AdoVersion string `json:"ado_version,omitempty"`
	// Plugin lists the plugins installed from a pip requirement.
	Plugin []PipPlugin `json:"plugin,omitempty"`
	// File lists the staged files: the context, the operation YAML, then
	// the extra files.
	File []StagedInput `json:"file"`
	// Excludes are gitignore-style patterns of staged files left out of
	// the uploaded working directory (Ray's runtime_env excludes).
	Excludes []string `json:"excludes,omitempty"`
	// Pip lists the operation's extra requirements, installed after the
	// wheels and plugins.
	Pip []string `json:"pip,omitempty"`
	// RayPin is "ray==<the cluster's Ray version>" when the operation pins
	// Ray (pin_ray): a cluster upgrade then resubmits the job.
	RayPin string `json:"ray_pin,omitempty"`
	// Env is the merged job environment (recommended defaults < manifest
	// env < operation env), sensitive values replaced by SensitiveMarker.
	Env map[string]string `json:"env,omitempty"`
	// Entrypoint is the job's command as arguments.
	Entrypoint []string `json:"entrypoint"`
	// Resources are reserved for the entrypoint.
	Resources Resources `json:"resources,omitzero"`
	// RuntimeEnv is how Ray makes the job's environment.
	RuntimeEnv RuntimeEnvChoice `json:"runtime_env,omitzero"`
	// SQLitePath, when set, is the absolute path the staged context's
	// SQLite metastore is pointed at: ado would resolve a relative path in
	// the job's throw-away working directory, so on a cluster sharing this
	// disk it is made absolute against the context file's directory.
	SQLitePath string `json:"-"`
}

// WheelInput is a source-built wheel a job installs.
type WheelInput struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// PipPlugin is a plugin installed from a requirement string.
type PipPlugin struct {
	Name        string `json:"name"`
	Requirement string `json:"requirement"`
}

// StagedInput is a file copied into the job directory.
type StagedInput struct {
	// Role is RoleContext, RoleOperation or empty for an extra file.
	Role string `json:"role,omitempty"`
	// Dst is the slash-separated path inside the job directory.
	Dst string `json:"dst"`
	// SHA256 is the content digest (of every file, for a directory).
	SHA256 string `json:"sha256"`
	// Src is the file or directory on this machine.
	Src string `json:"-"`
}

// Roles of staged files.
const (
	RoleContext   = "context"
	RoleOperation = "operation"
)

// Resources are reserved for the job's entrypoint.
type Resources struct {
	NumCPUs       float64            `json:"num_cpus,omitempty"`
	NumGPUs       float64            `json:"num_gpus,omitempty"`
	Memory        float64            `json:"memory,omitempty"` // bytes
	Custom        map[string]float64 `json:"custom,omitempty"`
	LabelSelector map[string]string  `json:"label_selector,omitempty"`
}

// RuntimeEnvChoice is the manifest's runtime_env for a job. Its zero value
// is the default (pip, plugins as wheels, Ray's own config), so a job that
// sets none of it keeps the digest it had before these settings existed.
type RuntimeEnvChoice struct {
	Installer string `json:"installer,omitempty"` // "" is pip
	Layout    string `json:"layout,omitempty"`    // "" is wheel
	// Config is Ray's runtime_env config when the manifest sets it.
	Config RayEnvConfig `json:"config,omitzero"`
}

// RayEnvConfig is Ray's runtime_env config; Set is false when the manifest
// leaves it to Ray.
type RayEnvConfig struct {
	Set                 bool `json:"set"`
	SetupTimeoutSeconds int  `json:"setup_timeout_seconds"`
	EagerInstall        bool `json:"eager_install"`
}

func runtimeEnvChoice(r manifest.RuntimeEnv) RuntimeEnvChoice {
	var c RuntimeEnvChoice
	if r.Installer != manifest.InstallerPip {
		c.Installer = r.Installer
	}
	if r.Layout != manifest.LayoutWheel {
		c.Layout = r.Layout
	}
	if r.Declared {
		c.Config = RayEnvConfig{Set: true, SetupTimeoutSeconds: r.SetupTimeoutSeconds, EagerInstall: r.EagerInstall}
	}
	return c
}

// Installer is the runtime_env field the job's packages go in: "pip" or "uv".
func (s JobSpec) Installer() string {
	if s.RuntimeEnv.Installer == "" {
		return manifest.InstallerPip
	}
	return s.RuntimeEnv.Installer
}

// Layout is how source-built plugins reach the job: "wheel" or "modules".
func (s JobSpec) Layout() string {
	if s.RuntimeEnv.Layout == "" {
		return manifest.LayoutWheel
	}
	return s.RuntimeEnv.Layout
}

// RayConfig is Ray's runtime_env config, or nil to leave Ray's defaults.
func (s JobSpec) RayConfig() map[string]any {
	c := s.RuntimeEnv.Config
	if !c.Set {
		return nil
	}
	return manifest.RuntimeEnv{SetupTimeoutSeconds: c.SetupTimeoutSeconds, EagerInstall: c.EagerInstall}.RayConfig()
}

// SensitiveMarker stands in for a secret value in the spec and in every
// file adopipe writes. A secret never enters the digest or the state, so
// changing only a secret does not resubmit the job; its presence does.
const SensitiveMarker = "(sensitive)"

func (w WheelInput) inputKey() string  { return w.Name }
func (p PipPlugin) inputKey() string   { return p.Name }
func (s StagedInput) inputKey() string { return s.Dst }

// BuildSpec builds the spec of op's job. fps maps source-built wheel
// names to their fingerprints; rayVersion is the Ray version of op's
// cluster, "" when not known (only an operation that pins Ray needs it).
func BuildSpec(cfg *manifest.Config, op *manifest.Operation, fps map[string]string, rayVersion string) (JobSpec, error) {
	spec := JobSpec{
		Operation:  op.Name,
		Cluster:    clusterIdentity(op.Cluster),
		Pip:        op.Pip,
		Excludes:   op.Excludes,
		Env:        map[string]string{},
		Entrypoint: op.Entrypoint(),
		Resources:  Resources(op.Resources),
		RuntimeEnv: runtimeEnvChoice(op.RuntimeEnv),
		SQLitePath: sqlitePath(op),
	}
	for _, name := range operationWheels(cfg, op) {
		fp, ok := fps[name]
		if !ok {
			return JobSpec{}, fmt.Errorf("internal error: no fingerprint for wheel %s", name)
		}
		spec.Wheel = append(spec.Wheel, WheelInput{Name: name, Fingerprint: fp})
	}
	if cfg.Ado != nil {
		spec.AdoVersion = cfg.Ado.Version
	}
	if op.PinRay {
		if rayVersion == "" {
			return JobSpec{}, fmt.Errorf("operation %s pins Ray (pin_ray) but the Ray version of cluster %s is not known: it could not be reached (see the warning), and no job recorded it; make it reachable and plan again", op.Name, op.Cluster.Name)
		}
		spec.RayPin = "ray==" + rayVersion
	}
	for _, pl := range op.Plugins {
		if !pl.FromSource() {
			spec.Plugin = append(spec.Plugin, PipPlugin{Name: pl.Name, Requirement: pl.Pip})
		}
	}
	for i, f := range stagedFiles(op) {
		d, err := digest.FileSHA256(f.Src)
		if err != nil {
			return JobSpec{}, fmt.Errorf("operation %s: %w", op.Name, err)
		}
		in := StagedInput{Dst: f.Dst, SHA256: d, Src: f.Src}
		switch i {
		case 0:
			in.Role = RoleContext
		case 1:
			in.Role = RoleOperation
		}
		spec.File = append(spec.File, in)
	}
	for k, v := range jobEnv(cfg, op) {
		spec.Env[k] = v.Value
		if v.Sensitive {
			spec.Env[k] = SensitiveMarker
		}
	}
	return spec, nil
}

// stagedFiles lists the files a job stages, context and operation YAML
// first: the spec digests them and watch watches them.
func stagedFiles(op *manifest.Operation) []manifest.StagedFile {
	return append([]manifest.StagedFile{op.Context, op.Operation}, op.Files...)
}

// jobEnv is the job's environment with its secrets.
func jobEnv(cfg *manifest.Config, op *manifest.Operation) manifest.Env {
	return cfg.JobEnv(op, manifest.RecommendedEnv)
}

// SubmitEnv returns the job's environment with the real values, secrets
// included. It is for the submit request only: the staged (and uploaded)
// directory, the state and the plan hold the spec's markers.
func SubmitEnv(cfg *manifest.Config, spec JobSpec) map[string]string {
	op, ok := cfg.Operations[spec.Operation]
	if !ok {
		return spec.Env
	}
	return jobEnv(cfg, op).Plain()
}

// sqlitePath is where a local job's relative SQLite metastore really is.
func sqlitePath(op *manifest.Operation) string {
	info := op.ContextInfo
	if info.Scheme != "sqlite" || info.Path == "" || filepath.IsAbs(info.Path) || op.Cluster == nil || !op.Cluster.SharesDisk() {
		return ""
	}
	return filepath.Join(filepath.Dir(op.Context.Src), filepath.FromSlash(info.Path))
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

// Digest is the hex sha256 of the spec's canonical JSON (struct fields in
// declaration order, map keys sorted).
func (s JobSpec) Digest() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic("planner: a job spec must always marshal: " + err.Error())
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ContextFile returns the staged context file.
func (s JobSpec) ContextFile() StagedInput { return s.role(RoleContext) }

// OperationFile returns the staged operation YAML.
func (s JobSpec) OperationFile() StagedInput { return s.role(RoleOperation) }

func (s JobSpec) role(r string) StagedInput {
	for _, f := range s.File {
		if f.Role == r {
			return f
		}
	}
	return StagedInput{}
}

// ExtraFiles returns the staged files other than the two YAMLs.
func (s JobSpec) ExtraFiles() []StagedInput {
	var out []StagedInput
	for _, f := range s.File {
		if f.Role == "" {
			out = append(out, f)
		}
	}
	return out
}

// WheelNames lists the job's source-built wheels in install order.
func (s JobSpec) WheelNames() []string {
	names := make([]string, len(s.Wheel))
	for i, w := range s.Wheel {
		names[i] = w.Name
	}
	return names
}

// PipRequirements lists what pip installs after the wheels: plugin
// requirements, the operation's pip lines, then the Ray pin.
func (s JobSpec) PipRequirements() []string {
	var out []string
	for _, p := range s.Plugin {
		out = append(out, p.Requirement)
	}
	out = append(out, s.Pip...)
	if s.RayPin != "" {
		out = append(out, s.RayPin)
	}
	return out
}

// SensitiveEnv lists the env names whose values are secret, sorted.
func (s JobSpec) SensitiveEnv() []string {
	var keys []string
	for k, v := range s.Env {
		if v == SensitiveMarker {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Inputs is the spec flattened to one entry per input, recorded in state
// so a later plan can say which input changed.
func (s JobSpec) Inputs() Inputs { return flattenInputs(s) }

// Inputs maps each input of a job to its value or digest: "wheel NAME",
// "file PATH", "env NAME", "pip", ... (see flattenInputs).
type Inputs map[string]string

// Keys returns the input names, sorted.
func (in Inputs) Keys() []string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
