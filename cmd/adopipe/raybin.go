package main

import (
	"os"
	"os/exec"
	"path/filepath"
)

// findRay locates the ray executable for local clusters: $ADOPIPE_RAY, ray
// on PATH, or the ray beside the manifest's build Python (a virtualenv).
func findRay(buildPython string) string {
	if p := os.Getenv("ADOPIPE_RAY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ray"); err == nil {
		return p
	}
	if py, err := exec.LookPath(buildPython); err == nil {
		cand := filepath.Join(filepath.Dir(py), "ray")
		if _, err := os.Stat(cand); err == nil {
			return cand
		}
	}
	return ""
}
