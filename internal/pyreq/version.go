// Package pyreq reads Python requirement strings (PEP 508) and compares
// versions (PEP 440), as far as adopipe needs: to tell whether the Ray a
// job would install matches the Ray a cluster runs.
package pyreq

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed PEP 440 version.
type Version struct {
	Epoch   int
	Release []int
	// Pre is the pre-release phase ("a", "b", "rc") and number; "" for none.
	PrePhase string
	PreNum   int
	Post     int // -1 for none
	Dev      int // -1 for none
	Local    string
	raw      string
}

var versionRE = regexp.MustCompile(`^v?(?:(\d+)!)?(\d+(?:\.\d+)*)` +
	`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?` +
	`(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?` +
	`(?:[-_.]?dev[-_.]?(\d*))?` +
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// ParseVersion parses a PEP 440 version, normalising spellings
// ("2.60.0rc1", "2.60.0-rc.1", "v2.60").
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a PEP 440 version", s)
	}
	v := Version{Post: -1, Dev: -1, raw: s}
	if m[1] != "" {
		v.Epoch, _ = strconv.Atoi(m[1])
	}
	for _, p := range strings.Split(m[2], ".") {
		n, _ := strconv.Atoi(p)
		v.Release = append(v.Release, n)
	}
	if m[3] != "" {
		v.PrePhase = map[string]string{"a": "a", "alpha": "a", "b": "b", "beta": "b", "c": "rc", "rc": "rc", "pre": "rc", "preview": "rc"}[m[3]]
		v.PreNum = atoi0(m[4])
	}
	switch {
	case m[5] != "":
		v.Post = atoi0(m[5])
	case m[6] != "" || strings.Contains(m[0], "post") || strings.Contains(m[0], "rev"):
		v.Post = atoi0(m[6])
	}
	if strings.Contains(m[0], "dev") {
		v.Dev = atoi0(m[7])
	}
	v.Local = m[8]
	return v, nil
}

func atoi0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (v Version) String() string { return v.raw }

// IsPrerelease reports a pre-release or development version.
func (v Version) IsPrerelease() bool { return v.PrePhase != "" || v.Dev >= 0 }

// Compare orders two versions as PEP 440 does, ignoring the local part.
func (v Version) Compare(w Version) int {
	if c := cmpInt(v.Epoch, w.Epoch); c != 0 {
		return c
	}
	if c := cmpRelease(v.Release, w.Release); c != 0 {
		return c
	}
	if c := cmpInt(v.preKey(), w.preKey()); c != 0 {
		return c
	}
	if v.PrePhase != "" && v.PrePhase == w.PrePhase {
		if c := cmpInt(v.PreNum, w.PreNum); c != 0 {
			return c
		}
	}
	if c := cmpInt(v.Post, w.Post); c != 0 {
		return c
	}
	return cmpInt(devKey(v.Dev), devKey(w.Dev))
}

// preKey orders the phases: a dev release of the final version sorts
// before its pre-releases, which sort before the final release.
func (v Version) preKey() int {
	switch {
	case v.PrePhase == "" && v.Post < 0 && v.Dev >= 0:
		return -1
	case v.PrePhase == "a":
		return 0
	case v.PrePhase == "b":
		return 1
	case v.PrePhase == "rc":
		return 2
	}
	return 3
}

// devKey puts a dev release before the same version without one.
func devKey(dev int) int {
	if dev < 0 {
		return int(^uint(0) >> 1)
	}
	return dev
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpRelease compares release segments, padding the shorter with zeros.
func cmpRelease(a, b []int) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	return 0
}
