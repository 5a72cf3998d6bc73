//go:build unix

package running

// Proc names one process: a pid alone could be reused once it exits.
type Proc struct {
	PID       int
	StartTime uint64
	// Session is the process's session id when it was listed.
	Session int
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
	children := map[int][]Proc{}
	if eachLive(func(p int, st stat) {
		children[st.ppid] = append(children[st.ppid], Proc{PID: p, StartTime: st.startTime, Session: st.session})
	}) != nil {
		return nil
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

// SessionsLedBy lists the live processes in the sessions that procs lead
// (a process whose Session is its own PID). A session outlives its leader
// and keeps members that were reparented or forked after procs was
// listed, which is how a job's entrypoint shell and the command it
// started are found once the head that owned them is gone.
func SessionsLedBy(procs []Proc) []Proc {
	led := map[int]bool{}
	for _, p := range procs {
		if p.Session == p.PID {
			led[p.Session] = true
		}
	}
	if len(led) == 0 {
		return nil
	}
	var out []Proc
	_ = eachLive(func(pid int, st stat) { // no /proc: nothing to list
		if led[st.session] {
			out = append(out, Proc{PID: pid, StartTime: st.startTime, Session: st.session})
		}
	})
	return out
}
