package main

// Runtime envs on the nodes: Ray keeps one directory per pip or uv env
// under each node's session's runtime_resources/pip and
// runtime_resources/uv, named by the env's hash, so a new directory there
// is a new env. A local head is one node with one session; the lab's head
// and workers each have their own Ray temp dir, so every node's session is
// listed and an env counts once per node that created it.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// envKinds are the runtime_resources subdirectories that hold virtualenvs.
var envKinds = []string{"pip", "uv"}

// listEnvs returns the env directories under each session's
// runtime_resources, as paths, by kind.
func listEnvs(sessions []string) (map[string][]string, error) {
	envs := map[string][]string{}
	for _, session := range sessions {
		for _, kind := range envKinds {
			dir := filepath.Join(session, "runtime_resources", kind)
			ents, err := os.ReadDir(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				if e.IsDir() {
					envs[kind] = append(envs[kind], filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	return envs, nil
}

// newEnvs returns the paths in after that are not in before, by kind.
func newEnvs(before, after map[string][]string) map[string][]string {
	out := map[string][]string{}
	for kind, paths := range after {
		old := map[string]bool{}
		for _, p := range before[kind] {
			old[p] = true
		}
		for _, p := range paths {
			if !old[p] {
				out[kind] = append(out[kind], p)
			}
		}
	}
	return out
}

// diskUsage is the disk the trees take, in bytes (allocated blocks, each
// hard-linked inode counted once, like one `du -s` over all of them).
func diskUsage(roots []string) (int64, error) {
	type ino struct{ dev, ino uint64 }
	seen := map[ino]bool{}
	var total int64
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // Ray may delete an env while we count
				}
				return err
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				total += info.Size()
				return nil
			}
			k := ino{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
			total += st.Blocks * 512
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// peerbench envdisk DIR...: the disk the given trees take, in bytes.
func runEnvDisk(args []string) error {
	n, err := diskUsage(args)
	if err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}
