//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close(); master.Close() })
	return master, slave
}

// TestInitAsksOnATerminal: with two contexts and a terminal, init lists
// them and takes the typed answer, re-asking after one that is not a choice.
func TestInitAsksOnATerminal(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"a.yaml":  "project: one\nmetadataStore: {scheme: mysql+pymysql, host: db}\n",
		"b.yaml":  "project: two\nmetadataStore: {scheme: mysql+pymysql, host: db}\n",
		"op.yaml": "spaces: [s]\noperation: {module: {operatorName: random_walk}}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	master, slave := openPTY(t)
	// Typed ahead: the terminal holds the lines until init reads them.
	if _, err := master.Write([]byte("7\n2\n")); err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&shown, master); close(done) }()

	var stdout bytes.Buffer
	code := run([]string{"-f", filepath.Join(dir, "ado.hcl"), "init"}, slave, &stdout, slave)
	slave.Close() // the master then reads what is left, then EIO
	<-done
	if code != 0 {
		t.Fatalf("init exited %d; terminal:\n%s", code, shown.String())
	}
	for _, want := range []string{"Found 2 ado contexts", "1) a.yaml (project one, mysql+pymysql)", "2) b.yaml (project two", `"7" is not one of the choices`} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("terminal lacks %q:\n%s", want, shown.String())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "ado.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `context   = "b.yaml"`) {
		t.Errorf("the answer 2 did not choose b.yaml:\n%s", b)
	}
}
