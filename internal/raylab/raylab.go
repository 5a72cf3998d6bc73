// Package raylab runs a remote-shaped Ray cluster on one machine, for
// adopipe's real tier and for trying adopipe against something that
// behaves like OpenShift/KubeRay:
//
//   - A Ray head and workers (separate `ray start` processes) in a network
//     namespace of their own, using only its loopback, and a mount
//     namespace in which the laptop's checkout, temp dirs and HOME are
//     hidden under empty tmpfs mounts; only the Python environment the
//     cluster runs and the lab's own directory stay visible. Each node has
//     its own Ray temp dir. The head has no CPUs, so tasks and actors run
//     on the workers.
//   - Ray token authentication, with a token the lab generates (the user's
//     ~/.ray/auth_token is never read or written).
//   - A MySQL-compatible metastore inside the namespace (labmysql).
//   - Way in 1: a stand-in `oc`/`kubectl port-forward` (PortForward)
//     that forwards into the namespace and exits when idle.
//   - Way in 2: an HTTPS route (HAProxy, TLS with the lab's own CA) that
//     refuses websocket upgrades.
//
// It needs Linux, root, `ip` (iproute2) and `haproxy`; `make lab-deps`
// installs them. Start it, use it, and Stop it: everything it started is
// stopped by pid and its namespaces and mounts go with it. Never `ray
// stop`.
package raylab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Options configure Start.
type Options struct {
	// Dir is the lab's directory (made if missing). Empty: a new one under
	// /tmp, short enough for Ray's socket paths.
	Dir string
	// RaylabBin is the raylab command (required): the supervisor inside
	// the namespace and the stand-in oc run it.
	RaylabBin string
	// LabMySQLBin is the labmysql command (required).
	LabMySQLBin string
	// Venv is the Python environment with ray that the cluster runs
	// (required). It stays visible to the cluster at its own path.
	Venv string
	// Hide are paths hidden from the cluster, besides HOME, /tmp and
	// $TMPDIR (always hidden): the checkout, the ado checkout.
	Hide []string
	// Namespace is the namespace the stand-in oc knows. Default
	// DefaultNamespace.
	Namespace string
	// Workers is the number of worker nodes (default 1), each with
	// WorkerCPUs CPUs (default 2).
	Workers    int
	WorkerCPUs int
	// ObjectStoreMemory per node in bytes; 0 lets Ray choose.
	ObjectStoreMemory int64
	// OCIdleTimeout: the stand-in oc exits when no byte moved for this
	// long (0: never). EnvOCIdleTimeout overrides it per process.
	OCIdleTimeout time.Duration
	// StartTimeout bounds the cluster's start, restarts of nodes that
	// die while starting included (default 8 minutes).
	StartTimeout time.Duration
	// DieWithParent stops the lab's processes when this process dies
	// (tests). The namespace is then left for `raylab down`.
	DieWithParent bool
	// KeepDir keeps the lab's directory (logs) after Stop.
	KeepDir bool
	// Log receives progress lines. May be nil.
	Log io.Writer
}

func (o *Options) setDefaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.WorkerCPUs <= 0 {
		o.WorkerCPUs = 2
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 8 * time.Minute
	}
}

// ErrMissing wraps every "this machine lacks a part" error, so callers
// can tell them from a lab that failed to start.
var ErrMissing = errors.New("the lab cannot run here")

// check names the first missing part and how to get it.
func (o *Options) check() error {
	missing := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrMissing, fmt.Sprintf(format, a...))
	}
	if os.Geteuid() != 0 {
		return missing("it needs root (network and mount namespaces)")
	}
	for _, tool := range []string{"ip", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			return missing("%s not found (run `make lab-deps`)", tool)
		}
	}
	for what, path := range map[string]string{
		"raylab":                            o.RaylabBin,
		"labmysql (run `make lab`)":         o.LabMySQLBin,
		"ray in the venv (run `make venv`)": filepath.Join(o.Venv, "bin", "ray"),
	} {
		if path == "" {
			return missing("no %s given", what)
		}
		if _, err := os.Stat(path); err != nil {
			return missing("%s not found at %s", what, path)
		}
	}
	return nil
}

// hidden lists the paths hidden from the cluster: the given ones, HOME
// and the temp dirs.
func (o *Options) hidden() []string {
	h := append([]string{"/tmp", os.TempDir()}, o.Hide...)
	if home, err := os.UserHomeDir(); err == nil {
		h = append(h, home)
	}
	return h
}

// CheckoutPaths lists what of an adopipe checkout at root to hide from
// the cluster: the checkout, the ado checkout in it (.cache/ado-checkout,
// often a symlink elsewhere) and, when the venv (resolved) lives in
// another checkout, that checkout.
func CheckoutPaths(root, venv string) []string {
	hide := []string{root}
	if ado, err := filepath.EvalSymlinks(filepath.Join(root, ".cache", "ado-checkout")); err == nil {
		hide = append(hide, ado)
	}
	if other := filepath.Dir(venv); other != root {
		if _, err := os.Stat(filepath.Join(other, "go.mod")); err == nil {
			hide = append(hide, other)
		}
	}
	return hide
}

// venvKeep lists what must stay visible for the venv to run: the venv
// and the Python installation it was made from (pyvenv.cfg's home, e.g.
// a pyenv install under the hidden HOME).
func venvKeep(venv string) []string {
	keep := []string{venv}
	b, err := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
	if err != nil {
		return keep
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "home" {
			home := strings.TrimSpace(v)
			if filepath.Base(home) == "bin" {
				home = filepath.Dir(home)
			}
			keep = append(keep, home)
		}
	}
	return keep
}

// Lab is a running lab. It is recorded in Dir/lab.json; Attach reads it.
type Lab struct {
	Dir       string `json:"dir"`
	Netns     string `json:"netns"`
	Namespace string `json:"namespace"`
	// TokenFile holds the Ray token: point RAY_AUTH_TOKEN_PATH at it.
	TokenFile string `json:"token_file"`
	// MySQLPasswordFile holds the password of MySQLUser.
	MySQLPasswordFile string `json:"mysql_password_file"`
	// CAFile is the CA that signed the route's certificate (ca_file).
	CAFile string `json:"ca_file"`
	// RouteURL is the HTTPS route to the Jobs API; RouteLog has one line
	// per request through it (method, path, status; no headers).
	RouteURL string `json:"route_url"`
	RouteLog string `json:"route_log"`
	// OC and Kubectl are the stand-in port-forward commands.
	OC            string        `json:"oc"`
	Kubectl       string        `json:"kubectl"`
	OCIdleTimeout time.Duration `json:"oc_idle_timeout"`
	RayVersion    string        `json:"ray_version"`
	HeadNodeID    string        `json:"head_node_id"`
	WorkerNodeIDs []string      `json:"worker_node_ids"`
	ClusterPID    int           `json:"cluster_pid"`
	HAProxyPID    int           `json:"haproxy_pid"`

	netnsMade bool
	keepDir   bool
	// restarting is the cluster start RestartHead waits for.
	restarting int
}
