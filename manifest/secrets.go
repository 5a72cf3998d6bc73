package manifest

import (
	"fmt"
	"sort"

	"github.com/adopipe/adopipe/internal/state"
)

// SensitiveValues returns every value the manifest marks sensitive, each
// with where it is set: the sensitive env values of the manifest and its
// operations, and every cluster header value. They must never be stored;
// state writers check their output against this list
// (state.CheckNoSecrets), which names the place, never the value.
func (c *Config) SensitiveValues() []state.Secret {
	seen := map[string]string{} // value -> the first place it is set
	add := func(where string, e Env, all bool) {
		names := make([]string, 0, len(e))
		for k := range e {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if v := e[k]; (all || v.Sensitive) && v.Value != "" {
				if _, ok := seen[v.Value]; !ok {
					seen[v.Value] = fmt.Sprintf(where, k)
				}
			}
		}
	}
	add("env %q", c.Env, false)
	for _, op := range sortedKeys(c.Operations) {
		add(fmt.Sprintf("operation %q env %%q", op), c.Operations[op].Env, false)
	}
	for _, cl := range sortedKeys(c.Clusters) {
		add(fmt.Sprintf("cluster %q header %%q", cl), c.Clusters[cl].Headers, true)
	}
	out := make([]state.Secret, 0, len(seen))
	for v, where := range seen {
		out = append(out, state.Secret{Where: where, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}
