//go:build unix

package running

import (
	"os"
	"strconv"
)

// Proc names one process: a pid alone could be reused once it exits.
type Proc struct {
	PID       int
	StartTime uint64
}

// Running reports whether p still runs as the same process (same pid and
// start time, not a zombie).
func (p Proc) Running() bool {
	st, ok := readStat(p.PID)
	return ok && st.startTime == p.StartTime && live(st.state)
}

// Descendants lists the live processes below pid, children first. A
// process that started a session of its own is still listed: only its
// parent links it to pid. Without /proc it lists nothing.
func Descendants(pid int) []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]Proc{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(p); ok && live(st.state) {
			children[st.ppid] = append(children[st.ppid], Proc{PID: p, StartTime: st.startTime})
		}
	}
	var out []Proc
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}
