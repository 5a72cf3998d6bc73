package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"adopipe": func() { os.Exit(Main()) },
	})
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
	})
}
