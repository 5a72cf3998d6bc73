// Command rayhead starts one Ray head for a test run, runs a command with
// ADOPIPE_TEST_RAY_ADDRESS pointing at it (and ADOPIPE_TEST_RAY_TEMP_DIR
// at its Ray temp dir), stops the head by its pid and
// exits with the command's status. scripts/with-ray-head builds and runs it.
//
//	rayhead [-num-cpus N] [-keep-logs] -- CMD [ARGS...]
//
// If ADOPIPE_TEST_RAY_ADDRESS is already set, no head is started. If the
// ray CLI (<repo>/.venv/bin/ray, or beside $ADOPIPE_PYTHON) is missing, the
// command runs without a head (real-Ray tests then skip), except with
// CI=true, where rayhead fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
)

func main() {
	os.Exit(run())
}

func run() int {
	numCPUs := flag.Int("num-cpus", 0, "CPUs for the head (0: let Ray detect)")
	keepLogs := flag.Bool("keep-logs", false, "keep Ray's temp dir and the state dir after stopping")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rayhead [-num-cpus N] [-keep-logs] -- CMD [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "rayhead: "+format+"\n", a...) }

	// Catch signals from now on so the head is always stopped.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	if addr := os.Getenv(raytest.EnvAddress); addr != "" {
		logf("using %s=%s; starting no head", raytest.EnvAddress, addr)
		return runCmd(args, nil, sigs)
	}
	bin := raytest.RayBin()
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		if testgate.InCI() {
			logf("ray CLI not found at %s and CI=true: the real tier must not skip (run `make venv`)", bin)
			return 1
		}
		logf("ray CLI not found at %s; running without a Ray head (real-Ray tests will skip)", bin)
		return runCmd(args, nil, sigs)
	}

	stateDir, err := os.MkdirTemp("", "adopipe-rayhead-")
	if err != nil {
		logf("%v", err)
		return 1
	}
	opts := raytest.HeadOptions(bin, stateDir, os.Stderr)
	opts.NumCPUs = *numCPUs
	opts.KeepTempDir = *keepLogs

	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		c   *localcluster.Cluster
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := localcluster.Start(ctx, opts)
		done <- result{c, err}
	}()
	var res result
	select {
	case res = <-done:
	case s := <-sigs:
		logf("%v while starting the Ray head; giving up", s)
		cancel()
		res = <-done
		if res.err == nil {
			stop(res.c, logf)
		}
		return 130
	}
	cancel()
	if res.err != nil {
		logf("starting the Ray head: %v", res.err)
		return 1
	}
	c := res.c
	logf("Ray %s head at %s (pid %d); %s=%s", c.RayVersion, c.Address, c.PID, raytest.EnvAddress, c.Address)

	code := runCmd(args, []string{raytest.EnvAddress + "=" + c.Address, raytest.EnvTempDir + "=" + c.TempDir}, sigs)
	if err := stop(c, logf); err != nil {
		if code == 0 {
			code = 1
		}
	}
	if !*keepLogs {
		os.RemoveAll(stateDir)
	} else {
		logf("logs kept: %s and %s", c.LogPath, c.TempDir)
	}
	return code
}

func stop(c *localcluster.Cluster, logf func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(context.Background(), localcluster.DefaultStopTimeout)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		logf("stopping the Ray head (pid %d): %v", c.PID, err)
		return err
	}
	logf("stopped the Ray head (pid %d)", c.PID)
	return nil
}

// runCmd runs args with extra env, forwarding signals to its process
// group, and returns its
// exit status (128+signal when killed by a signal).
func runCmd(args, env []string, sigs chan os.Signal) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so a forwarded signal reaches everything it
	// started (a shell's children too), not only its leader.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "rayhead: %v\n", err)
		return 127
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if sig, ok := s.(syscall.Signal); ok {
				syscall.Kill(-cmd.Process.Pid, sig)
			} else {
				cmd.Process.Signal(s)
			}
		case err := <-waited:
			if err == nil {
				return 0
			}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ee.ExitCode()
			}
			fmt.Fprintf(os.Stderr, "rayhead: %v\n", err)
			return 1
		}
	}
}
