package watch

import (
	"fmt"
	"os"
	"strings"
)

// limitAdvice names the inotify limit that was hit and how to raise it.
func limitAdvice(err error) string {
	name, key := "max_user_watches", "fs.inotify.max_user_watches"
	if strings.Contains(err.Error(), "too many open files") {
		name, key = "max_user_instances", "fs.inotify.max_user_instances"
	}
	cur := "?"
	if b, e := os.ReadFile("/proc/sys/fs/inotify/" + name); e == nil {
		cur = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("the inotify watch limit is reached (%s = %s): raise it with `sudo sysctl %s=524288` (add it to /etc/sysctl.conf to keep it)", key, cur, key)
}

func watchErr(err error) error {
	return fmt.Errorf("cannot watch files: %s", limitAdvice(err))
}
