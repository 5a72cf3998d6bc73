package rayjobs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clearAuthEnv makes the test independent of the developer's Ray token.
func clearAuthEnv(t *testing.T) {
	t.Helper()
	t.Setenv("RAY_AUTH_TOKEN", "")
	os.Unsetenv("RAY_AUTH_TOKEN")
	t.Setenv("RAY_AUTH_TOKEN_PATH", "")
	os.Unsetenv("RAY_AUTH_TOKEN_PATH")
	t.Setenv("RAY_AUTH_MODE", "")
	os.Unsetenv("RAY_AUTH_MODE")
	t.Setenv("RAY_JOB_HEADERS", "")
	os.Unsetenv("RAY_JOB_HEADERS")
	t.Setenv("HOME", t.TempDir())
}

func newTestClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Address: url, Timeout: 5 * time.Second, RetryBackoff: time.Millisecond, PollInterval: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubmitRequestJSON(t *testing.T) {
	cpus, gpus := 1.5, 0.0
	mem := int64(1 << 30)
	full := SubmitRequest{
		Entrypoint:   "ado -c context.yaml create operation -f operation.yaml && echo <done>",
		SubmissionID: "adopipe-sweep-0123456789ab",
		WorkingDir:   "gcs://_ray_pkg_0123456789abcdef.zip",
		PipPackages:  []string{"${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/abc/ado_core-1.0-py3-none-any.whl"},
		EnvVars:      map[string]string{"PYTHONUNBUFFERED": "x", "OMP_NUM_THREADS": "1"},
		Metadata:     map[string]string{"adopipe.operation": "sweep"},
		RuntimeEnv:   map[string]any{"working_dir": "overridden", "config": map[string]any{"setup_timeout_seconds": 600}},

		EntrypointNumCPUs:       &cpus,
		EntrypointNumGPUs:       &gpus,
		EntrypointMemory:        &mem,
		EntrypointResources:     map[string]float64{"custom": 2},
		EntrypointLabelSelector: map[string]string{"ray.io/accelerator-type": "A100"},
	}
	for _, tc := range []struct {
		name string
		req  SubmitRequest
		want string
	}{
		{"minimal", SubmitRequest{Entrypoint: "echo hi"},
			`{"entrypoint":"echo hi","runtime_env":{},"metadata":{}}`},
		// The uv field as `ray job submit` sends ado --remote's uv: list,
		// py_modules URIs and Ray's config.
		{"uv", SubmitRequest{
			Entrypoint: "true", Installer: "uv", PipPackages: []string{"scikit-learn==1.9.1"},
			PyModules: []string{"gcs://_ray_pkg_aaaaaaaaaaaaaaaa.zip"},
			Config:    map[string]any{"setup_timeout_seconds": 900, "eager_install": false},
		},
			`{"entrypoint":"true","runtime_env":{"config":{"eager_install":false,"setup_timeout_seconds":900},` +
				`"py_modules":["gcs://_ray_pkg_aaaaaaaaaaaaaaaa.zip"],` +
				`"uv":{"packages":["scikit-learn==1.9.1"],"uv_check":false,"uv_pip_install_options":["--no-cache"]}},"metadata":{}}`},
		{"full", full,
			`{"entrypoint":"ado -c context.yaml create operation -f operation.yaml && echo <done>",` +
				`"submission_id":"adopipe-sweep-0123456789ab",` +
				`"runtime_env":{"config":{"setup_timeout_seconds":600},` +
				`"env_vars":{"OMP_NUM_THREADS":"1","PYTHONUNBUFFERED":"x"},` +
				`"pip":{"packages":["${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/abc/ado_core-1.0-py3-none-any.whl"],"pip_check":false},` +
				`"working_dir":"gcs://_ray_pkg_0123456789abcdef.zip"},` +
				`"metadata":{"adopipe.operation":"sweep"},` +
				`"entrypoint_num_cpus":1.5,"entrypoint_num_gpus":0,"entrypoint_memory":1073741824,` +
				`"entrypoint_resources":{"custom":2},"entrypoint_label_selector":{"ray.io/accelerator-type":"A100"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAuthEnv(t)
			var got string
			var gotCT, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got, gotCT, gotPath = string(b), r.Header.Get("Content-Type"), r.Method+" "+r.URL.Path
				io.WriteString(w, `{"job_id":null,"submission_id":"raysubmit_x"}`)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			id, dup, err := c.Submit(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if id != "raysubmit_x" || dup {
				t.Errorf("Submit = %q, %v", id, dup)
			}
			if got != tc.want {
				t.Errorf("body:\n got  %s\n want %s", got, tc.want)
			}
			if gotCT != "application/json" || gotPath != "POST /api/jobs/" {
				t.Errorf("content type %q, request %q", gotCT, gotPath)
			}
		})
	}
}

func TestSupportsLabelSelector(t *testing.T) {
	for v, want := range map[string]bool{"2.60.0": true, "2.49.0": true, "2.48.9": false, "2.9.3": false, "": false} {
		if got := SupportsLabelSelector(v); got != want {
			t.Errorf("SupportsLabelSelector(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestHeadersAndAuthPrecedence(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte("from-path-file\n"), 0o600)
	for _, tc := range []struct {
		name      string
		env       map[string]string
		homeToken string
		headers   map[string]string
		wantAuth  string
	}{
		{"none", nil, "", nil, ""},
		{"env token", map[string]string{"RAY_AUTH_TOKEN": "env-tok"}, "home-tok", nil, "Bearer env-tok"},
		{"token path", map[string]string{"RAY_AUTH_TOKEN_PATH": tokenFile}, "home-tok", nil, "Bearer from-path-file"},
		{"home file", nil, " home-tok\n", nil, "Bearer home-tok"},
		{"explicit header wins", map[string]string{"RAY_AUTH_TOKEN": "env-tok"}, "home-tok",
			map[string]string{"authorization": "Basic abc"}, "Basic abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAuthEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.homeToken != "" {
				home := os.Getenv("HOME")
				os.MkdirAll(filepath.Join(home, ".ray"), 0o700)
				os.WriteFile(filepath.Join(home, ".ray", "auth_token"), []byte(tc.homeToken), 0o600)
			}
			var got http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				io.WriteString(w, `{"version":"4","ray_version":"2.60.0"}`)
			}))
			defer srv.Close()
			hdrs := map[string]string{"X-Team": "blue"}
			for k, v := range tc.headers {
				hdrs[k] = v
			}
			c := newTestClient(t, srv.URL, func(c *Config) { c.Headers = hdrs })
			if _, err := c.Version(context.Background()); err != nil {
				t.Fatal(err)
			}
			if a := got.Get("Authorization"); a != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", a, tc.wantAuth)
			}
			if len(got.Values("Authorization")) > 1 {
				t.Errorf("several Authorization headers: %q", got.Values("Authorization"))
			}
			if got.Get("X-Team") != "blue" {
				t.Errorf("X-Team = %q", got.Get("X-Team"))
			}
			if ua := got.Get("User-Agent"); !strings.HasPrefix(ua, "adopipe/") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestBrowserUserAgentRefused(t *testing.T) {
	if _, err := New(Config{Address: "127.0.0.1:1", UserAgent: "Mozilla/5.0"}); err == nil {
		t.Fatal("a browser User-Agent was accepted")
	}
}

func TestTokenPathUnreadableIsAnError(t *testing.T) {
	clearAuthEnv(t)
	missing := filepath.Join(t.TempDir(), "missing")
	t.Setenv("RAY_AUTH_TOKEN_PATH", missing)
	if _, err := New(Config{Address: "127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "RAY_AUTH_TOKEN_PATH") {
		t.Fatalf("err = %v", err)
	} else if !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v; want it to name the unreadable file", err)
	}
}

func TestAddressNormalization(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8265":             "http://127.0.0.1:8265",
		"http://h:1/":                "http://h:1",
		"https://route.example/ray/": "https://route.example/ray",
	} {
		c, err := New(Config{Address: in})
		if err != nil {
			t.Fatal(err)
		}
		if c.Address() != want {
			t.Errorf("%q -> %q, want %q", in, c.Address(), want)
		}
	}
	for _, bad := range []string{"", "ray://h:10001", "http://"} {
		if _, err := New(Config{Address: bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	c, _ := New(Config{Address: "https://h/p"})
	if got := c.wsURL("/api/jobs/x/logs/tail"); got != "wss://h/p/api/jobs/x/logs/tail" {
		t.Errorf("wsURL = %q", got)
	}
}

func TestSlowAnswerHitsTimeout(t *testing.T) {
	clearAuthEnv(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, func(c *Config) { c.Timeout = 50 * time.Millisecond; c.Retries = -1 })
	_, err := c.Job(context.Background(), "j")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from Ray") {
		t.Fatalf("err = %v", err)
	}
}

func TestSubmitNotRetriedBlindly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		id     string
		posts  int32
	}{
		{"500 with id", 500, "Traceback ... RuntimeError: boom", "adopipe-x-1", 1},
		{"500 without id", 500, "boom", "", 1},
		{"503 without id", 503, "busy", "", 1},
		{"503 with id is retried", 503, "busy", "adopipe-x-1", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAuthEnv(t)
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			_, _, err := c.Submit(context.Background(), SubmitRequest{Entrypoint: "true", SubmissionID: tc.id})
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tc.status || !strings.Contains(err.Error(), tc.body) {
				t.Fatalf("err = %v", err)
			}
			if got := posts.Load(); got != tc.posts {
				t.Errorf("%d POSTs, want %d", got, tc.posts)
			}
		})
	}
}

const dupBody = `Traceback (most recent call last):
  File "job_head.py", line 418, in submit_job
RuntimeError: Request failed with status code 400: Traceback (most recent call last):
ValueError: Job with submission_id adopipe-sweep-0123456789ab already exists. Please use a different submission_id.`

func TestSubmitDuplicateIsAlreadySubmitted(t *testing.T) {
	clearAuthEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, dupBody)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	id, dup, err := c.Submit(context.Background(), SubmitRequest{Entrypoint: "true", SubmissionID: "adopipe-sweep-0123456789ab"})
	if err != nil || !dup || id != "adopipe-sweep-0123456789ab" {
		t.Fatalf("Submit = %q, %v, %v", id, dup, err)
	}
}

// A submit whose answer is lost is retried; the retry finds the id taken,
// which means the first attempt landed: this call submitted the job.
func TestSubmitRetryAfterLostAnswer(t *testing.T) {
	clearAuthEnv(t)
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if posts.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // the job was accepted but the answer never arrives
			}
			return
		}
		w.WriteHeader(500)
		io.WriteString(w, dupBody)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	id, dup, err := c.Submit(context.Background(), SubmitRequest{Entrypoint: "true", SubmissionID: "adopipe-sweep-0123456789ab"})
	if err != nil || dup || id != "adopipe-sweep-0123456789ab" {
		t.Fatalf("Submit = %q, %v, %v", id, dup, err)
	}
	if posts.Load() != 2 {
		t.Errorf("%d POSTs, want 2", posts.Load())
	}
}

func TestGetRetriedOn503(t *testing.T) {
	clearAuthEnv(t)
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) <= 2 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"type":"SUBMISSION","submission_id":"j","status":"RUNNING","entrypoint":"true","start_time":1,"end_time":null,"driver_exit_code":null}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	j, err := c.Job(context.Background(), "j")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusRunning || j.SubmissionID != "j" || j.StartTime != 1 || j.DriverExitCode != nil {
		t.Errorf("job = %+v", j)
	}
	if gets.Load() != 3 {
		t.Errorf("%d GETs, want 3", gets.Load())
	}
}

func TestGarbageJSONIsAClearError(t *testing.T) {
	clearAuthEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>Sign in</html>")
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	_, err := c.Job(context.Background(), "j")
	if err == nil || !strings.Contains(err.Error(), "not the JSON Ray sends") || !strings.Contains(err.Error(), "Sign in") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Version(context.Background()); err == nil {
		t.Fatal("Version accepted HTML")
	}
}

func TestNotFound(t *testing.T) {
	clearAuthEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		io.WriteString(w, "Job nope does not exist")
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	_, err := c.Job(context.Background(), "nope")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnreachableNamesTheAddress(t *testing.T) {
	clearAuthEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	c := newTestClient(t, addr, nil)
	_, err = c.Version(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Address != addr || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v", err)
	}
}

func TestAuthErrorsSayWhatToDoWithoutLeakingTheToken(t *testing.T) {
	for _, status := range []int{401, 403} {
		clearAuthEnv(t)
		t.Setenv("RAY_AUTH_TOKEN", "s3cr3t-token-value")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, "Forbidden: Invalid authentication token "+r.Header.Get("Authorization"))
		}))
		c := newTestClient(t, srv.URL, nil)
		_, err := c.Logs(context.Background(), "j")
		srv.Close()
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Status != status {
			t.Fatalf("%d: err = %v", status, err)
		}
		if !strings.Contains(err.Error(), "RAY_AUTH_TOKEN") || !strings.Contains(err.Error(), "Authorization header") {
			t.Errorf("%d: no advice in %q", status, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%d: token leaked: %q", status, err)
		}
	}
}

func TestHeaderValuesRedactedFromErrors(t *testing.T) {
	clearAuthEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, "bad header X-Api-Key="+r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(c *Config) { c.Headers = map[string]string{"X-Api-Key": "hunter2-key"} })
	_, err := c.Stop(context.Background(), "j")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v", err)
	}
}

func TestVersionChecks(t *testing.T) {
	for _, tc := range []struct {
		status  int
		body    string
		wantErr string
	}{
		{200, `{"version":"4","ray_version":"2.60.0","ray_commit":"abc","session_name":"s"}`, ""},
		{404, `404: Not Found`, "not a Ray dashboard"},
		{200, `{"version":"4"}`, "no ray_version"},
		{200, `{"version":"1","ray_version":"1.13.0"}`, "runs Ray 1.13.0"},
		{200, `{"version":"4","ray_version":"nightly"}`, "runs Ray nightly"},
	} {
		clearAuthEnv(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/version" {
				t.Errorf("path %q", r.URL.Path)
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c := newTestClient(t, srv.URL, nil)
		v, err := c.Version(context.Background())
		srv.Close()
		if tc.wantErr == "" {
			if err != nil || v.RayVersion != "2.60.0" || v.Version != "4" || v.SessionName != "s" {
				t.Errorf("Version = %+v, %v", v, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.wantErr)
		}
	}
}

func TestStatusIsTerminal(t *testing.T) {
	for s, want := range map[Status]bool{StatusPending: false, StatusRunning: false, StatusStopped: true, StatusSucceeded: true, StatusFailed: true} {
		if s.IsTerminal() != want {
			t.Errorf("%s.IsTerminal() = %v", s, !want)
		}
	}
}

// fakeJobs is a minimal in-memory Jobs API for list/stop/delete/wait.
func TestListStopDeleteWait(t *testing.T) {
	clearAuthEnv(t)
	var mu sync.Mutex
	status := "RUNNING"
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "GET /api/jobs/":
			io.WriteString(w, `[{"type":"SUBMISSION","submission_id":"a","status":"`+status+`","entrypoint":"x"}]`)
		case "POST /api/jobs/a/stop":
			status = "STOPPED"
			io.WriteString(w, `{"stopped":true}`)
		case "DELETE /api/jobs/a":
			io.WriteString(w, `{"deleted":true}`)
		case "GET /api/jobs/a":
			polls++
			if polls == 3 {
				status = "SUCCEEDED"
			}
			io.WriteString(w, `{"type":"SUBMISSION","submission_id":"a","status":"`+status+`","entrypoint":"x"}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	ctx := context.Background()
	js, err := c.List(ctx)
	if err != nil || len(js) != 1 || js[0].Status != StatusRunning {
		t.Fatalf("List = %+v, %v", js, err)
	}
	j, err := c.WaitTerminal(ctx, "a", time.Millisecond)
	if err != nil || j.Status != StatusSucceeded || polls != 3 {
		t.Fatalf("WaitTerminal = %+v, %v after %d polls", j, err, polls)
	}
	if ok, err := c.Stop(ctx, "a"); err != nil || !ok {
		t.Fatalf("Stop = %v, %v", ok, err)
	}
	if ok, err := c.Delete(ctx, "a"); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
}

// TestSubmitWaitsForTheJobAgent: right after a head starts, Ray answers 500
// "No available agent to submit job" and creates no job. Submit retries
// within AgentWait, with or without a submission id, and the job is created
// exactly once; past the bound it gives one error that says what happened.
func TestSubmitWaitsForTheJobAgent(t *testing.T) {
	const noAgent = "No available agent to submit job, please try again later."
	for _, id := range []string{"adopipe-x-1", ""} {
		clearAuthEnv(t)
		var posts, created atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if posts.Add(1) <= 5 {
				http.Error(w, noAgent, http.StatusInternalServerError)
				return
			}
			created.Add(1)
			w.Write([]byte(`{"job_id":"raysubmit_1","submission_id":"raysubmit_1"}`))
		}))
		c := newTestClient(t, srv.URL, func(c *Config) { c.AgentWait = time.Minute })
		got, dup, err := c.Submit(context.Background(), SubmitRequest{Entrypoint: "echo", SubmissionID: id})
		srv.Close()
		if err != nil || dup || got == "" {
			t.Fatalf("id %q: Submit = %q, %v, %v", id, got, dup, err)
		}
		if posts.Load() != 6 || created.Load() != 1 {
			t.Errorf("id %q: %d posts, %d jobs created; want 6 and 1", id, posts.Load(), created.Load())
		}
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, noAgent, http.StatusInternalServerError)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(c *Config) { c.AgentWait = 30 * time.Millisecond })
	_, _, err := c.Submit(context.Background(), SubmitRequest{Entrypoint: "echo", SubmissionID: "adopipe-x-1"})
	if err == nil || !strings.Contains(err.Error(), "no job agent ready after 30ms") {
		t.Fatalf("err = %v", err)
	}
}
