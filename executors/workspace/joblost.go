package workspace

import (
	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
)

// JobLost tells the planner when a recorded job went away with the local
// Ray head it ran on (stopped by adopipe down, or restarted): such a job
// must be submitted again rather than counted as submitted. It only reads
// the head's record and checks its process.
func (p *Project) JobLost(op *manifest.Operation, rec state.OperationState) (string, bool) {
	if op.Cluster.Local == nil {
		return "", false
	}
	dir := p.ClusterDir(op.Cluster.Name)
	head, err := localcluster.ReadRecord(dir)
	if err != nil {
		return "its local Ray head is not running", true
	}
	c, err := localcluster.Attach(dir, *head)
	if err != nil || !c.Alive() {
		return "its local Ray head stopped", true
	}
	if head.Address != rec.Address {
		return "its local Ray head was restarted since", true
	}
	return "", false
}
