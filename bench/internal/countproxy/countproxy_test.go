package countproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeRay answers like the Jobs API and records what reached it.
func fakeRay(t *testing.T, got *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = append(*got, r.Method+" "+r.URL.Path+" "+string(b))
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/packages/"):
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodPost && r.URL.Path == "/api/jobs/":
			w.Write([]byte(`{"submission_id":"x","job_id":null}`))
		default:
			w.Write([]byte("{}"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCountsUploadsAndSubmits(t *testing.T) {
	var got []string
	ray := fakeRay(t, &got)
	p, err := New(ray.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	defer front.Close()

	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, front.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	zip := strings.Repeat("z", 12345)
	if code := do("GET", "/api/packages/gcs/_ray_pkg_x.zip", ""); code != http.StatusNotFound {
		t.Errorf("GET package through the proxy: %d, want the 404 of the cluster", code)
	}
	do("PUT", "/api/packages/gcs/_ray_pkg_x.zip", zip)
	start := time.Now()
	do("POST", "/api/jobs/", `{"entrypoint":"true"}`)
	do("GET", "/api/jobs/x", "")

	want := Stats{Requests: 4, Uploads: 1, UploadedBytes: 12345, Submits: 1, RequestBytes: 12345 + int64(len(`{"entrypoint":"true"}`))}
	if s := p.Stats(); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	if len(got) != 4 || got[1] != "PUT /api/packages/gcs/_ray_pkg_x.zip "+zip {
		t.Errorf("the cluster did not receive the requests unchanged: %q", got)
	}
	select {
	case at := <-p.Submits():
		if at.Before(start) {
			t.Errorf("submission time %v is before the request was sent (%v)", at, start)
		}
	default:
		t.Error("no submission time delivered")
	}

	// The bench endpoints are answered by the proxy, not forwarded.
	resp, err := http.Get(front.URL + "/__bench/stats")
	if err != nil {
		t.Fatal(err)
	}
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s != want {
		t.Errorf("/__bench/stats %+v, want %+v", s, want)
	}
	resp, err = http.Post(front.URL+"/__bench/reset", "", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := p.Stats(); s != (Stats{}) {
		t.Errorf("after reset: %+v", s)
	}
	if len(got) != 4 {
		t.Errorf("bench endpoints reached the cluster: %q", got[4:])
	}
}
