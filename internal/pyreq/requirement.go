package pyreq

import (
	"fmt"
	"regexp"
	"strings"
)

// Requirement is one PEP 508 requirement without URL forms: a name, its
// extras, a specifier set and an environment marker.
type Requirement struct {
	Name       string // normalised: lower case, runs of -_. as "-"
	Extras     []string
	Specifiers []Specifier
	Marker     string
	Raw        string
}

// Specifier is one clause such as ">=2.9" or "==2.60.*".
type Specifier struct {
	Op      string
	Version string
}

var (
	reqRE  = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$`)
	specRE = regexp.MustCompile(`^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$`)
	normRE = regexp.MustCompile(`[-_.]+`)
)

// NormalizeName is PEP 503's name normalisation.
func NormalizeName(name string) string {
	return normRE.ReplaceAllString(strings.ToLower(name), "-")
}

// ParseRequirement parses "ray[serve] (>=2.9,<3); python_version >= '3.9'".
// A URL requirement ("name @ url") is refused: its version is unknown.
func ParseRequirement(s string) (Requirement, error) {
	r := Requirement{Raw: s}
	body := s
	if i := strings.Index(body, ";"); i >= 0 {
		r.Marker = strings.TrimSpace(body[i+1:])
		body = body[:i]
	}
	m := reqRE.FindStringSubmatch(strings.TrimSpace(body))
	if m == nil {
		return r, fmt.Errorf("%q is not a requirement", s)
	}
	r.Name = NormalizeName(m[1])
	for _, e := range strings.Split(m[2], ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Extras = append(r.Extras, NormalizeName(e))
		}
	}
	rest := strings.TrimSpace(m[3])
	if strings.HasPrefix(rest, "@") {
		return r, fmt.Errorf("%q names a URL; its version cannot be checked", s)
	}
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
	for _, clause := range strings.Split(rest, ",") {
		if clause = strings.TrimSpace(clause); clause == "" {
			continue
		}
		sm := specRE.FindStringSubmatch(clause)
		if sm == nil {
			return r, fmt.Errorf("%q: bad version clause %q", s, clause)
		}
		r.Specifiers = append(r.Specifiers, Specifier{Op: sm[1], Version: sm[2]})
	}
	return r, nil
}

// OnlyForExtra reports whether the marker limits the requirement to an
// extra of the package that declares it ("extra == 'tune'"): pip installs
// it only when that extra is asked for.
func (r Requirement) OnlyForExtra() bool {
	return regexp.MustCompile(`\bextra\s*==`).MatchString(r.Marker)
}

// Allows reports whether version v satisfies every specifier. A
// pre-release is allowed only when a specifier names one, as pip does.
func (r Requirement) Allows(v Version) (bool, error) {
	for _, s := range r.Specifiers {
		ok, err := s.allows(v)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (s Specifier) allows(v Version) (bool, error) {
	if s.Op == "===" {
		return s.Version == v.raw, nil
	}
	if (s.Op == "==" || s.Op == "!=") && strings.HasSuffix(s.Version, ".*") {
		prefix, err := ParseVersion(strings.TrimSuffix(s.Version, ".*"))
		if err != nil {
			return false, err
		}
		match := v.Epoch == prefix.Epoch && len(v.Release) >= len(prefix.Release)
		for i := range prefix.Release {
			match = match && v.Release[i] == prefix.Release[i]
		}
		return match == (s.Op == "=="), nil
	}
	w, err := ParseVersion(s.Version)
	if err != nil {
		return false, err
	}
	c := v.Compare(w)
	switch s.Op {
	case "==":
		return c == 0 && (w.Local == "" || v.Local == w.Local), nil
	case "!=":
		return c != 0, nil
	case "<=":
		return c <= 0, nil
	case ">=":
		return c >= 0, nil
	case "<":
		return c < 0 && !(v.IsPrerelease() && !w.IsPrerelease() && cmpRelease(v.Release, w.Release) == 0), nil
	case ">":
		return c > 0 && !(v.Post >= 0 && w.Post < 0 && cmpRelease(v.Release, w.Release) == 0), nil
	case "~=":
		if len(w.Release) < 2 {
			return false, fmt.Errorf("~=%s needs at least two release segments", s.Version)
		}
		upper := Version{Release: append([]int{}, w.Release[:len(w.Release)-1]...), Post: -1, Dev: -1}
		upper.Release[len(upper.Release)-1]++
		return c >= 0 && v.Compare(upper) < 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", s.Op)
}
