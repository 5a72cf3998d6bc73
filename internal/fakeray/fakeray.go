// Package fakeray is a stand-in Ray Jobs API for unit tests: it records
// what it is sent (packages, submissions, stops) and answers each job's
// status with what the test set. It speaks only the requests adopipe
// makes; the real tier tests against a real Ray head.
package fakeray

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is a fake Jobs API. Lock it to read or change its fields while
// it serves.
type Server struct {
	sync.Mutex
	// URL is the dashboard address, http://127.0.0.1:<port>.
	URL string
	// Submitted are the bodies of accepted POST /api/jobs/, in order.
	Submitted []map[string]any
	// Packages are the uploaded working-directory zips, by name.
	Packages map[string][]byte
	// Statuses are the job statuses answered, by submission id; a job
	// not listed is Status.
	Statuses map[string]string
	// Status is the status of jobs not in Statuses (SUCCEEDED when empty).
	Status string
	// Logs is every job's log.
	Logs string
	// Stopped lists the jobs a stop was requested for.
	Stopped []string
	// SubmitErr makes POST /api/jobs/ fail with 500 and this body.
	SubmitErr string
	// OnRequest runs first for every request, with the lock held (fault
	// injection).
	OnRequest func(r *http.Request)
	// RayVersion is the Ray version /api/version answers (2.60.0 when
	// empty).
	RayVersion string
	// Requests counts the requests served, by "METHOD /path".
	Requests map[string]int

	restarted bool // jobs not submitted since Restart are unknown

	srv *httptest.Server
}

// Start serves a fake Jobs API on the loopback interface until Close.
func Start() *Server {
	f := &Server{Packages: map[string][]byte{}, Statuses: map[string]string{}, Requests: map[string]int{}}
	f.srv = httptest.NewServer(f)
	f.URL = f.srv.URL
	return f
}

// Close stops serving.
func (f *Server) Close() { f.srv.Close() }

// SetStatus sets the status of one job, or of all jobs when id is empty.
func (f *Server) SetStatus(id, status string) {
	f.Lock()
	defer f.Unlock()
	if id == "" {
		f.Status, f.Statuses = status, map[string]string{}
		return
	}
	f.Statuses[id] = status
}

// Restart forgets every job and package, as a restarted Ray head does:
// the jobs submitted before are answered 404.
func (f *Server) Restart() {
	f.Lock()
	defer f.Unlock()
	f.restarted = true
	f.Submitted, f.Packages, f.Statuses = nil, map[string][]byte{}, map[string]string{}
}

// known reports whether the head knows a job: any job until Restart, then
// only those submitted since.
func (f *Server) known(id string) bool {
	if !f.restarted {
		return true
	}
	for _, s := range f.Submitted {
		if s["submission_id"] == id {
			return true
		}
	}
	return false
}

func (f *Server) status(id string) string {
	if s, ok := f.Statuses[id]; ok {
		return s
	}
	if f.Status != "" {
		return f.Status
	}
	return "SUCCEEDED"
}

// ServeHTTP answers one Jobs API request.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Lock()
	defer f.Unlock()
	if f.OnRequest != nil {
		f.OnRequest(r)
	}
	path := r.URL.Path
	f.Requests[r.Method+" "+path]++
	switch {
	case path == "/api/version":
		v := f.RayVersion
		if v == "" {
			v = "2.60.0"
		}
		json.NewEncoder(w).Encode(map[string]string{"version": "4", "ray_version": v})
	case strings.HasPrefix(path, "/api/packages/gcs/"):
		name := strings.TrimPrefix(path, "/api/packages/gcs/")
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			f.Packages[name] = b
			return
		}
		if _, ok := f.Packages[name]; !ok {
			http.NotFound(w, r)
		}
	case path == "/api/jobs/" && r.Method == http.MethodPost:
		f.submit(w, r)
	case strings.HasSuffix(path, "/logs/tail"):
		// No websocket here: clients fall back to polling the log.
		http.Error(w, "no websocket in the fake", http.StatusServiceUnavailable)
	case strings.HasSuffix(path, "/logs"):
		json.NewEncoder(w).Encode(map[string]string{"logs": f.Logs})
	case strings.HasSuffix(path, "/stop") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/api/jobs/"), "/stop")
		running := f.status(id) == "PENDING" || f.status(id) == "RUNNING"
		if running {
			f.Stopped = append(f.Stopped, id)
			f.Statuses[id] = "STOPPED"
		}
		json.NewEncoder(w).Encode(map[string]bool{"stopped": running})
	case strings.HasPrefix(path, "/api/jobs/"):
		id := strings.TrimPrefix(path, "/api/jobs/")
		if !f.known(id) {
			http.Error(w, "Job "+id+" does not exist", http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"submission_id": id, "status": f.status(id)})
	default:
		http.NotFound(w, r)
	}
}

func (f *Server) submit(w http.ResponseWriter, r *http.Request) {
	if f.SubmitErr != "" {
		http.Error(w, f.SubmitErr, http.StatusInternalServerError)
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	id, _ := body["submission_id"].(string)
	for _, prev := range f.Submitted {
		if prev["submission_id"] == id {
			http.Error(w, "Job with submission_id "+id+" already exists. Please use a different submission_id.", http.StatusInternalServerError)
			return
		}
	}
	f.Submitted = append(f.Submitted, body)
	json.NewEncoder(w).Encode(map[string]string{"submission_id": id, "job_id": id})
}
