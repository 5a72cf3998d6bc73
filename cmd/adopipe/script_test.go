package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/adopipe/adopipe/internal/raytest"
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
			// Isolate everything a run could read or write outside $WORK.
			work := env.WorkDir
			env.Setenv("HOME", filepath.Join(work, ".home"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(work, ".cache"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, ".config"))
			env.Setenv("NO_COLOR", "1")
			return os.MkdirAll(filepath.Join(work, ".home"), 0o755)
		},
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
		},
	})
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
