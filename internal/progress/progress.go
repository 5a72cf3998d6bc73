// Package progress is the one shape progress takes on its way to the
// terminal: executors report Events to a Func, cmd/adopipe renders them
// (as lines, or as JSON with apply --json).
package progress

import (
	"fmt"
	"strings"
	"time"
)

// Func receives progress; it may be called from several goroutines.
type Func func(Event)

// Emit reports e to f, when there is an f.
func (f Func) Emit(e Event) {
	if f != nil {
		f(e)
	}
}

// Event is one step of a run (an apply, a cluster coming up, a watch
// cycle), for the terminal view and --json.
type Event struct {
	Type string `json:"type"`
	// Name is the wheel (for build events), the operation (for jobs) or
	// the cluster (EventCluster).
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
	EventBuildStart     = "build_start"
	EventBuildDone      = "build_done"
	EventBuildFailed    = "build_failed"
	EventCached         = "wheel_cached"
	EventSynced         = "wheel_synced"    // edited members replaced in the last wheel, no build
	EventBuildCancelled = "build_cancelled" // no cluster to submit to could be reached
	EventCluster        = "cluster"
	EventClusterFailed  = "cluster_failed" // a cluster could not be reached; Error says why
	EventStaged         = "staged"
	EventUpload         = "upload"
	EventSubmit         = "submit"
	EventSkipped        = "job_skipped"
	EventJobStatus      = "job_status"
	EventLog            = "log"
	EventWarning        = "warning"
	EventOnChange       = "on_change" // watch applied an operation's on_change
)

// Warning is an event for a problem that does not stop the run.
func Warning(format string, args ...any) Event {
	return Event{Type: EventWarning, Message: fmt.Sprintf(format, args...)}
}

// FirstLine is the first line of a multi-line message (a build error, a
// job's status message), without the punctuation that introduced the
// lines cut off ("failed:").
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[:i], ",: \r\t")
	}
	return s
}
