package manifest

import "sort"

// SensitiveValues returns every value the manifest marks sensitive: the
// sensitive env values of the manifest and its operations, and every
// cluster header value. They must never be stored; state writers check
// their output against this list (state.CheckNoSecrets).
func (c *Config) SensitiveValues() []string {
	seen := map[string]bool{}
	add := func(e Env, all bool) {
		for _, v := range e {
			if (all || v.Sensitive) && v.Value != "" {
				seen[v.Value] = true
			}
		}
	}
	add(c.Env, false)
	for _, op := range c.Operations {
		add(op.Env, false)
	}
	for _, cl := range c.Clusters {
		add(cl.Headers, true)
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
