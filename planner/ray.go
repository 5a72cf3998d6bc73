package planner

import (
	"fmt"

	"github.com/adopipe/adopipe/internal/pyreq"
)

// SourcedRequirement is a requirement a job installs, and where it comes
// from ("wheel NAME", "plugin NAME", "pip").
type SourcedRequirement struct {
	From        string
	Requirement string
}

// RayWarnings names each requirement that excludes the Ray version of the
// job's cluster. ado-core depends on an unbounded ray, which the Ray
// installed on the cluster satisfies; a requirement that excludes that
// version makes the job's pip install put another Ray beside the
// cluster's, and the job then fails in ways that do not name the cause.
// pinned says the job already pins the cluster's version (pin_ray), so pip
// cannot resolve its environment instead. Requirements adopipe cannot
// parse (URLs, pip options) and those only for an extra are skipped.
func RayWarnings(cluster, clusterVersion string, pinned bool, reqs []SourcedRequirement) []string {
	v, err := pyreq.ParseVersion(clusterVersion)
	if err != nil {
		return []string{fmt.Sprintf("cluster %s reports Ray %q, which is not a version adopipe can compare: the job's Ray requirements are not checked", cluster, clusterVersion)}
	}
	var out []string
	for _, r := range reqs {
		req, err := pyreq.ParseRequirement(r.Requirement)
		if err != nil || req.Name != "ray" || req.OnlyForExtra() {
			continue
		}
		if ok, err := req.Allows(v); ok || err != nil {
			continue
		}
		what := fmt.Sprintf("%s requires %q, which excludes Ray %s that cluster %s runs", r.From, r.Requirement, v, cluster)
		if pinned {
			out = append(out, what+": with the pin ray=="+v.String()+" (pin_ray) pip cannot build the job's environment; relax that requirement")
			continue
		}
		out = append(out, fmt.Sprintf("%s: the job's pip install would put another Ray beside the cluster's. Add the pin ray==%s (pin_ray = true, or pip = [\"ray==%s\"]) and relax that requirement", what, v, v))
	}
	return out
}

// requirements lists what the job installs that names its dependencies:
// the Requires-Dist of its wheels (those whose wheel is known), its pip
// plugins and its pip lines.
func (s JobSpec) requirements(wheelRequires func(name string) []string) []SourcedRequirement {
	var out []SourcedRequirement
	for _, w := range s.Wheel {
		for _, r := range wheelRequires(w.Name) {
			out = append(out, SourcedRequirement{From: "wheel " + w.Name, Requirement: r})
		}
	}
	for _, p := range s.Plugin {
		out = append(out, SourcedRequirement{From: "plugin " + p.Name, Requirement: p.Requirement})
	}
	for _, p := range s.Pip {
		out = append(out, SourcedRequirement{From: "pip", Requirement: p})
	}
	return out
}
