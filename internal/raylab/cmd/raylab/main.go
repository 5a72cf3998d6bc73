// Command raylab runs the adopipe lab: a remote-shaped Ray cluster on this
// machine (see package internal/raylab). As root:
//
//	raylab up [flags] [-- CMD ARGS...]   start a lab; run CMD in it, or wait for Ctrl-C
//	raylab down DIR                       stop the lab recorded in DIR
//	raylab restart-head DIR               restart its head: the cluster forgets its jobs
//
// `up` prints the lab's directory and the environment that points
// adopipe at it. With CMD, CMD runs with that environment and the lab is
// stopped when it ends; raylab exits with CMD's status.
//
// Used by the lab itself:
//
//	raylab cluster DIR                    the supervisor inside the namespace
//	raylab node DIR NAME -- CMD...        one node, in its own mount namespace
//	raylab oc -lab DIR port-forward ...   the stand-in oc/kubectl
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/internal/raylab"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "up":
		os.Exit(up(os.Args[2:]))
	case "down":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(down(os.Args[2]))
	case "restart-head":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(restartHead(os.Args[2]))
	case "cluster":
		if len(os.Args) != 3 {
			usage()
		}
		if err := raylab.RunCluster(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "raylab cluster:", err)
			os.Exit(1)
		}
	case "node":
		if len(os.Args) < 6 || os.Args[4] != "--" {
			usage()
		}
		if err := raylab.RunNode(os.Args[2], os.Args[3], os.Args[5:]); err != nil {
			fmt.Fprintln(os.Stderr, "raylab node:", err)
			os.Exit(1)
		}
	case "oc":
		if len(os.Args) < 4 || os.Args[2] != "-lab" {
			usage()
		}
		os.Exit(raylab.PortForward(os.Args[3], os.Args[4:], os.Stdout, os.Stderr))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: raylab up [flags] [-- CMD ARGS...] | raylab down DIR | raylab restart-head DIR")
	os.Exit(2)
}

// repoPath is a path inside the adopipe checkout raylab runs from.
func repoPath(elem ...string) string {
	wd, _ := os.Getwd()
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "internal", "raylab", "labmysql", "go.mod")); err == nil {
			return filepath.Join(append([]string{dir}, elem...)...)
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(append([]string{wd}, elem...)...)
		}
	}
}

func up(args []string) int {
	fs := flag.NewFlagSet("raylab up", flag.ExitOnError)
	var opts raylab.Options
	var hide multiFlag
	fs.StringVar(&opts.Dir, "dir", "", "the lab's directory (default: a new one under /tmp)")
	fs.StringVar(&opts.Venv, "venv", repoPath(".venv"), "Python environment with ray, run by the cluster")
	fs.StringVar(&opts.LabMySQLBin, "labmysql", repoPath(".cache", "lab", "labmysql"), "the labmysql command (`make lab`)")
	fs.Var(&hide, "hide", "a path to hide from the cluster (repeatable; HOME and /tmp always are)")
	fs.IntVar(&opts.Workers, "workers", 1, "worker nodes")
	fs.IntVar(&opts.WorkerCPUs, "worker-cpus", 2, "CPUs per worker node")
	fs.DurationVar(&opts.OCIdleTimeout, "oc-idle-timeout", 0, "the stand-in oc exits after this long without traffic (0: never)")
	fs.BoolVar(&opts.KeepDir, "keep", false, "keep the lab's directory (logs) after stopping")
	fs.Parse(args)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "raylab:", err)
		return 1
	}
	opts.RaylabBin = exe
	if venv, err := filepath.EvalSymlinks(opts.Venv); err == nil {
		opts.Venv = venv
	}
	opts.Hide = append(hide, raylab.CheckoutPaths(repoPath(), opts.Venv)...)
	opts.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lab, err := raylab.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raylab:", err)
		if errors.Is(err, raylab.ErrMissing) {
			return 3
		}
		return 1
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := lab.Stop(stopCtx); err != nil {
			fmt.Fprintln(os.Stderr, "raylab: stopping the lab:", err)
		}
	}()
	env := labEnv(lab)
	fmt.Printf("lab: %s\n", lab.Dir)
	for _, kv := range env {
		fmt.Printf("export %s\n", kv)
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "raylab: the lab runs until Ctrl-C")
		<-ctx.Done()
		return 0
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "raylab:", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		cmd.Process.Signal(syscall.SIGTERM)
	}()
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// labEnv points adopipe (and ray, ado) at the lab.
func labEnv(lab *raylab.Lab) []string {
	return []string{
		"ADOPIPE_LAB_DIR=" + lab.Dir,
		"PATH=" + filepath.Dir(lab.OC) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"RAY_AUTH_TOKEN_PATH=" + lab.TokenFile,
		"ADOPIPE_LAB_ROUTE=" + lab.RouteURL,
		"ADOPIPE_LAB_CA_FILE=" + lab.CAFile,
		"ADOPIPE_LAB_NAMESPACE=" + lab.Namespace,
	}
}

func down(dir string) int {
	lab, err := raylab.Attach(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raylab down:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := lab.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "raylab down:", err)
		return 1
	}
	return 0
}

// restartHead restarts the head of the lab recorded in dir (and with it
// the workers) and waits until every node is back.
func restartHead(dir string) int {
	lab, err := raylab.Attach(dir)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err = lab.RestartHead(ctx); err == nil {
			err = lab.WaitReady(ctx)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "raylab restart-head:", err)
		return 1
	}
	fmt.Printf("raylab: head restarted: head node %s, workers %s\n", lab.HeadNodeID, strings.Join(lab.WorkerNodeIDs, ", "))
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
