package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/adopipe/adopipe/internal/buildinfo"
	"github.com/spf13/cobra"
)

// Exit codes, as Terraform uses them.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan --detailed-exitcode: changes present
	exitFormat  = 3 // fmt --check: files need formatting
)

// exitCodeError ends a command with a given exit code after the command
// has already told the user why.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the adopipe command line and returns the process exit code.
func Main() int {
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	root := app.rootCommand()
	root.SetArgs(logsFollowShorthand(args))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	app.printError(err)
	return exitError
}

// app carries what every command shares: streams and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	global         globalFlags
	outMu          sync.Mutex // serialises lines written from goroutines
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "adopipe",
		Short: "Build, stage and submit ado operations to Ray clusters from ado.hcl",
		Long: `adopipe builds the wheels of ado and its plugins, stages the job directory and
submits ado operations to Ray clusters, all from one declarative manifest, ado.hcl.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           buildinfo.Read().String(),
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.global.apply() },
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("{{.Version}}")
	a.global.register(root)
	root.AddCommand(a.validateCommand(), a.fmtCommand(), a.planCommand(), a.applyCommand(), a.stageCommand(),
		a.statusCommand(), a.logsCommand(), a.stopCommand(), a.downCommand(), a.watchCommand(), a.initCommand(),
		a.versionCommand())
	return root
}

// logsFollowShorthand lets `adopipe logs -f OP` mean --follow, as in tail
// and kubectl: -f is the global --file everywhere else, so a -f after the
// logs command is rewritten before cobra sees it (-f FILE before the
// command still selects the manifest).
func logsFollowShorthand(args []string) []string {
	withValue := map[string]bool{"-f": true, "--file": true, "-C": true, "--chdir": true, "--var": true, "--var-file": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case withValue[a]:
			i++ // skip the flag's value
		case strings.HasPrefix(a, "-"):
		case a == "logs":
			out := append([]string{}, args...)
			for j := i + 1; j < len(out); j++ {
				if out[j] == "-f" {
					out[j] = "--follow"
				}
			}
			return out
		default:
			return args // another command
		}
	}
	return args
}
