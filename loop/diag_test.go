package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diagRun runs src on a fresh engine with the core builtins plus globals
// and returns everything printed (stdout and stderr) and the error.
func diagRun(t *testing.T, opts Options, src string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &out
	e := New(opts, Builtins())
	defer e.Close()
	_, err := e.Exec(context.Background(), "diag.star", src)
	return out.String(), err
}

// tasks() describes every live task precisely: ids, names, states, what
// each waits on in the format of its source, spawn sites and stacks
// (innermost last; the caller's own stack ends at the tasks() call).
func TestTasksBuiltin(t *testing.T) {
	out, err := diagRun(t, Options{VirtualTime: true}, `
f = future()
def napper():
    sleep(0.5)
def waiter():
    f.wait()
def helper():
    waiter()
n = spawn(napper, name="napper")
w = spawn(helper, name="waiter")
sleep(0)
for ti in tasks():
    print(ti.id, ti.name, ti.state, ti.waiting_on, ti.spawned_at)
    for fr in ti.stack:
        print("   ", fr)
ti = tasks()[1]
print(str(ti)[:9], dir(ti))
print(type(ti), catch(lambda: ti.nope).error)
print(ti == tasks()[1], ti == tasks()[2], ti != tasks()[2])
f.set(1)
`)
	require.NoError(t, err)
	assert.Equal(t, `1 main running None None
    diag.star:12:16 in <toplevel>
2 napper waiting sleep until +0.50s diag.star:9:10
    diag.star:4:10 in napper
3 waiter waiting wait future diag.star:10:10
    diag.star:8:11 in helper
    diag.star:6:11 in waiter
TaskInfo( ["id", "name", "spawned_at", "stack", "state", "waiting_on"]
TaskInfo error: TaskInfo has no .nope field or method
True False True
`, out)
}

func TestTasksRejectsArguments(t *testing.T) {
	_, err := diagRun(t, Options{}, `tasks(1)`)
	require.Error(t, err)
	assert.Equal(t, KindValue, KindOf(err))
	assert.Contains(t, err.Error(), "tasks: got 1 arguments, want at most 0")
}

// Two tasks waiting on each other, and main waiting on both: the report
// names every blocked task with what it waits on and its stack, and the
// cycle between the two.
func TestDeadlockReportsTasksAndCycle(t *testing.T) {
	_, err := diagRun(t, Options{}, `
def a():
    wait(tb)
def b():
    wait(ta)
ta = spawn(a, name="a")
tb = spawn(b, name="b")
join(ta, tb)
`)
	var ce *Error
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.Equal(t, KindDeadlock, ce.Kind)
	assert.Equal(t, `deadlock: 3 tasks blocked forever
  task 'main' (id 1, waiting): join (2 of 2 pending)
    diag.star:8:5 in <toplevel>
  task 'a' (id 2, waiting): wait task 'b'
    spawned at diag.star:6:11
    diag.star:3:9 in a
  task 'b' (id 3, waiting): wait task 'a'
    spawned at diag.star:7:11
    diag.star:5:9 in b
  cycle: task 'a' waits on task 'b' waits on task 'a'`, ce.Error())
}

// A dependency that is not a cycle (main waits on a task that waits on a
// future nobody sets) is reported without a cycle line.
func TestDeadlockWithoutCycle(t *testing.T) {
	_, err := diagRun(t, Options{}, `
f = future()
wait(spawn(f.wait, name="w"))
`)
	require.Equal(t, KindDeadlock, KindOf(err))
	assert.Contains(t, err.Error(), "deadlock: 2 tasks blocked forever\n  task 'main' (id 1, waiting): wait task 'w'")
	assert.Contains(t, err.Error(), "task 'w' (id 2, waiting): wait future")
	assert.NotContains(t, err.Error(), "cycle")
}

// waitCycles reports each cycle once, oldest task first, also when a
// longer chain leads into it.
func TestWaitCycles(t *testing.T) {
	ts := make([]*Task, 5)
	for i := range ts {
		ts[i] = &Task{id: int64(i + 1), name: string(rune('a' + i)), state: StateWaiting}
	}
	// a -> b -> c -> d -> b (cycle b c d); e -> a; join reasons mixed in.
	ts[0].why = ts[1]
	ts[1].why = ts[2]
	ts[2].why = joinReason{g: &joinGroup{done: []bool{true, false}}, its: []Awaitable{ts[0], ts[3]}}
	ts[3].why = raceReason{its: []Awaitable{ts[1]}}
	ts[4].why = ts[0]
	cycles := waitCycles(ts)
	require.Len(t, cycles, 1)
	assert.Equal(t, []int64{2, 3, 4}, taskIDs(cycles[0]))

	// A task waiting on itself is a cycle of one.
	self := &Task{id: 9, name: "self", state: StateWaiting}
	self.why = self
	cycles = waitCycles([]*Task{self})
	require.Len(t, cycles, 1)
	assert.Equal(t, []int64{9}, taskIDs(cycles[0]))
}

// A dense tangle (every task joins every other) is reported in linear
// time, with at least one cycle.
func TestWaitCyclesDenseGraph(t *testing.T) {
	ts := make([]*Task, 200)
	its := make([]Awaitable, len(ts))
	for i := range ts {
		ts[i] = &Task{id: int64(i + 1), state: StateWaiting}
		its[i] = ts[i]
	}
	for _, tk := range ts {
		tk.why = joinReason{g: &joinGroup{done: make([]bool, len(its))}, its: its}
	}
	cycles := waitCycles(ts)
	require.NotEmpty(t, cycles)
	assert.Equal(t, int64(1), cycles[0][0].id)
}

// A failure three spawns deep names every spawn site, outermost first.
func TestTracebackShowsSpawnChain(t *testing.T) {
	var failed *Error
	_, err := diagRun(t, Options{OnFailure: func(_ string, e *Error) { failed = e }}, `
def c():
    fail("deep")
def b():
    spawn(c, name="c")
def a():
    spawn(b, name="b")
spawn(a, name="a")
`)
	require.NoError(t, err)
	require.NotNil(t, failed)
	assert.Equal(t, []SpawnSite{
		{By: "main", Task: "a", At: "diag.star:8:6"},
		{By: "a", Task: "b", At: "diag.star:7:10"},
		{By: "b", Task: "c", At: "diag.star:5:10"},
	}, failed.Spawns)
	assert.Equal(t, `Traceback (most recent call last):
  diag.star:8:6: task 'main' spawned task 'a'
  diag.star:7:10: task 'a' spawned task 'b'
  diag.star:5:10: task 'b' spawned task 'c'
  diag.star:3:9: in c
error: deep
`, failed.Report(false))
}

// Deep recursion: a line repeated in a row is shown three times, then
// counted, as Python does (a stack overflow printed 100,000 lines).
func TestTracebackCountsRepeatedLines(t *testing.T) {
	_, err := diagRun(t, Options{}, `
def rec(n):
    if n == 50:
        fail("deep")
    rec(n + 1)
rec(0)
`)
	assert.Equal(t, `Traceback (most recent call last):
  diag.star:6:4: in <toplevel>
  diag.star:5:8: in rec
  diag.star:5:8: in rec
  diag.star:5:8: in rec
  [Previous line repeated 47 more times]
  diag.star:4:13: in rec
error: deep
`, ToError(err).Report(false))
}

// With GoTrace, an error a builtin makes carries the Go frames where it was
// made (so --go-trace shows the builtin); without, none are recorded.
func TestGoTraceRecordsWhereErrorsWereMade(t *testing.T) {
	_, err := diagRun(t, Options{GoTrace: true}, `sleep(-1)`)
	ce := ToError(err)
	assert.Contains(t, ce.GoStack, "loop.builtinSleep")
	assert.Contains(t, ce.Report(true), "Go stack:\n")

	_, err = diagRun(t, Options{}, `sleep(-1)`)
	ce = ToError(err)
	assert.Empty(t, ce.GoStack)
	assert.NotContains(t, ce.Report(true), "Go stack")
	assert.Equal(t, int32(0), goTraceOn.Load(), "engines that finished running no longer ask for Go frames")
}

// blockingBuiltin returns a Go builtin that blocks the loop for d, as a
// badly written extension would.
func blockingBuiltin(d time.Duration) *starlark.Builtin {
	return starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		time.Sleep(d)
		return starlark.None, nil
	})
}

// A task that keeps the loop in a blocking Go call is reported once, with
// its name, spawn site and the script position where it next yielded.
func TestSlowTaskWarning(t *testing.T) {
	out, err := diagRun(t, Options{Globals: starlark.StringDict{"block": blockingBuiltin(300 * time.Millisecond)}}, `
def loader():
    block()
    sleep(0.01)
    print("loaded")
spawn(loader, name="loader")
`)
	require.NoError(t, err)
	assert.Regexp(t, `^coro: warning: task 'loader' kept the loop for [0-9.]+s without yielding \(spawned at diag.star:6:6\); it next yielded at diag.star:4:10 in loader
loaded
$`, out)
}

// A loop idle for a few of the watchdog's ticks parks it (an idle server
// then wakes no thread for it); the next run wakes it, and a slow run
// after the idle spell is reported as any other.
func TestWatchdogParksWhileIdle(t *testing.T) {
	gate := make(chan struct{})
	// gate() waits, off the loop, until the test closes gate.
	gateFn := starlark.NewBuiltin("gate", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return x.Offload(Offload{Why: ReasonString("gate"), Op: b.Name(), Timeout: NoTimeout, Own: true,
			Work: func(context.Context) (starlark.Value, error) { <-gate; return starlark.None, nil }})
	})
	var out bytes.Buffer
	e := New(Options{Stdout: &out, Stderr: &out, SlowWarning: 50 * time.Millisecond, Globals: starlark.StringDict{
		"block": blockingBuiltin(300 * time.Millisecond),
		"gate":  gateFn,
	}}, Builtins())
	defer e.Close()
	ran := make(chan error, 1)
	go func() {
		_, err := e.Exec(context.Background(), "diag.star", `
def loader():
    gate()
    block()
    print("loaded")
spawn(loader, name="loader")
`)
		ran <- err
	}()
	// The loop waits for gate: the watchdog parks (a tick of 50 ms / 4,
	// four of them idle).
	require.Eventually(t, e.wd.parked.Load, 5*time.Second, time.Millisecond, "the watchdog parks while the loop is idle")
	close(gate)
	require.NoError(t, <-ran)
	assert.False(t, e.wd.parked.Load(), "the run woke it")
	assert.Regexp(t, `^loaded\ncoro: warning: task 'loader' kept the loop for [0-9.]+s without yielding \(spawned at diag.star:6:6\); it then finished\n$`, out.String())
}

// On a loaded machine the loop's thread can wait for a CPU for longer
// than the threshold while its task does little: a run during which a
// thread of the process waited for a CPU most of the time is not
// reported. (A thread here waits all the time; the blocking builtin
// stands in for the task the machine held up.)
func TestStarvedRunIsNotReported(t *testing.T) {
	defer func(f func() map[int]time.Duration) { runDelays = f }(runDelays)
	start := time.Now()
	runDelays = func() map[int]time.Duration { return map[int]time.Duration{1: time.Since(start)} }
	out, err := diagRun(t, Options{Globals: starlark.StringDict{"block": blockingBuiltin(300 * time.Millisecond)}}, `
block()
print("done")
`)
	require.NoError(t, err)
	assert.Equal(t, "done\n", out)
}

// Options.SlowWarning moves the threshold, or (negative) turns it off.
func TestSlowWarningOption(t *testing.T) {
	src := `
def loader():
    block()
    print("loaded")
spawn(loader, name="loader")
`
	out, err := diagRun(t, Options{SlowWarning: -1, Globals: starlark.StringDict{"block": blockingBuiltin(300 * time.Millisecond)}}, src)
	require.NoError(t, err)
	assert.Equal(t, "loaded\n", out)
	out, err = diagRun(t, Options{SlowWarning: 50 * time.Millisecond, Globals: starlark.StringDict{"block": blockingBuiltin(300 * time.Millisecond)}}, src)
	require.NoError(t, err)
	assert.Regexp(t, `^loaded\ncoro: warning: task 'loader' kept the loop for [0-9.]+s without yielding \(spawned at diag.star:5:6\); it then finished\n$`, out)
}

// A task that computes for long but passes time-slice boundaries offers
// the loop to others at each: the word the watchdog watches changes at
// every boundary, so such a task is not reported.
func TestSliceBoundaryCountsAsYielding(t *testing.T) {
	var e *Engine
	var words []uint64
	word := starlark.NewBuiltin("word", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		words = append(words, e.wd.word.Load())
		return starlark.None, nil
	})
	e = New(Options{Stdout: io.Discard, Stderr: io.Discard, TimeSlice: 100, Globals: starlark.StringDict{"word": word}}, Builtins())
	defer e.Close()
	_, err := e.Exec(context.Background(), "diag.star", `
word()
word()  # same run, no boundary
n = 0
for i in range(1000):
    n += i
word()  # same run, past several boundaries
`)
	require.NoError(t, err)
	require.Len(t, words, 3)
	assert.Equal(t, uint64(1), words[0]>>runBits, "the word names the running task")
	assert.Equal(t, words[0], words[1])
	assert.NotEqual(t, words[1], words[2])
	assert.Equal(t, uint64(0), e.wd.word.Load(), "idle once the run is over")
}

// On the virtual clock nothing is reported: such runs must print the same
// on any machine.
func TestNoSlowTaskWarningOnVirtualClock(t *testing.T) {
	out, err := diagRun(t, Options{VirtualTime: true, Globals: starlark.StringDict{"block": blockingBuiltin(300 * time.Millisecond)}}, `
block()
print("done")
`)
	require.NoError(t, err)
	assert.Equal(t, "done\n", out)
}

// A run that never gives the loop back is reported by the watchdog itself
// after slowStuck, without a script position (only the loop could read it).
func TestStuckTaskIsReportedByTheWatchdog(t *testing.T) {
	defer func(d time.Duration) { slowStuck = d }(slowStuck)
	slowStuck = 200 * time.Millisecond
	// A plain buffer: the watchdog's write must happen before the loop's
	// next one (the race detector checks).
	var out bytes.Buffer
	e := New(Options{Stdout: &out, Stderr: &out, Globals: starlark.StringDict{"block": blockingBuiltin(600 * time.Millisecond)}}, Builtins())
	defer e.Close()
	_, err := e.Exec(context.Background(), "diag.star", "spawn(block, name=\"blocker\")\n")
	require.NoError(t, err)
	s := out.String()
	assert.Regexp(t, `^coro: warning: task 'blocker' \(spawned at diag.star:1:6\) kept the loop for [0-9.]+s without yielding, stuck in a Go call\n$`, s)
	assert.Equal(t, 1, strings.Count(s, "warning"), "reported once")
}

// Dump lists every live task as the deadlock report does.
func TestDump(t *testing.T) {
	var out bytes.Buffer
	e := New(Options{Stdout: &out, Stderr: &out, VirtualTime: true}, Builtins())
	defer e.Close()
	var dump string
	e.predeclared["dump"] = starlark.NewBuiltin("dump", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		dump = e.dump()
		return starlark.None, nil
	})
	_, err := e.Exec(context.Background(), "diag.star", `
spawn(sleep, 1, name="sleeper")
sleep(0)
dump()
`)
	require.NoError(t, err)
	assert.Equal(t, `2 live tasks:
  task 'main' (id 1, running)
    diag.star:4:5 in <toplevel>
  task 'sleeper' (id 2, waiting): sleep until +1.00s
    spawned at diag.star:2:6
`, dump)
}

// BenchmarkWatchdogPublish measures what the watchdog costs the hot path
// per run: publishing the run and checking for a flag at its end (compare
// with a loop trip, BenchmarkSleepZero).
func BenchmarkWatchdogPublish(b *testing.B) {
	var w watchdog
	t := &Task{id: 7}
	for i := 0; i < b.N; i++ {
		w.runStarted(t)
		if w.flagged.Load() != 0 {
			b.Fatal("flagged")
		}
	}
}

func taskIDs(ts []*Task) []int64 {
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.id
	}
	return ids
}

// A task that respawns itself many times shows the innermost spawns in its
// traceback, at most maxSpawnChain of them, and keeps no ancestor alive:
// its chain is made of links, cut at that length.
// Tasks spawned at one site by one task share their spawn link (a
// loop's 100k spawns made 100k of them), and each failure still names
// its own chain: the task itself, then the spawner of each link.
func TestSpawnLinksShared(t *testing.T) {
	var got []*Error
	_, err := diagRun(t, Options{VirtualTime: true, OnFailure: func(_ string, err *Error) { got = append(got, err) }}, `
def child(i):
    if i >= 2:
        spawn(grandchild, i, name="g%d" % i)
def grandchild(i):
    fail("no %d" % i)
for i in range(4):
    spawn(child, i, name="c%d" % i)
`)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, err := range got {
		c, g := fmt.Sprintf("c%d", i+2), fmt.Sprintf("g%d", i+2)
		assert.Equal(t, []SpawnSite{{By: "main", Task: c, At: "diag.star:8:10"}, {By: c, Task: g, At: "diag.star:4:14"}}, err.Spawns)
	}

	e := &Engine{}
	p := &Task{name: "p"}
	first := e.linkSpawn(p, "x:1:1")
	assert.Same(t, first, e.linkSpawn(p, "x:1:1"), "same spawner, same site")
	assert.NotSame(t, first, e.linkSpawn(p, "x:2:1"), "another site")
	other := e.linkSpawn(&Task{name: "q"}, "x:2:1")
	assert.Equal(t, "q", other.by, "another spawner")
	child := &Task{name: "p", link: other}
	assert.Same(t, other, e.linkSpawn(child, "x:2:1").up, "a spawner of the same name with a chain of its own")
}

func TestSpawnChainIsBounded(t *testing.T) {
	var got *Error
	_, err := diagRun(t, Options{VirtualTime: true, OnFailure: func(_ string, err *Error) { got = err }}, `
def hop(n):
    if n == 0:
        fail("deep")
    spawn(hop, n - 1, name="hop-%d" % (n - 1))
spawn(hop, 40, name="hop-40")
`)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Len(t, got.Spawns, maxSpawnChain)
	assert.Equal(t, SpawnSite{By: "hop-1", Task: "hop-0", At: "diag.star:5:10"}, got.Spawns[maxSpawnChain-1])
	assert.Equal(t, "hop-16", got.Spawns[0].By)
	// Every link in a task's chain stays within the bound.
	e := &Engine{}
	l := e.linkSpawn(nil, "x:1:1")
	for i := 0; i < 100; i++ {
		l = e.linkSpawn(&Task{name: "p", link: l}, "x:1:1")
	}
	n := 0
	for ; l != nil; l = l.up {
		n++
	}
	assert.Equal(t, maxSpawnChain, n)
}
