package benchstat

import "time"

// Record is one figure as benchtime and peerbench append it to the bench
// results (one JSON line each); benchreport reads these fields back. S is
// one side's summary, whose name, median_s, min_s and max_s benchreport
// tabulates.
type Record[S any] struct {
	ID       string    `json:"id"`
	What     string    `json:"what"`
	Runs     int       `json:"runs"`
	Warmup   int       `json:"warmup"`
	A        S         `json:"a"`
	B        *S        `json:"b,omitempty"`
	Ratio    float64   `json:"ratio_a_over_b,omitempty"`
	Targets  []string  `json:"targets,omitempty"`
	Met      bool      `json:"met"` // every target met; true until one is missed
	Finished time.Time `json:"finished"`
}

// NewRecord starts the record of a figure that has just finished.
func NewRecord[S any](id, what string, runs, warmup int) Record[S] {
	return Record[S]{ID: id, What: what, Runs: runs, Warmup: warmup, Met: true, Finished: time.Now().UTC()}
}
