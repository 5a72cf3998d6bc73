package raylab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Names inside the lab's cluster, as an OpenShift project would have them.
const (
	// DefaultNamespace is the OpenShift/Kubernetes namespace the stand-in
	// oc knows.
	DefaultNamespace = "adopipe-lab"
	// HeadService is the KubeRay head service: dashboard (Jobs API) 8265,
	// GCS 6379, Ray client 10001.
	HeadService = "ray-head-svc"
	// MySQLService is the metastore's service, port 3306.
	MySQLService = "mysql"
	// DashboardPort is the head's dashboard and Jobs API port.
	DashboardPort = 8265
	// MySQLPort is the metastore's port.
	MySQLPort = 3306
	// MySQLUser and MySQLDatabase are the metastore's account and
	// database; the password is generated per lab (Lab.MySQLPasswordFile).
	MySQLUser     = "ado"
	MySQLDatabase = "adopipe_lab"
	gcsPort       = 6379
	clientPort    = 10001
)

// ServiceHost is the in-cluster DNS name of a service, which resolves to
// the namespace's loopback inside the lab.
func ServiceHost(namespace, service string) string {
	return service + "." + namespace + ".svc.cluster.local"
}

// services maps "namespace/service" to the ports it serves inside the
// network namespace.
func services(namespace string) map[string][]int {
	return map[string][]int{
		namespace + "/" + HeadService:  {DashboardPort, gcsPort, clientPort},
		namespace + "/" + MySQLService: {MySQLPort},
	}
}

// layout names the files inside a lab's directory.
type layout string

func (d layout) path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}
func (d layout) record() string         { return d.path("lab.json") }
func (d layout) clusterConfig() string  { return d.path("cluster.json") }
func (d layout) clusterReady() string   { return d.path("run", "cluster-ready.json") }
func (d layout) headReady() string      { return d.path("run", "head-ready.json") }
func (d layout) token() string          { return d.path("secrets", "auth_token") }
func (d layout) mysqlPassword() string  { return d.path("secrets", "mysql_password") }
func (d layout) bin(name string) string { return d.path("bin", name) }
func (d layout) log(name string) string { return d.path("logs", name+".log") }
func (d layout) rayTemp(node string) string {
	return d.path("ray", node)
}
func (d layout) tls(name string) string { return d.path("tls", name) }

// ocPIDFile is where a running stand-in oc records itself, so tests can
// find and kill the forwarder adopipe started.
func (d layout) ocPIDFile(pid int) string {
	return d.path("run", "oc."+strconv.Itoa(pid))
}

// writeJSON writes v to path atomically (temp file and rename).
func writeJSON(path string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
