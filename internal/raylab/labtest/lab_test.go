package labtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/adopipe/adopipe/internal/raylab"
	"github.com/adopipe/adopipe/internal/raytest"
)

func nonce() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// The cluster sees none of the laptop's files: a job on the head and one
// on a worker look for the checkout, the ado checkout, a test temp dir and
// a file in HOME and find none, while the Python environment the cluster
// runs is there. Each node has its own /tmp/ray.
func TestLabHidesLaptopPaths(t *testing.T) {
	l := needLab(t)
	marker := filepath.Join(t.TempDir(), "marker")
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	homeMarker := filepath.Join(home, ".adopipe-labtest-"+nonce())
	for _, f := range []string{marker, homeMarker} {
		if err := os.WriteFile(f, []byte("laptop"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Remove(homeMarker) })
	venv, err := filepath.EvalSymlinks(filepath.Dir(filepath.Dir(python)))
	if err != nil {
		t.Fatal(err)
	}
	laptop := []string{
		filepath.Join(raytest.RepoRoot(), "go.mod"),
		filepath.Join(raytest.RepoRoot(), ".cache", "ado-checkout", "pyproject.toml"),
		marker,
		homeMarker,
	}
	// Each line the job prints starts with what a test below looks for;
	// Ray also echoes the entrypoint, so the checks match whole lines.
	script := "for p in " + strings.Join(laptop, " ") + `; do if test -e "$p"; then echo "VISIBLE $p"; else echo "hidden $p"; fi; done; ` +
		filepath.Join(venv, "bin", "python") + ` -c "import ray; print('venv', 'ok')"; ` +
		`ls -d /tmp/ray/session_* >/dev/null && echo "own" "ray temp dir"`
	want := []string{"venv ok", "own ray temp dir"}
	for _, p := range laptop {
		want = append(want, "hidden "+p)
	}

	head := "labtest-head-" + nonce()
	worker := "labtest-worker-" + nonce()
	for _, job := range []map[string]any{
		// No entrypoint resources: Ray runs the driver on the head.
		{"entrypoint": script, "submission_id": head},
		// A CPU for the entrypoint: only the worker has one.
		{"entrypoint": script, "submission_id": worker, "entrypoint_num_cpus": 1},
	} {
		if code := api(t, l, http.MethodPost, "/api/jobs/", labToken(t, l), job, nil); code != http.StatusOK {
			t.Fatalf("submitting %s: HTTP %d", job["submission_id"], code)
		}
	}
	for id, wantNode := range map[string]string{head: l.HeadNodeID, worker: l.WorkerNodeIDs[0]} {
		j := waitJob(t, l, id)
		logs := jobLogs(t, l, id)
		t.Logf("job %s ran on node %s:\n%s", id, j.DriverNodeID, logs)
		if j.Status != "SUCCEEDED" {
			t.Errorf("job %s: %s %s", id, j.Status, j.Message)
		}
		if j.DriverNodeID != wantNode {
			t.Errorf("job %s ran on node %s, want %s", id, j.DriverNodeID, wantNode)
		}
		lines := map[string]bool{}
		for _, line := range strings.Split(logs, "\n") {
			lines[strings.TrimSpace(line)] = true
		}
		for _, w := range want {
			if !lines[w] {
				t.Errorf("job %s: no line %q in its log", id, w)
			}
		}
	}
}

// Token authentication is on: no token or a wrong one is refused, the
// lab's token is accepted; the user's ~/.ray/auth_token is left as it was.
func TestLabToken(t *testing.T) {
	l := needLab(t)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "not-the-token", http.StatusForbidden},
		{"lab", labToken(t, l), http.StatusOK},
	} {
		if got := api(t, l, http.MethodGet, "/api/jobs/", tc.token, nil, nil); got != tc.want {
			t.Errorf("token %s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := stateOf(userTokenPath()); got != userToken {
		t.Errorf("~/.ray/auth_token changed while the lab ran: before %+v, now %+v", userToken, got)
	}
	if st, err := os.Stat(l.TokenFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file %s: %v, mode %v; want 0600", l.TokenFile, err, st.Mode().Perm())
	}
}

// The stand-in oc prints what oc prints, forwards into the namespace and
// exits as oc does when idle; it refuses what oc refuses.
func TestLabForwarder(t *testing.T) {
	l := needLab(t)
	f := startForward(t, l, []string{raylab.EnvOCIdleTimeout + "=3s"},
		"--namespace", l.Namespace, "svc/"+raylab.HeadService, "0:8265")
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(f.port)+"/api/version", nil)
	req.Header.Set("Authorization", "Bearer "+labToken(t, l))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/version through the forwarder: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/version through the forwarder: %s", resp.Status)
	}
	select {
	case <-f.done:
	case <-time.After(time.Minute):
		t.Fatal("the forwarder did not exit after 3s idle (waited a minute)")
	}
	if f.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(f.errors(), "lost connection to pod") {
		t.Errorf("idle exit: status %d, stderr %q; want 1 and lost connection to pod", f.cmd.ProcessState.ExitCode(), f.errors())
	}
	if want := "Handling connection for " + strconv.Itoa(f.port); !strings.Contains(f.output(), want) {
		t.Errorf("stdout %q lacks %q", f.output(), want)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"port-forward", "-n", l.Namespace, "svc/nope", "8265"}, `services "nope" not found`},
		{[]string{"port-forward", "-n", l.Namespace, "svc/" + raylab.HeadService, "1234"}, "does not have a service port 1234"},
		{[]string{"port-forward", "-n", l.Namespace, "pod/x", "8265"}, "services only"},
		{[]string{"get", "pods"}, "only knows port-forward"},
	} {
		_, stderr, err := run(t, cmdDeadline, "", os.Environ(), l.OC, tc.args...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("oc %s: err %v, stderr %q; want an error with %q", strings.Join(tc.args, " "), err, stderr, tc.want)
		}
	}
}

// The route lets plain HTTPS through but no websocket upgrade, which the
// forwarder does pass: log tailing through the route must poll.
func TestLabRouteRefusesWebsocket(t *testing.T) {
	l := needLab(t)
	id := "labtest-ws-" + nonce()
	job := map[string]any{"entrypoint": "echo websocket-test", "submission_id": id}
	if code := api(t, l, http.MethodPost, "/api/jobs/", labToken(t, l), job, nil); code != http.StatusOK {
		t.Fatalf("submitting: HTTP %d", code)
	}
	waitJob(t, l, id)
	header := http.Header{"Authorization": {"Bearer " + labToken(t, l)}}
	hc, err := l.RouteClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := "/api/jobs/" + id + "/logs/tail"

	conn, resp, err := websocket.Dial(ctx, "wss://"+strings.TrimPrefix(l.RouteURL, "https://")+path,
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: header})
	if err == nil {
		conn.CloseNow()
		t.Fatal("the route let a websocket upgrade through")
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.Logf("websocket through the route: HTTP %d: %v", status, err)
	if status == http.StatusSwitchingProtocols || status == 0 {
		t.Errorf("websocket through the route: HTTP %d, want a refusal", status)
	}

	f := startForward(t, l, nil, "-n", l.Namespace, "svc/"+raylab.HeadService, "0:8265")
	conn, _, err = websocket.Dial(ctx, "ws://127.0.0.1:"+strconv.Itoa(f.port)+path, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("websocket through the forwarder: %v", err)
	}
	_, msg, err := conn.Read(ctx)
	conn.CloseNow()
	if err != nil || !strings.Contains(string(msg), "websocket-test") {
		t.Errorf("websocket through the forwarder: %q, %v; want the job's log", msg, err)
	}
}
