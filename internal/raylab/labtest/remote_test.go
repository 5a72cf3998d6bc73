package labtest

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/internal/raylab"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testgate"
)

// remote is a copy of testdata/remote (examples/remote's shape on the
// lab), shared by the tests so the later ones reuse the wheels the first
// built, with a copy of the ado checkout's example actuator in
// plugins/example_actuator that the edit test edits.
var (
	remoteOnce sync.Once
	remoteDir  string
	remoteErr  error
)

func remoteWorkspace(t *testing.T) string {
	t.Helper()
	ado := adoCheckout(t)
	remoteOnce.Do(func() {
		remoteDir = filepath.Join(pkgDir, "remote")
		remoteErr = os.CopyFS(remoteDir, os.DirFS("testdata/remote"))
		if remoteErr == nil {
			remoteErr = os.CopyFS(filepath.Join(remoteDir, examplePlugin), os.DirFS(filepath.Join(ado, "plugins", "actuators", "example_actuator")))
		}
	})
	if remoteErr != nil {
		t.Fatal(remoteErr)
	}
	return remoteDir
}

// examplePlugin is where the remote workspace holds its copy of the
// example actuator.
const examplePlugin = "plugins/example_actuator"

// adoCheckout is the ado checkout (make ado-checkout), resolved.
func adoCheckout(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(filepath.Join(raytest.RepoRoot(), ".cache", "ado-checkout"))
	if err != nil {
		testgate.Missing(t, "no ado checkout: run `make ado-checkout` (%v)", err)
	}
	return dir
}

// adopipeEnv is adopipe's environment for the lab: the lab's token by
// RAY_AUTH_TOKEN_PATH, a HOME of its own (no ~/.ray/auth_token), the
// manifest's variables by ADOPIPE_VAR_ (the password never on a command
// line).
func adopipeEnv(t *testing.T, l *raylab.Lab, dir string) []string {
	t.Helper()
	password, err := os.ReadFile(l.MySQLPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "RAY_") && k != "HOME" {
			env = append(env, kv)
		}
	}
	return append(env,
		"HOME="+home,
		"NO_COLOR=1",
		"PATH="+filepath.Dir(python)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ADOPIPE_PYTHON="+python,
		"RAY_AUTH_TOKEN_PATH="+l.TokenFile,
		"ADOPIPE_VAR_ado_checkout="+adoCheckout(t),
		"ADOPIPE_VAR_oc="+l.OC,
		"ADOPIPE_VAR_namespace="+l.Namespace,
		"ADOPIPE_VAR_route="+l.RouteURL,
		"ADOPIPE_VAR_ca_file="+l.CAFile,
		"ADOPIPE_VAR_mysql_password="+strings.TrimSpace(string(password)),
	)
}

// The shape of examples/remote through the stand-in oc: ado and two
// plugins built from the ado checkout, uploaded and submitted through the
// forwarder adopipe keeps, two ado operations on one sample store in the
// job, the measurements on the worker node, the results read back with
// `ado show` through a forward to the metastore.
func TestRemoteThroughForwarder(t *testing.T) {
	l := needLab(t)
	applyRemote(t, l, "explore")
}

// The same through the HTTPS route with the lab's CA. The route refuses
// websockets (TestLabRouteRefusesWebsocket): its log shows apply's
// websocket refused and the job's log read by polling.
func TestRemoteThroughRoute(t *testing.T) {
	l := needLab(t)
	out := applyRemote(t, l, "explore_route")
	if !strings.Contains(out, "cluster route: Ray "+l.RayVersion+" at "+l.RouteURL) {
		t.Errorf("apply did not reach the cluster through the route %s:\n%s", l.RouteURL, out)
	}
	id := submittedRE.FindStringSubmatch(out)[1]
	tails, polls := 0, 0
	for _, line := range strings.Split(testfiles.Read(t, l.RouteLog), "\n") {
		m := routeLogRE.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(m[3], "/api/jobs/"+id+"/logs") {
			continue
		}
		switch {
		case m[3] == "/api/jobs/"+id+"/logs/tail":
			tails++
			if m[1] == "101" {
				t.Errorf("the route upgraded a websocket: %s", line)
			}
		case m[2] == "GET" && m[1] == "200":
			polls++
		}
	}
	t.Logf("route log: %d websocket attempts refused, %d log polls answered", tails, polls)
	if tails == 0 || polls == 0 {
		t.Errorf("want apply's websocket refused and its log polled through the route; the route's log:\n%s", testfiles.Read(t, l.RouteLog))
	}
}

// routeLogRE reads HAProxy's httplog line: the status after the timers,
// then the request line.
var routeLogRE = regexp.MustCompile(` -?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+ (\d{3}) .*"(\w+) (\S+) HTTP/`)

var submittedRE = regexp.MustCompile(`job \w+: submitted as (adopipe-[\w-]+)`)

// applyRemote runs `adopipe apply --follow OP` on the remote workspace and
// checks the job: it succeeded, its log arrived, its measurement work ran
// on the worker only, and `ado show` reads its results from the
// metastore. It returns apply's output.
func applyRemote(t *testing.T, l *raylab.Lab, op string) string {
	dir := remoteWorkspace(t)
	env := adopipeEnv(t, l, dir)
	before := listPlaced(t, l)

	stdout, stderr, err := run(t, applyDeadline, dir, env, adopipeBin, "apply", "--auto-approve", "--follow", op)
	if err != nil {
		// The error and stderr first: CI keeps a failure's last lines.
		t.Fatalf("adopipe apply --follow %s: %v\nstderr:\n%s\nstdout (last 60 lines):\n%s", op, err, stderr, lastLines(stdout, 60))
	}
	t.Logf("adopipe apply --follow %s:\n%s\nstderr:\n%s", op, stdout, stderr)
	m := submittedRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("apply printed no submission")
	}
	for _, want := range []string{"lab job via ", "detect_anomalous_series", "lab job done", "SUCCEEDED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("apply --follow output lacks %q (the job's log)", want)
		}
	}
	if strings.Contains(stdout+stderr, strings.TrimSpace(testfiles.Read(t, l.MySQLPasswordFile))) ||
		strings.Contains(stdout+stderr, labToken(t, l)) {
		t.Errorf("apply printed a secret")
	}
	checkPlacement(t, l, before)
	checkResults(t, l, dir, env)
	return stdout
}

// checkPlacement: every actor and task that appeared during the apply ran
// on the worker, and among them are the example actuator's actors and the
// measurement tasks they run (ado's _ray_fn_runner, one per entity
// measured).
func checkPlacement(t *testing.T, l *raylab.Lab, before map[string]placed) {
	t.Helper()
	byNode := map[string][]string{}
	measured, tasks := 0, 0
	for id, p := range listPlaced(t, l) {
		if _, old := before[id]; old || p.NodeID == "" {
			continue // older, or not placed (actor creation records)
		}
		what := p.ClassName
		if what == "" {
			what = p.Name
		}
		byNode[p.NodeID] = append(byNode[p.NodeID], what)
		if p.ClassName == "RoboticLab" {
			measured++
			if p.NodeID != l.WorkerNodeIDs[0] {
				t.Errorf("measurement actor %s ran on node %s, not on the worker %s", id, p.NodeID, l.WorkerNodeIDs[0])
			}
		}
		if p.Name == "_ray_fn_runner" {
			tasks++
			if p.NodeID != l.WorkerNodeIDs[0] {
				t.Errorf("measurement task %s ran on node %s, not on the worker %s", id, p.NodeID, l.WorkerNodeIDs[0])
			}
		}
	}
	for node, names := range byNode {
		sort.Strings(names)
		t.Logf("node %s (head %v): %d actors/tasks: %s", node, node == l.HeadNodeID, len(names), strings.Join(uniq(names), ", "))
	}
	if measured == 0 {
		t.Errorf("no RoboticLab actor appeared: the measurements did not run")
	}
	// Two operations, each measuring the four entities of space.yaml.
	if tasks < 8 {
		t.Errorf("%d measurement tasks (_ray_fn_runner) appeared, want one per entity of each operation, 8", tasks)
	}
	if names := byNode[l.HeadNodeID]; len(names) > 0 {
		t.Errorf("work ran on the head node %s: %v", l.HeadNodeID, uniq(names))
	}
}

// checkResults reads the latest operation's measurements with `ado show`,
// through a forward to the metastore's service: the four entities of
// space.yaml, measured by robotic_lab. It returns the measured
// adsorption_plateau_value of each entity.
func checkResults(t *testing.T, l *raylab.Lab, dir string, env []string) map[string]string {
	t.Helper()
	f := startForward(t, l, nil, "-n", l.Namespace, "svc/"+raylab.MySQLService, "0:3306")
	ctx := filepath.Join(dir, ".home", "show-context.yaml")
	ctxYAML := "project: " + raylab.MySQLDatabase + "\nmetadataStore:\n  scheme: mysql+pymysql\n  host: 127.0.0.1\n" +
		"  port: " + strconv.Itoa(f.port) + "\n  database: " + raylab.MySQLDatabase + "\n  user: " + raylab.MySQLUser +
		"\n  password: " + strings.TrimSpace(testfiles.Read(t, l.MySQLPasswordFile)) + "\n  sslVerify: false\n"
	if err := os.WriteFile(ctx, []byte(ctxYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ado := filepath.Join(filepath.Dir(python), "ado")
	stdout, stderr, err := run(t, cmdDeadline, dir, env, ado, "-c", ctx, "show", "measurements", "operation", "--use-latest", "-o", "csv")
	if err != nil {
		t.Fatalf("ado show measurements: %v\n%s\n%s", err, stdout, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(csvPart(stdout))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("ado show measurements: no CSV (%v):\n%s\n%s", err, stdout, stderr)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"experiment_id", "peptide_concentration", "lanthanide_concentration", "adsorption_plateau_value"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("ado show measurements: no column %s in %v", name, rows[0])
		}
	}
	entities := map[string]string{}
	for _, r := range rows[1:] {
		if r[col["experiment_id"]] != "robotic_lab.peptide_mineralization@1.0.0" || r[col["adsorption_plateau_value"]] == "" {
			t.Errorf("unexpected measurement row %v", r)
		}
		entities[r[col["peptide_concentration"]]+"/"+r[col["lanthanide_concentration"]]] = r[col["adsorption_plateau_value"]]
	}
	if len(entities) != 4 {
		t.Errorf("ado show measurements: %d entities, want the 4 of space.yaml:\n%s", len(entities), stdout)
	}
	return entities
}

// csvPart drops ado's INFO lines before the CSV header.
func csvPart(out string) string {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "request_index,") || strings.Contains(line, ",experiment_id,") {
			return strings.Join(lines[i:], "\n")
		}
	}
	return out
}

func uniq(xs []string) []string {
	var out []string
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
