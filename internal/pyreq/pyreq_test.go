package pyreq

import "testing"

func TestVersionOrder(t *testing.T) {
	// Each version is lower than the next, as in PEP 440's examples.
	ordered := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12", "1.0b1.dev456",
		"1.0b2", "1.0b2.post345", "1.0rc1", "1.0", "1.0+abc.5", "1.0.post456.dev34",
		"1.0.post456", "1.1.dev1", "2.9", "2.10", "2.60.0", "2.60.1", "1!0.1",
	}
	for i := 0; i+1 < len(ordered); i++ {
		a, err := ParseVersion(ordered[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(ordered[i+1])
		if err != nil {
			t.Fatal(err)
		}
		c := a.Compare(b)
		if ordered[i] == "1.0" && ordered[i+1] == "1.0+abc.5" {
			if c != 0 {
				t.Errorf("%s vs %s = %d, want 0 (local ignored)", a, b, c)
			}
			continue
		}
		if c >= 0 {
			t.Errorf("%s vs %s = %d, want < 0", a, b, c)
		}
	}
	for _, same := range [][2]string{{"2.60", "2.60.0"}, {"1.0RC1", "1.0rc1"}, {"1.0-1", "1.0.post1"}, {"v2.1", "2.1"}} {
		a, _ := ParseVersion(same[0])
		b, _ := ParseVersion(same[1])
		if a.Compare(b) != 0 {
			t.Errorf("%s != %s", same[0], same[1])
		}
	}
	if _, err := ParseVersion("not a version"); err == nil {
		t.Error("bad version parsed")
	}
}

func TestRequirementAllows(t *testing.T) {
	for _, tc := range []struct {
		req, version string
		want         bool
	}{
		{"ray[serve]>=2.9", "2.60.0", true},
		{"ray", "2.60.0", true},
		{"ray==2.59.0", "2.60.0", false},
		{"ray (==2.60.0)", "2.60.0", true},
		{"ray==2.60.*", "2.60.3", true},
		{"ray==2.6.*", "2.60.0", false},
		{"ray!=2.60.*", "2.60.1", false},
		{"ray>=2.9,<2.50", "2.60.0", false},
		{"ray~=2.59", "2.60.0", true},
		{"ray~=2.59.0", "2.60.0", false},
		{"ray<2.60", "2.60.0rc1", false},
		{"ray>2.60", "2.60.0.post1", false},
		{"ray===2.60.0", "2.60.0", true},
		{"Ray_Core>=1; python_version >= '3.9'", "2.60.0", true},
	} {
		r, err := ParseRequirement(tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.req, err)
		}
		v, err := ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Allows(v)
		if err != nil || got != tc.want {
			t.Errorf("%q allows %s = %v, %v; want %v", tc.req, tc.version, got, err, tc.want)
		}
	}
}

func TestParseRequirement(t *testing.T) {
	r, err := ParseRequirement(`Ray.Serve[Default, tune] >=2.9, <3 ; extra == "distributed"`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "ray-serve" || len(r.Extras) != 2 || r.Extras[0] != "default" || len(r.Specifiers) != 2 || !r.OnlyForExtra() {
		t.Errorf("parsed %+v", r)
	}
	if _, err := ParseRequirement("ray @ https://example.invalid/ray.whl"); err == nil {
		t.Error("a URL requirement was accepted")
	}
	if _, err := ParseRequirement("ray >> 2"); err == nil {
		t.Error("a bad clause was accepted")
	}
}
