//go:build linux

package loop

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// threadRunDelays returns how long each thread of the process has waited
// on a run queue, runnable but not running, by thread id: the second
// field of /proc/self/task/TID/schedstat. Nil if it cannot be read.
func threadRunDelays() map[int]time.Duration {
	dir, err := os.Open("/proc/self/task")
	if err != nil {
		return nil
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil
	}
	delays := make(map[int]time.Duration, len(names))
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + name + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		if ns, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
			delays[tid] = time.Duration(ns)
		}
	}
	return delays
}
