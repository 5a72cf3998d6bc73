//go:build !linux

package watch

import "fmt"

func limitAdvice(err error) string {
	return fmt.Sprintf("the file watch limit is reached (%v): raise the open files limit (ulimit -n)", err)
}

func watchErr(err error) error { return fmt.Errorf("cannot watch files: %w", err) }
