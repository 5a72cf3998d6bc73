package raylab

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// hideAndKeep runs inside the cluster's own mount namespace: it mounts an
// empty tmpfs over every hide path (the laptop's checkout, temp dirs,
// HOME), then binds every keep path (the cluster's Python environment,
// the lab's own directory) back at the same place, so absolute paths in
// the venv (script shebangs, pyvenv.cfg) stay true. A keep path is opened
// before anything is hidden and bound from that handle, since its path no
// longer leads to it afterwards.
//
// Paths that do not exist are skipped. A keep path must not contain a
// hide path (it would un-hide it).
func hideAndKeep(hide, keep []string) error {
	hide = outermost(existing(hide))
	keep = existing(keep)
	for _, k := range keep {
		for _, h := range hide {
			if within(k, h) {
				return fmt.Errorf("keep path %s contains hidden path %s", k, h)
			}
		}
	}
	// Nothing done here may reach the host's mount table.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	handles := make([]*os.File, len(keep))
	for i, k := range keep {
		f, err := os.OpenFile(k, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		handles[i] = f
	}
	for _, h := range hide {
		if err := syscall.Mount("tmpfs", h, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755,size=1g"); err != nil {
			return fmt.Errorf("hiding %s under a tmpfs: %w", h, err)
		}
	}
	for i, k := range keep {
		if err := makeMountPoint(k, handles[i]); err != nil {
			return err
		}
		src := fmt.Sprintf("/proc/self/fd/%d", handles[i].Fd())
		if err := syscall.Mount(src, k, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("binding %s back: %w", k, err)
		}
	}
	return nil
}

// makeMountPoint creates k (a directory or an empty file, like the kept
// thing) when a tmpfs hid it.
func makeMountPoint(k string, f *os.File) error {
	st, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return err
	}
	if st.IsDir() {
		return os.MkdirAll(k, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(k), 0o755); err != nil {
		return err
	}
	mp, err := os.OpenFile(k, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	return mp.Close()
}

// existing returns the absolute, symlink-free forms of the paths that
// exist.
func existing(paths []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		if p == "" {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		real, err = filepath.Abs(real)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		out = append(out, real)
	}
	return out
}

// outermost drops paths inside another path of the list: hiding the outer
// one hides them too.
func outermost(paths []string) []string {
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) < len(paths[j]) })
	var out []string
	for _, p := range paths {
		inside := false
		for _, o := range out {
			if within(o, p) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, p)
		}
	}
	return out
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}
