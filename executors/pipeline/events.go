package pipeline

import "time"

// Event is one step of an apply, for the terminal view and --json.
type Event struct {
	Type string `json:"type"`
	// Name is the wheel (for build events) or the operation (for jobs).
	Name    string        `json:"name,omitempty"`
	Message string        `json:"message,omitempty"`
	JobID   string        `json:"job_id,omitempty"`
	Status  string        `json:"status,omitempty"`
	Wheel   string        `json:"wheel,omitempty"`
	LogPath string        `json:"log_path,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Event types.
const (
	EventBuildStart  = "build_start"
	EventBuildDone   = "build_done"
	EventBuildFailed = "build_failed"
	EventCached      = "wheel_cached"
	EventCluster     = "cluster"
	EventStaged      = "staged"
	EventUpload      = "upload"
	EventSubmit      = "submit"
	EventSkipped     = "job_skipped"
	EventJobStatus   = "job_status"
	EventLog         = "log"
)
