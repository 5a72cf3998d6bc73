package termview

import (
	"fmt"

	"github.com/adopipe/adopipe/internal/progress"
)

// ShowBuild draws a build event as its wheel's row, in place, and reports
// whether it did. Any other event first ends the live rows, so the lines
// that follow are printed below them. A failed build also gets its error
// printed below its row. The caller holds the Live's mutex.
func (l *Live) ShowBuild(e progress.Event) bool {
	switch e.Type {
	case progress.EventBuildStart:
		l.Update(e.Name, "building", false)
	case progress.EventBuildDone:
		l.Update(e.Name, "built "+e.Wheel, true)
	case progress.EventBuildCancelled:
		l.Update(e.Name, "cancelled", true)
	case progress.EventBuildFailed:
		l.Update(e.Name, "FAILED", true)
		l.Finish()
		fmt.Fprintf(l.w, "wheel %s: %s\n", e.Name, e.Error)
	default:
		l.Finish()
		return false
	}
	return true
}
