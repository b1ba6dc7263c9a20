package loop

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"time"
	"weak"
)

// Reporting failures nobody observed (SPEC 4, 1.1). A failed task is
// reported when nobody can observe it any more: when no script value
// refers to it, or when the run ends. Before that, waiting on it,
// joining, racing or selecting on it, a group it belongs to, or reading
// its .error or .result observes it: it is then never reported. This is
// asyncio's rule, so spawning a list of tasks and then waiting on each in
// turn handles every failure.
//
// Scripts hold a *TaskValue, the loop holds the *Task, and a task that
// failed keeps only a weak pointer to its value. So "no script value
// refers to the task" is "its TaskValue was collected", which only a
// garbage collection can tell:
//
//   - When a task fails unobserved while its value may still be alive,
//     the loop collects at once (within a budget, collectBudget), so the
//     usual case, spawn(f) with the value dropped, is reported where it
//     happened, as before version 1.1, and in a fixed place in the output.
//   - While failures are pending, a goroutine makes sure a collection
//     happens at least once a second (collectEvery) and then posts a
//     check to the loop, which reports the tasks whose value is gone. It
//     reads no loop state itself.
//   - The end of a run (Exec, RunUntilIdle, Close) reports the rest.

// collectEvery bounds how long a failure whose value became unreachable
// waits for its report.
const collectEvery = time.Second

// collectBudget bounds the collections a failure forces on the loop: the
// first collectFree of a run are free, and then they may take a tenth of
// the run's time, plus collectBurst. Beyond that, failures wait for the
// once-a-second collection. The free ones keep a small script's reports
// where they happened on a loaded machine too, where a collection of a
// small heap can take longer than collectBurst in wall time.
const (
	collectFree  = 16
	collectShare = 10
	collectBurst = 50 * time.Millisecond
)

type reportState struct {
	pending    map[*Task]struct{} // failed, unobserved, value maybe alive; loop only
	npending   atomic.Int32       // len(pending), for the collector
	collecting atomic.Bool        // the collector goroutine runs
	posted     atomic.Bool        // a check is posted to the loop and has not run
	started    time.Time          // loop only: the budget's start
	spent      time.Duration      // loop only: time spent in forced collections
	forced     int                // loop only: how many the run forced
}

// Value returns the task's script value: the same one for as long as
// some script value refers to it. While the task is live, the task holds
// its value (the loop holds the task, so the value stays: nothing needs
// to know yet whether a script refers to it); once it ended, only weakly,
// and only if it failed with nobody observing it, because a weak pointer
// costs the runtime a special record per object, too dear for every spawn.
func (t *Task) Value() *TaskValue {
	if t.val != nil {
		return t.val
	}
	if v := t.ref.Value(); v != nil {
		return v
	}
	v := &TaskValue{t: t}
	if t.Done() {
		t.ref = weak.Make(v)
	} else {
		t.val = v
	}
	return v
}

// dropValue lets go of the task's value as it ends; weak keeps a weak
// pointer to it, for a failure that waits for its report.
func (t *Task) dropValue(weakly bool) {
	if v := t.val; v != nil {
		t.val = nil
		if weakly {
			t.ref = weak.Make(v)
		}
	}
}

// observe records that a script saw the task's outcome: its failure, if
// any, is handled and will not be reported.
func (t *Task) observe() {
	if t.observed {
		return
	}
	t.observed = true
	if t.pending {
		t.pending = false
		r := &t.eng.report
		delete(r.pending, t)
		r.npending.Add(-1)
	}
}

// failedUnobserved handles a task that failed with nobody waiting on it:
// reported now if no script value refers to it, else once none does.
func (e *Engine) failedUnobserved(t *Task) {
	if t.observed {
		return
	}
	t.dropValue(true)
	if t.ref.Value() != nil && e.mayCollect() {
		e.collectNow()
	}
	if t.ref.Value() == nil {
		t.observed = true
		e.reportFailure(t)
		return
	}
	r := &e.report
	if r.pending == nil {
		r.pending = map[*Task]struct{}{}
	}
	r.pending[t] = struct{}{}
	t.pending = true
	r.npending.Add(1)
	if r.collecting.CompareAndSwap(false, true) {
		go e.collector()
	}
}

// mayCollect reports whether a forced collection fits the budget.
func (e *Engine) mayCollect() bool {
	r := &e.report
	if r.started.IsZero() {
		r.started = time.Now()
	}
	return r.forced < collectFree || r.spent <= collectBurst+time.Since(r.started)/collectShare
}

// collectNow runs a collection on the loop: once runtime.GC returns, the
// weak pointers of unreachable values read nil.
func (e *Engine) collectNow() {
	start := time.Now()
	runtime.GC()
	e.report.spent += time.Since(start)
	e.report.forced++
}

// collector runs while failures are pending: every half second it makes
// sure a collection happened since the last time (forcing one if the
// program made none), then has the loop check the pending failures. So a
// value dropped is collected, and its failure reported, within a second.
// It touches no loop state: the check is posted.
func (e *Engine) collector() {
	r := &e.report
	tick := time.NewTicker(collectEvery / 2)
	defer tick.Stop()
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	cycles := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	seen := cycles()
	for {
		select {
		case <-tick.C:
		case <-e.ctx.Done(): // the engine closed
			r.collecting.Store(false)
			return
		}
		if r.npending.Load() == 0 {
			r.collecting.Store(false)
			// A failure that became pending since the load above saw
			// the collector running and started none: go on for it.
			if r.npending.Load() == 0 || !r.collecting.CompareAndSwap(false, true) {
				return
			}
		}
		if now := cycles(); now == seen || now == 0 {
			runtime.GC()
		}
		seen = cycles()
		if r.posted.CompareAndSwap(false, true) {
			e.Post(e.checkPending)
		}
	}
}

// checkPending reports, on the loop, the pending failures whose script
// value was collected.
func (e *Engine) checkPending() {
	e.report.posted.Store(false)
	var gone []*Task
	for t := range e.report.pending {
		if t.ref.Value() == nil {
			gone = append(gone, t)
		}
	}
	e.reportTasks(gone)
}

// reportPending reports every failure still pending: the run has ended,
// so nobody can observe them any more.
func (e *Engine) reportPending() {
	var all []*Task
	for t := range e.report.pending {
		all = append(all, t)
	}
	e.reportTasks(all)
}

// reportTasks reports the failures of list, oldest task first.
func (e *Engine) reportTasks(list []*Task) {
	slices.SortFunc(list, func(a, b *Task) int { return cmp.Compare(a.id, b.id) })
	for _, t := range list {
		t.observe() // leaves the pending list
		e.reportFailure(t)
	}
}

// reportFailure writes the report of an unobserved failure on stderr
// (the task's name, then the traceback, which starts at its spawn site)
// and hands it to Options.OnFailure.
func (e *Engine) reportFailure(t *Task) {
	e.Unhandled++
	fmt.Fprintf(e.stderr, "task '%s' failed:\n%s", t.name, t.err.Report(e.opts.GoTrace))
	if e.opts.OnFailure != nil {
		e.reportHostPanic(e.callHostKnown("Options.OnFailure", func() { e.opts.OnFailure(t.name, t.err) }))
	}
}
