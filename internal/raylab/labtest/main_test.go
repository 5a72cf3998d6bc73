// Package labtest is the lab tier of adopipe's real tests: adopipe against
// a remote-shaped Ray cluster (internal/raylab) that one TestMain starts
// for the whole package and stops by pid at the end. It needs Linux, root,
// iproute2 and haproxy (`make lab-deps`), the project's .venv (`make
// venv`) and the ado checkout (`make ado-checkout`). Without them the
// tests skip, except under CI=true, where they fail. Under -short they
// skip. The tests share the lab and one remote workspace (its wheels
// build once): those that edit the workspace or restart the head are in
// workflow_test.go, which Go runs after the others (files in name order).
//
//	go test ./internal/raylab/labtest/ -v -timeout 40m
package labtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/raylab"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
)

// Deadlines: ceilings, never waits. A job of the remote example takes
// about 4 minutes on a busy 2-core machine.
const (
	applyDeadline = 15 * time.Minute
	cmdDeadline   = 3 * time.Minute
	jobDeadline   = 5 * time.Minute
)

var (
	lab        *raylab.Lab
	labErr     error
	adopipeBin string
	raylabBin  string
	python     string
	pkgDir     string // removed when the package's tests end
	// userToken is the state of ~/.ray/auth_token before the lab started:
	// the lab must leave it as it was.
	userToken fileState
	// reportOnce gives the lab's start error to the first test only.
	reportOnce sync.Once
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(runWithLab(m))
}

func runWithLab(m *testing.M) int {
	dir, err := os.MkdirTemp("", "adopipe-labtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pkgDir = dir
	userToken = stateOf(userTokenPath())
	lab, labErr = startLab(dir)
	code := m.Run()
	if lab != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := lab.Stop(ctx)
		if err == nil {
			err = leftovers(lab)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "labtest: stopping the lab:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// leftovers names what a stopped lab left behind: its network namespace,
// its /etc/netns files, a process it started, its directory.
func leftovers(l *raylab.Lab) error {
	var left []string
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), l.Netns) {
		left = append(left, "network namespace "+l.Netns)
	}
	if fileExists(filepath.Join("/etc/netns", l.Netns)) {
		left = append(left, "/etc/netns/"+l.Netns)
	}
	for _, pid := range []int{l.ClusterPID, l.HAProxyPID} {
		if fileExists(fmt.Sprintf("/proc/%d/cmdline", pid)) {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), l.Dir) {
				left = append(left, fmt.Sprintf("process %d", pid))
			}
		}
	}
	if os.Getenv("ADOPIPE_LAB_KEEP") == "" && fileExists(l.Dir) {
		left = append(left, l.Dir)
	}
	if len(left) > 0 {
		return fmt.Errorf("the lab left behind: %s", strings.Join(left, ", "))
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startLab builds adopipe, raylab and labmysql into dir and starts a lab
// running the project's .venv, with the checkout (and the checkout the
// .venv lives in, when it is a symlink) hidden from the cluster.
func startLab(dir string) (*raylab.Lab, error) {
	root := raytest.RepoRoot()
	if root == "" {
		return nil, errors.New("not inside the adopipe repository")
	}
	python = raytest.Python()
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%w: python not found at %s (run `make venv`)", raylab.ErrMissing, python)
	}
	venv, err := filepath.EvalSymlinks(filepath.Dir(filepath.Dir(python)))
	if err != nil {
		return nil, err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: go not on PATH", raylab.ErrMissing)
	}
	adopipeBin = filepath.Join(dir, "adopipe")
	raylabBin = filepath.Join(dir, "raylab")
	labmysql := filepath.Join(dir, "labmysql")
	for _, b := range []struct{ dir, out, pkg string }{
		{root, adopipeBin, "./cmd/adopipe"},
		{root, raylabBin, "./internal/raylab/cmd/raylab"},
		{filepath.Join(root, "internal", "raylab", "labmysql"), labmysql, "."},
	} {
		cmd := exec.Command(gobin, "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return raylab.Start(ctx, raylab.Options{
		RaylabBin:         raylabBin,
		LabMySQLBin:       labmysql,
		Venv:              venv,
		Hide:              raylab.CheckoutPaths(root, venv),
		Workers:           1,
		WorkerCPUs:        2,
		ObjectStoreMemory: 256 << 20,
		DieWithParent:     true,
		KeepDir:           os.Getenv("ADOPIPE_LAB_KEEP") != "",
		Log:               os.Stderr,
	})
}

// needLab returns the package's lab, or skips the test (fails it under
// CI=true) when this machine cannot run one.
func needLab(t *testing.T) *raylab.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("lab tier: needs root, namespaces, Ray and Python builds")
	}
	if labErr != nil {
		if errors.Is(labErr, raylab.ErrMissing) {
			testgate.Missing(t, "%v", labErr)
		}
		reportOnce.Do(func() { t.Fatalf("the lab did not start: %v", labErr) })
		t.Fatal("the lab did not start (the first failing test says why)")
	}
	return lab
}

func userTokenPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ray", "auth_token")
}

// fileState is what a test compares to see a file untouched.
type fileState struct {
	exists  bool
	modTime time.Time
	size    int64
}

func stateOf(path string) fileState {
	st, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	return fileState{true, st.ModTime(), st.Size()}
}
