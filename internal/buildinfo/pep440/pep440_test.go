package pep440

import "testing"

func TestPythonVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v0.3.0":                               "0.3.0",
		"v1.12.4+dirty":                        "1.12.4",
		"v0.3.0-rc.1":                          "0.3.0rc1",
		"v0.3.0-rc2":                           "0.3.0rc2",
		"v2.0.0-alpha":                         "2.0.0a0",
		"v2.0.0-beta.3":                        "2.0.0b3",
		"v0.3.1-0.20261128035625-39e4b1fb1a30": "0.3.1.dev20261128035625",
		"v0.0.0-20261128035625-39e4b1fb1a30":   "0.0.0.dev20261128035625",
		"v0.0.0-20261128035625-39e4b1fb1a30+dirty":  "0.0.0.dev20261128035625",
		"v0.4.0-rc.1.0.20261128035625-39e4b1fb1a30": "0.4.0rc1.dev20261128035625",
		"(devel)": "0.0.0.dev0",
	} {
		got, err := PythonVersion(in)
		if err != nil || got != want {
			t.Errorf("PythonVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"0.3.0", "v0.3", "v0.3.0-nightly.5", "latest"} {
		if got, err := PythonVersion(bad); err == nil {
			t.Errorf("PythonVersion(%q) = %q, want an error", bad, got)
		}
	}
}
