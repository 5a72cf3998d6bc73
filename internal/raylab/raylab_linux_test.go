package raylab

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    *forwardRequest
		wantErr string
	}{
		{[]string{"port-forward", "--namespace", "ns", "svc/ray-head-svc", "8265:8265"},
			&forwardRequest{"ns", "ray-head-svc", [][2]int{{8265, 8265}}}, ""},
		// adopipe's keeper puts extra args after port-forward; oc takes flags anywhere.
		{[]string{"port-forward", "svc/mysql", "-n=ns", "0:3306", "8265"},
			&forwardRequest{"ns", "mysql", [][2]int{{0, 3306}, {8265, 8265}}}, ""},
		{[]string{"port-forward", "--namespace=ns", "service/x", ":80"},
			&forwardRequest{"ns", "x", [][2]int{{0, 80}}}, ""},
		{[]string{"port-forward", "svc/x", "8265"}, &forwardRequest{"", "x", [][2]int{{8265, 8265}}}, ""},
		{[]string{"get", "pods"}, nil, "only knows port-forward"},
		{[]string{"port-forward", "svc/x"}, nil, "list of ports are required"},
		{[]string{"port-forward", "pod/x", "80"}, nil, "services only"},
		{[]string{"port-forward", "x", "80"}, nil, "services only"},
		{[]string{"port-forward", "svc/x", "80:http"}, nil, `invalid port "80:http"`},
		{[]string{"port-forward", "svc/x", "70000"}, nil, "invalid port"},
		{[]string{"port-forward", "--context=c", "svc/x", "80"}, nil, "unknown flag: --context=c"},
		{[]string{"port-forward", "svc/x", "80", "-n"}, nil, "flag needs an argument"},
	} {
		got, err := parseForward(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseForward(%q): err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseForward(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

func TestOutermostAndWithin(t *testing.T) {
	got := outermost([]string{"/work/main/.venv", "/tmp/x", "/work/main", "/tmp", "/root"})
	want := []string{"/tmp", "/root", "/work/main"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outermost = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		dir, p string
		want   bool
	}{
		{"/tmp", "/tmp", true}, {"/tmp", "/tmp/a", true}, {"/tmp", "/tmpx", false},
		{"/", "/a", true}, {"/a/b", "/a", false},
	} {
		if got := within(tc.dir, tc.p); got != tc.want {
			t.Errorf("within(%q, %q) = %v", tc.dir, tc.p, got)
		}
	}
}

// The venv and the Python it was made from stay visible; nothing else.
func TestVenvKeep(t *testing.T) {
	venv := t.TempDir()
	cfg := "home = /root/.pyenv/versions/3.11.7/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n"
	if err := os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{venv, "/root/.pyenv/versions/3.11.7"}
	if got := venvKeep(venv); !reflect.DeepEqual(got, want) {
		t.Errorf("venvKeep = %v, want %v", got, want)
	}
	if got := venvKeep(t.TempDir()); len(got) != 1 {
		t.Errorf("venvKeep without pyvenv.cfg = %v, want the venv only", got)
	}
}

// The route's certificate verifies against the lab's CA (and only with
// it) for every name the route is reached by.
func TestRouteTLS(t *testing.T) {
	dir := t.TempDir()
	ca, pemFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "route.pem")
	if err := writeRouteTLS(ca, pemFile, RouteHost); err != nil {
		t.Fatal(err)
	}
	both, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(both, both)
	if err != nil {
		t.Fatalf("route.pem is not a certificate and its key: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(ca)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost", RouteHost} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("certificate for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1"}); err == nil {
		t.Error("the route's certificate verifies without the lab's CA")
	}
	if st, _ := os.Stat(pemFile); st.Mode().Perm() != 0o600 {
		t.Errorf("route.pem (with the key) has mode %v, want 0600", st.Mode().Perm())
	}
}

func TestHAProxyConfig(t *testing.T) {
	cfg := haproxyConfig("adopipe-lab-1234", "/lab/tls/route.pem", 4443)
	for _, want := range []string{
		"namespace_list\n    namespace adopipe-lab-1234\n",
		"bind 127.0.0.1:4443 ssl crt /lab/tls/route.pem\n",
		"http-request del-header Upgrade\n",
		"server head 127.0.0.1:8265 namespace adopipe-lab-1234\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy config lacks %q:\n%s", want, cfg)
		}
	}
}

// A fault fires for the request it names, once among all the stand-in oc
// processes that share its directory.
func TestClaimFault(t *testing.T) {
	dir := t.TempDir()
	f := &forwarder{faults: []string{"PUT /api/packages/", "POST /api/jobs/"}, faultDir: dir}
	again := &forwarder{faults: f.faults, faultDir: dir} // the oc started in f's place
	for _, tc := range []struct {
		fw    *forwarder
		chunk string
		want  string
	}{
		{f, "GET /api/version HTTP/1.1\r\n", ""},
		{f, "GET /api/packages/gcs/x.zip HTTP/1.1\r\n", ""},
		{f, "POST /api/jobs/ HTTP/1.1\r\nHost: x\r\n", "POST /api/jobs/"},
		{again, "POST /api/jobs/ HTTP/1.1\r\n", ""}, // the retry goes through
		{again, "PUT /api/packages/gcs/x.zip HTTP/1.1\r\n", "PUT /api/packages/"},
		{f, "PUT /api/packages/gcs/x.zip HTTP/1.1\r\n", ""},
		{f, "body bytes PUT /api/packages/", ""},
	} {
		got, ok := tc.fw.claimFault([]byte(tc.chunk))
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("claimFault(%q) = %q, %v; want %q", tc.chunk, got, ok, tc.want)
		}
	}
}
