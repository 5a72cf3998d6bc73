//go:build !linux

package raylab

import (
	"context"
	"fmt"
	"io"
)

var errNotLinux = fmt.Errorf("%w: it needs Linux network and mount namespaces", ErrMissing)

// Start fails: the lab needs Linux.
func Start(context.Context, Options) (*Lab, error) { return nil, errNotLinux }

// Attach fails: the lab needs Linux.
func Attach(string) (*Lab, error) { return nil, errNotLinux }

// Stop fails: the lab needs Linux.
func (l *Lab) Stop(context.Context) error { return errNotLinux }

// RunCluster fails: the lab needs Linux.
func RunCluster(string) error { return errNotLinux }

// PortForward fails: the lab needs Linux.
func PortForward(_ string, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "error:", errNotLinux)
	return 1
}

// RunNode fails: the lab needs Linux.
func RunNode(string, string, []string) error { return errNotLinux }

// RestartHead fails: the lab needs Linux.
func (l *Lab) RestartHead(context.Context) error { return errNotLinux }

// WaitReady fails: the lab needs Linux.
func (l *Lab) WaitReady(context.Context) error { return errNotLinux }
