package rayjobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Status is a Ray job status.
type Status string

const (
	StatusPending   Status = "PENDING"
	StatusRunning   Status = "RUNNING"
	StatusStopped   Status = "STOPPED"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
)

// IsTerminal reports whether the status can no longer change.
func (s Status) IsTerminal() bool {
	return s == StatusStopped || s == StatusSucceeded || s == StatusFailed
}

// VersionInfo is the answer of GET /api/version.
type VersionInfo struct {
	Version     string `json:"version"` // the Jobs API version ("4" today)
	RayVersion  string `json:"ray_version"`
	RayCommit   string `json:"ray_commit"`
	SessionName string `json:"session_name"`
}

// DriverInfo describes a job's driver process.
type DriverInfo struct {
	ID            string `json:"id"`
	NodeIPAddress string `json:"node_ip_address"`
	PID           string `json:"pid"`
}

// JobInfo is Ray's JobDetails. Times are Unix milliseconds (0 when unset).
type JobInfo struct {
	Type                string             `json:"type"`
	JobID               string             `json:"job_id"`
	SubmissionID        string             `json:"submission_id"`
	DriverInfo          *DriverInfo        `json:"driver_info"`
	Status              Status             `json:"status"`
	Entrypoint          string             `json:"entrypoint"`
	Message             string             `json:"message"`
	ErrorType           string             `json:"error_type"`
	StartTime           int64              `json:"start_time"`
	EndTime             int64              `json:"end_time"`
	Metadata            map[string]string  `json:"metadata"`
	RuntimeEnv          map[string]any     `json:"runtime_env"`
	EntrypointNumCPUs   *float64           `json:"entrypoint_num_cpus"`
	EntrypointNumGPUs   *float64           `json:"entrypoint_num_gpus"`
	EntrypointMemory    *int64             `json:"entrypoint_memory"`
	EntrypointResources map[string]float64 `json:"entrypoint_resources"`
	DriverAgentHTTPAddr string             `json:"driver_agent_http_address"`
	DriverNodeID        string             `json:"driver_node_id"`
	DriverExitCode      *int               `json:"driver_exit_code"`
}

func decode(what string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		snippet := strings.TrimSpace(string(data))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		return fmt.Errorf("%s: the answer is not the JSON Ray sends (%v); is the address a Ray dashboard? got: %q", what, err, snippet)
	}
	return nil
}

// MinRayVersion is the oldest cluster Ray this client supports.
const MinRayVersion = "2.0.0"

// Version asks the cluster for its versions. It fails clearly when the
// address is not a Ray dashboard or the cluster is older than MinRayVersion.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	r := request{method: http.MethodGet, path: "/api/version", retry: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return VersionInfo{}, err
	}
	if resp.status == http.StatusNotFound {
		return VersionInfo{}, fmt.Errorf("%s answered 404 for /api/version: it is not a Ray dashboard, or its Ray is older than %s (the Jobs API is missing)", c.address, MinRayVersion)
	}
	if err := c.check(r, resp); err != nil {
		return VersionInfo{}, err
	}
	var v VersionInfo
	if err := decode("GET /api/version", resp.body, &v); err != nil {
		return VersionInfo{}, err
	}
	if v.RayVersion == "" {
		return v, fmt.Errorf("%s did not say which Ray it runs (no ray_version in /api/version): the Jobs API needs Ray %s or newer", c.address, MinRayVersion)
	}
	if !versionAtLeast(v.RayVersion, MinRayVersion) {
		return v, fmt.Errorf("the cluster at %s runs Ray %s; the Jobs API client needs Ray %s or newer", c.address, v.RayVersion, MinRayVersion)
	}
	return v, nil
}

var leadingNums = regexp.MustCompile(`^(\d+)(?:\.(\d+))?(?:\.(\d+))?`)

// SupportsLabelSelector reports whether a cluster running rayVersion takes
// entrypoint_label_selector.
func SupportsLabelSelector(rayVersion string) bool {
	return versionAtLeast(rayVersion, LabelSelectorVersion)
}

// versionAtLeast compares the numeric major.minor.patch prefixes; an
// unparsable version counts as too old.
func versionAtLeast(have, want string) bool {
	h, w := leadingNums.FindStringSubmatch(have), leadingNums.FindStringSubmatch(want)
	if h == nil || w == nil {
		return false
	}
	for i := 1; i <= 3; i++ {
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a > b
		}
	}
	return true
}

// SubmitRequest is a job to submit. Empty fields are left out of the request.
type SubmitRequest struct {
	Entrypoint   string
	SubmissionID string
	// WorkingDir is a package URI ("gcs://_ray_pkg_….zip") from UploadPackage.
	WorkingDir string
	// PipPackages are passed untouched (e.g. "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/x.whl"),
	// under "pip", or under "uv" when Installer is "uv".
	PipPackages []string
	Installer   string
	// PyModules are package URIs from UploadPackage.
	PyModules []string
	// Config is Ray's runtime_env config (setup_timeout_seconds, eager_install).
	Config  map[string]any
	EnvVars map[string]string
	// RuntimeEnv holds further runtime_env keys; the fields above win.
	RuntimeEnv          map[string]any
	Metadata            map[string]string
	EntrypointNumCPUs   *float64
	EntrypointNumGPUs   *float64
	EntrypointMemory    *int64
	EntrypointResources map[string]float64
	// EntrypointLabelSelector needs Ray 2.49 or later (LabelSelectorVersion).
	EntrypointLabelSelector map[string]string
}

// LabelSelectorVersion is the first Ray release whose Jobs API takes
// entrypoint_label_selector.
const LabelSelectorVersion = "2.49.0"

// submitBody is JobSubmitRequest in the order Ray's dataclass declares it.
type submitBody struct {
	Entrypoint              string             `json:"entrypoint"`
	SubmissionID            string             `json:"submission_id,omitempty"`
	RuntimeEnv              map[string]any     `json:"runtime_env"`
	Metadata                map[string]string  `json:"metadata"`
	EntrypointNumCPUs       *float64           `json:"entrypoint_num_cpus,omitempty"`
	EntrypointNumGPUs       *float64           `json:"entrypoint_num_gpus,omitempty"`
	EntrypointMemory        *int64             `json:"entrypoint_memory,omitempty"`
	EntrypointResources     map[string]float64 `json:"entrypoint_resources,omitempty"`
	EntrypointLabelSelector map[string]string  `json:"entrypoint_label_selector,omitempty"`
}

// runtimeEnv builds the runtime_env as RuntimeEnv(...).to_dict() does:
// a pip list becomes {"packages": [...], "pip_check": false}, a uv list
// {"packages": [...], "uv_check": false, "uv_pip_install_options":
// ["--no-cache"]} (what `ray job submit` sends for ado --remote's `uv:`
// list, and what ado's actuators read back as runtime_env["uv"]["packages"]).
func (r SubmitRequest) runtimeEnv() map[string]any {
	env := map[string]any{}
	for k, v := range r.RuntimeEnv {
		env[k] = v
	}
	if r.WorkingDir != "" {
		env["working_dir"] = r.WorkingDir
	}
	if len(r.PipPackages) > 0 {
		if r.Installer == "uv" {
			env["uv"] = map[string]any{"packages": r.PipPackages, "uv_check": false, "uv_pip_install_options": []string{"--no-cache"}}
		} else {
			env["pip"] = map[string]any{"packages": r.PipPackages, "pip_check": false}
		}
	}
	if len(r.PyModules) > 0 {
		env["py_modules"] = r.PyModules
	}
	if len(r.Config) > 0 {
		env["config"] = r.Config
	}
	if len(r.EnvVars) > 0 {
		env["env_vars"] = r.EnvVars
	}
	return env
}

// requestJSON is the exact body Submit posts.
func (r SubmitRequest) requestJSON() ([]byte, error) {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // entrypoints hold "&&" and "<": send them as they are
	err := enc.Encode(submitBody{
		Entrypoint:              r.Entrypoint,
		SubmissionID:            r.SubmissionID,
		RuntimeEnv:              r.runtimeEnv(),
		Metadata:                md,
		EntrypointNumCPUs:       r.EntrypointNumCPUs,
		EntrypointNumGPUs:       r.EntrypointNumGPUs,
		EntrypointMemory:        r.EntrypointMemory,
		EntrypointResources:     r.EntrypointResources,
		EntrypointLabelSelector: r.EntrypointLabelSelector,
	})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// duplicateMarker is in Ray's answer when a submission_id is already taken.
const duplicateMarker = "Please use a different submission_id"

// noAgentMarker is Ray's 500 answer when no job agent was ready in time.
const noAgentMarker = "No available agent to submit job"

// Submit posts a job. When the submission id is already known to the cluster
// (Ray answers "Please use a different submission_id"), the job is not
// submitted again: Submit returns the id with alreadySubmitted true. Submits
// with a SubmissionID are retried after transport errors and 502/503/504 (the
// deterministic id makes that safe). A retry that finds the id taken means
// this call's earlier attempt landed and only its answer was lost (a
// port-forward that died): the job is this call's, alreadySubmitted is
// false, so the caller follows it as the job it submitted. Without a
// SubmissionID it is never retried.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (submissionID string, alreadySubmitted bool, err error) {
	if strings.TrimSpace(req.Entrypoint) == "" {
		return "", false, errors.New("submit: the entrypoint is empty")
	}
	body, err := req.requestJSON()
	if err != nil {
		return "", false, err
	}
	r := request{
		method: http.MethodPost, path: "/api/jobs/", body: jsonBody(body),
		ctype: "application/json", retry: req.SubmissionID != "",
	}
	resp, err := c.submitWhenAgentReady(ctx, r)
	if err != nil {
		return "", false, err
	}
	if req.SubmissionID != "" && resp.status >= 400 && bytes.Contains(resp.body, []byte(duplicateMarker)) {
		return req.SubmissionID, resp.attempts == 1, nil
	}
	if err := c.check(r, resp); err != nil {
		return "", false, err
	}
	var out struct {
		JobID        string `json:"job_id"`
		SubmissionID string `json:"submission_id"`
	}
	if err := decode("POST /api/jobs/", resp.body, &out); err != nil {
		return "", false, err
	}
	if out.SubmissionID == "" {
		return "", false, fmt.Errorf("POST /api/jobs/: the answer has no submission_id: %q", trimBody(resp.body))
	}
	return out.SubmissionID, false, nil
}

// submitWhenAgentReady sends the submit request, and sends it again while
// the head answers that no job agent is ready yet, up to AgentWait. Right
// after a head starts its agent takes seconds to register; Ray creates no
// job with that answer, so the retry is safe even without a submission id.
func (c *Client) submitWhenAgentReady(ctx context.Context, r request) (*response, error) {
	deadline := time.Now().Add(c.cfg.AgentWait)
	for {
		resp, err := c.do(ctx, r)
		if err != nil || resp.status != http.StatusInternalServerError || !bytes.Contains(resp.body, []byte(noAgentMarker)) {
			return resp, err
		}
		wait := min(c.cfg.PollInterval, time.Until(deadline))
		if wait <= 0 {
			return nil, fmt.Errorf("POST /api/jobs/: the head still had no job agent ready after %s (%q); the cluster may still be starting: try again, and if it persists read the head's dashboard_agent log", c.cfg.AgentWait, trimBody(resp.body))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func jobPath(id string) string { return "/api/jobs/" + url.PathEscape(id) }

// Job returns a job's details. A missing job gives an error matching
// ErrNotFound.
func (c *Client) Job(ctx context.Context, id string) (JobInfo, error) {
	resp, err := c.call(ctx, request{method: http.MethodGet, path: jobPath(id), retry: true})
	if err != nil {
		return JobInfo{}, err
	}
	var j JobInfo
	err = decode("GET "+jobPath(id), resp.body, &j)
	return j, err
}

// List returns every job the cluster knows.
func (c *Client) List(ctx context.Context) ([]JobInfo, error) {
	resp, err := c.call(ctx, request{method: http.MethodGet, path: "/api/jobs/", retry: true})
	if err != nil {
		return nil, err
	}
	var js []JobInfo
	err = decode("GET /api/jobs/", resp.body, &js)
	return js, err
}

// Logs returns a job's whole log.
func (c *Client) Logs(ctx context.Context, id string) (string, error) {
	p := jobPath(id) + "/logs"
	resp, err := c.call(ctx, request{method: http.MethodGet, path: p, retry: true})
	if err != nil {
		return "", err
	}
	var l struct {
		Logs *string `json:"logs"`
	}
	if err := decode("GET "+p, resp.body, &l); err != nil {
		return "", err
	}
	if l.Logs == nil {
		return "", fmt.Errorf("GET %s: the answer has no logs field", p)
	}
	return *l.Logs, nil
}

// Stop asks Ray to stop a job; stopped is false when it was not running.
// Stopping is idempotent, so it is retried like a GET.
func (c *Client) Stop(ctx context.Context, id string) (stopped bool, err error) {
	p := jobPath(id) + "/stop"
	resp, err := c.call(ctx, request{method: http.MethodPost, path: p, retry: true})
	if err != nil {
		return false, err
	}
	var s struct {
		Stopped bool `json:"stopped"`
	}
	err = decode("POST "+p, resp.body, &s)
	return s.Stopped, err
}

// Delete removes a terminal job and its data (not its log files).
func (c *Client) Delete(ctx context.Context, id string) (deleted bool, err error) {
	p := jobPath(id)
	resp, err := c.call(ctx, request{method: http.MethodDelete, path: p})
	if err != nil {
		return false, err
	}
	var d struct {
		Deleted bool `json:"deleted"`
	}
	err = decode("DELETE "+p, resp.body, &d)
	return d.Deleted, err
}

// WaitTerminal polls a job every poll interval (Config.PollInterval when
// zero) until its status is terminal, and returns its last details.
func (c *Client) WaitTerminal(ctx context.Context, id string, poll time.Duration) (JobInfo, error) {
	if poll <= 0 {
		poll = c.cfg.PollInterval
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		j, err := c.Job(ctx, id)
		if err != nil {
			return j, err
		}
		if j.Status.IsTerminal() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-t.C:
		}
	}
}

// UploadPackage makes dir available to the cluster as a working_dir package
// and returns its URI ("gcs://_ray_pkg_<hash>.zip"), exactly as `ray job
// submit --working-dir dir` would: the name is Ray's package name for dir
// with WorkingDirExcludes(excludes); when the cluster already has that
// package (GET /api/packages/gcs/<name> answers 200, which also pins it),
// nothing is uploaded and uploaded is false. Otherwise the zip is streamed in
// a PUT, never held in memory. A package over MaxPackageSize is refused
// before any upload with a *PackageTooLargeError.
func (c *Client) UploadPackage(ctx context.Context, dir string, excludes []string) (uri string, uploaded bool, err error) {
	entries, err := walkPackage(dir, WorkingDirExcludes(excludes))
	if err != nil {
		return "", false, err
	}
	name, err := packageNameOf(entries)
	if err != nil {
		return "", false, err
	}
	uri = "gcs://" + name
	p := "/api/packages/gcs/" + name
	r := request{method: http.MethodGet, path: p, retry: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return "", false, err
	}
	switch resp.status {
	case http.StatusOK:
		return uri, false, nil
	case http.StatusNotFound:
	default:
		return "", false, c.check(r, resp)
	}

	size, err := zipSize(entries)
	if err != nil {
		return "", false, err
	}
	if OverUploadLimit(size) {
		return "", false, &PackageTooLargeError{Dir: dir, Size: size, Limit: MaxPackageSize, Largest: largestEntries(entries, 5)}
	}
	put := request{
		method: http.MethodPut, path: p, retry: true, timeout: c.cfg.UploadTimeout,
		body: func() (io.Reader, int64, error) {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(zipEntries(pw, entries, true)) }()
			return pr, size, nil
		},
	}
	resp, err = c.do(ctx, put)
	if err != nil {
		return "", false, err
	}
	if resp.status == http.StatusRequestEntityTooLarge {
		return "", false, &PackageTooLargeError{Dir: dir, Size: size, Limit: MaxPackageSize, Largest: largestEntries(entries, 5)}
	}
	if err := c.check(put, resp); err != nil {
		return "", false, err
	}
	return uri, true, nil
}
