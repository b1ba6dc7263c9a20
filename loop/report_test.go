package loop_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reporting failures nobody observed (SPEC 4, 1.1): a failure is reported
// once no script value refers to the task, or when the run ends; waiting
// on the task, joining, racing or selecting on it, or reading .error or
// .result before then handles it.

// runReport runs src on the virtual clock and returns its output and the
// failures reported, as "task: error".
func runReport(t *testing.T, src string, opts ...func(*loop.Options)) (string, []string, *loop.Engine) {
	t.Helper()
	var out bytes.Buffer
	var reported []string
	o := loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true, Seed: 1,
		OnFailure: func(task string, err *loop.Error) { reported = append(reported, task+": "+err.Error()) }}
	for _, f := range opts {
		f(&o)
	}
	eng, err := newEngine(o)
	require.NoError(t, err)
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = eng.Exec(ctx, "t.star", src)
	require.NoError(t, err, out.String())
	return out.String(), reported, eng
}

// The example: every failure is handled a moment after it
// happened, so none is reported and the status stays 0.
func TestFailureHandledLaterIsNotReported(t *testing.T) {
	out, reported, eng := runReport(t, `
def job(i):
    sleep(0.1 * (3 - i))
    if i == 2:
        fail('job 2 failed')
    return i
ts = [spawn(job, i) for i in range(3)]
for t in ts:
    print(catch(t.wait).ok)
print('all handled')
`)
	assert.Equal(t, "True\nTrue\nFalse\nall handled\n", out)
	assert.Empty(t, reported)
	assert.Zero(t, eng.Unhandled)
}

// Each way of observing a failed task handles it.
func TestEveryWayOfObservingHandlesTheFailure(t *testing.T) {
	out, reported, _ := runReport(t, `
def bad(what):
    fail(what)
a, b, c, d, e, f, g = [spawn(bad, w) for w in ["error", "result", "join", "race", "select", "wait", "settled"]]
sleep(1)  # all have failed, nobody waiting
print(a.state, a.error.kind)
print(catch(lambda: b.result).error)
print(catch(join, c).error)
print(catch(race, d).error)
print(catch(select, e).error)
print(catch(wait, f).error)
print(join(g, settle = True)[0].ok)
`)
	assert.Equal(t, `failed error
error: result
error: join
error: race
error: select
error: wait
False
`, out)
	assert.Empty(t, reported)
}

// Join and race observe every task they are given, not only the outcome
// they return: items that fail together (the same timer) or while the
// first failure is on its way are not reported, whether join spawned
// them from callables or the script holds them.
func TestJoinAndRaceObserveEveryItem(t *testing.T) {
	out, reported, eng := runReport(t, `
def bad(n):
    sleep(0.01)
    fail("bad %d" % n)
print(catch(join, lambda: bad(1), lambda: bad(2)).error)
print(catch(race, lambda: bad(3), lambda: bad(4)).error)
a, b = spawn(bad, 5), spawn(bad, 6)
print(catch(join, a, b).error)
c, d = spawn(bad, 7), spawn(bad, 8)
print(catch(race, c, d).error)
`)
	assert.Equal(t, "error: bad 1\nerror: bad 3\nerror: bad 5\nerror: bad 7\n", out)
	assert.Empty(t, reported)
	assert.Zero(t, eng.Unhandled)
}

// A task whose value nobody keeps (spawn(f), dropped) is reported where it
// fails, with its name, spawn site and traceback; the run goes on.
func TestDroppedTaskIsReportedWhereItFails(t *testing.T) {
	out, reported, eng := runReport(t, `
def bad():
    sleep(1)
    fail("lost")
spawn(bad, name = "worker")
def f():
    spawn(bad, name = "inner")  # dropped when f returns
f()
sleep(2)
print("main goes on")
`)
	assert.Equal(t, []string{"worker: error: lost", "inner: error: lost"}, reported)
	assert.Equal(t, 2, eng.Unhandled)
	assert.True(t, strings.HasPrefix(out, `task 'worker' failed:
Traceback (most recent call last):
  t.star:5:6: task 'main' spawned task 'worker'
  t.star:4:9: in bad
error: lost
task 'inner' failed:
`), out)
	assert.True(t, strings.HasSuffix(out, "main goes on\n"), out)
}

// A failed task some value still refers to is reported once none does,
// while the run goes on (within about a second: here the script waits for
// the report instead of measuring it), or when the run ends.
func TestFailureIsReportedOnceTheValueIsDropped(t *testing.T) {
	reportedCh := make(chan struct{}, 1)
	waitReport := engine.AsyncBuiltin("wait_report", func(ctx context.Context, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		select {
		case <-reportedCh:
			return starlark.True, nil
		case <-time.After(20 * time.Second):
			return starlark.False, nil
		}
	})
	out, reported, _ := runReport(t, `
def bad(what):
    fail(what)
held = spawn(bad, "held")
kept = spawn(bad, "kept to the end")
sleep(1)
print("still held:", held.state)
held = None
print("reported while running:", wait_report())
`, func(o *loop.Options) {
		o.Globals = starlark.StringDict{"wait_report": waitReport}
		inner := o.OnFailure
		o.OnFailure = func(task string, err *loop.Error) {
			inner(task, err)
			select {
			case reportedCh <- struct{}{}:
			default:
			}
		}
	})
	assert.Equal(t, []string{"task-2: error: held", "task-3: error: kept to the end"}, reported)
	i := strings.Index(out, "task 'task-2' failed:")
	j := strings.Index(out, "reported while running: True")
	k := strings.Index(out, "task 'task-3' failed:")
	assert.True(t, strings.HasPrefix(out, "still held: failed\n"), out)
	assert.True(t, 0 < i && i < j && j < k, out)
}

// A cancelled task is not a failure: never reported.
func TestCancelledTaskIsNotReported(t *testing.T) {
	_, reported, eng := runReport(t, `
t = spawn(sleep, 10)
sleep(1)
t.cancel()
spawn(sleep, 10).cancel()
`)
	assert.Empty(t, reported)
	assert.Zero(t, eng.Unhandled)
}

// A task has one script value: the one spawn returned is the one
// current_task() gives inside it, and it works as a dict key.
func TestTaskValueIdentity(t *testing.T) {
	out, _, _ := runReport(t, `
ch = channel(1)
def me():
    ch.send(current_task())
t = spawn(me)
inside = ch.recv()
print(inside == t, {t: 1}[inside], t != spawn(print))
`)
	assert.Equal(t, "True 1 True\n\n", out)
}

// A failed task a global still refers to when the run ends is reported
// then, after everything main printed.
func TestFailureKeptToTheEndIsReportedAtTheEnd(t *testing.T) {
	out, reported, eng := runReport(t, `
results = {}
def bad():
    fail("late")
results["t"] = spawn(bad)
sleep(5)
print("main done")
`)
	assert.Equal(t, []string{"task-2: error: late"}, reported)
	assert.Equal(t, 1, eng.Unhandled)
	assert.True(t, strings.HasPrefix(out, "main done\ntask 'task-2' failed:\n"), out)
}
