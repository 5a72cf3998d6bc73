package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/internal/fakeray"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(stopHeadAfter{m}, map[string]func(){
		"adopipe": func() { os.Exit(Main()) },
	})
}

// stopHeadAfter stops the Ray head the real tier started (by pid) once the
// tests have run, before testscript.Main exits.
type stopHeadAfter struct{ m *testing.M }

func (s stopHeadAfter) Run() int {
	code := s.m.Run()
	if err := raytest.StopHead(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the test Ray head: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// TestScripts runs testdata/scripts/*.txtar against the real binary.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "scripts"),
		Setup: func(env *testscript.Env) error {
			if err := isolate(env); err != nil {
				return err
			}
			// A fake Jobs API per script, for commands that talk to Ray
			// without running jobs (lock.txtar).
			fake := fakeray.Start()
			fake.Logs = "hello from the fake\n"
			env.Defer(fake.Close)
			env.Values[fakeKey{}] = fake
			env.Setenv("FAKE_RAY", fake.URL)
			return nil
		},
		RequireExplicitExec: true,
		Cmds: scriptCmds(map[string]scriptCmd{
			"fakestatus":  cmdFakeStatus,
			"holdlock":    cmdHoldLock,
			"releaselock": cmdReleaseLock,
		}),
	})
}

// isolate points HOME and the XDG cache and config directories into $WORK
// and turns colour off: a script reads and writes nothing outside $WORK.
func isolate(env *testscript.Env) error {
	work := env.WorkDir
	env.Setenv("HOME", filepath.Join(work, ".home"))
	env.Setenv("XDG_CACHE_HOME", filepath.Join(work, ".cache"))
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, ".config"))
	env.Setenv("NO_COLOR", "1")
	return os.MkdirAll(filepath.Join(work, ".home"), 0o755)
}

type scriptCmd = func(ts *testscript.TestScript, neg bool, args []string)

// scriptCmds returns the commands both script suites use (processes and
// exit codes) and extra.
func scriptCmds(extra map[string]scriptCmd) map[string]scriptCmd {
	cmds := map[string]scriptCmd{
		"exitcode": cmdExitCode,
		"start":    cmdStart,
		"waitfor":  cmdWaitFor,
		"signal":   cmdSignal,
		"waitexit": cmdWaitExit,
	}
	maps.Copy(cmds, extra)
	return cmds
}

type fakeKey struct{}

// fakestatus [ID] STATUS
//
// Sets the status the fake Jobs API answers for a job, or for all jobs.
func cmdFakeStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: fakestatus [ID] STATUS")
	}
	fake := ts.Value(fakeKey{}).(*fakeray.Server)
	if len(args) == 1 {
		fake.SetStatus("", args[0])
	} else {
		fake.SetStatus(args[0], args[1])
	}
}

var (
	heldMu sync.Mutex
	held   = map[*testscript.TestScript]func() error{}
)

// holdlock takes the state lock of .adopipe/state.json the way another
// adopipe would, until releaselock or the end of the script.
func cmdHoldLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: holdlock")
	}
	unlock, err := state.Lock(context.Background(), ts.MkAbs(state.DefaultPath), 0, "holdlock")
	ts.Check(err)
	heldMu.Lock()
	defer heldMu.Unlock()
	held[ts] = unlock
	ts.Defer(func() { unlock() })
}

func cmdReleaseLock(ts *testscript.TestScript, neg bool, args []string) {
	heldMu.Lock()
	defer heldMu.Unlock()
	if neg || len(args) != 0 || held[ts] == nil {
		ts.Fatalf("usage: releaselock (after holdlock)")
	}
	ts.Check(held[ts]())
	delete(held, ts)
}

// cmdExitCode runs a program and checks its exact exit status:
// exitcode 2 adopipe plan --detailed-exitcode
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
