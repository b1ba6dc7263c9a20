package loop

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runUnwind runs src with unwound(), which prints each other live task:
// its name, whether it waits unwound (no goroutine) and where.
func runUnwind(t *testing.T, src string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	var e *Engine
	pre := Builtins()
	pre["unwound"] = starlark.NewBuiltin("unwound", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		me := ExecOf(th).Task
		for _, task := range e.Tasks() {
			if task == me {
				continue
			}
			stack := StackOf(task)
			where := ""
			if len(stack) > 0 {
				where = stack[len(stack)-1]
			}
			out.WriteString(task.name + " unwound=" + map[bool]string{true: "yes", false: "no"}[task.Unwound()] + " at " + where + "\n")
		}
		return starlark.None, nil
	})
	e = New(Options{Stdout: &out, Stderr: &out, VirtualTime: true, Seed: 1}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "u.star", src)
	return out.String(), err
}

// Tasks waiting in sleep or on a channel, only Starlark functions deep,
// wait unwound; one waiting under a Go function (catch) keeps its
// goroutine. Each resumes where it was, loops and locals intact.
func TestTasksWaitUnwound(t *testing.T) {
	out, err := runUnwind(t, `
ch = channel()
def deep(n):
    total = 0
    for i in range(n):
        sleep(1)
        total += i
    return total
def middle(n):
    return deep(n) * 10
def receiver():
    return ch.recv()
def in_catch():
    return catch(sleep, 1).ok
a = spawn(middle, 3, name="sleeper")
b = spawn(receiver, name="receiver")
c = spawn(in_catch, name="caught")
sleep(0.5)
unwound()
ch.send("msg")
print(a.wait(), b.wait(), c.wait())
`)
	require.NoError(t, err)
	assert.Contains(t, out, "sleeper unwound=yes at u.star:6:14 in deep\n")
	assert.Contains(t, out, "receiver unwound=yes at u.star:12:19 in receiver\n")
	assert.Contains(t, out, "caught unwound=no at u.star:14:17 in in_catch\n")
	assert.True(t, strings.HasSuffix(out, "30 msg True\n"), out)
}

// A task cancelled while unwound runs its deferred calls and ends
// cancelled; a timeout and a closed channel fail the resumed call with
// the traceback through its frames.
func TestUnwoundTasksFail(t *testing.T) {
	out, err := runUnwind(t, `
ch = channel()
def sleeper():
    defer(print, "deferred ran")
    sleep(100)
def recv_timeout():
    return ch.recv(timeout=1)
def sender():
    ch.send(1)
s = spawn(sleeper, name="sleeper")
sleep(0.5)
s.cancel()
print(catch(s.wait).error.kind)
r = catch(recv_timeout)
print(r.error.kind, r.error.message)
tr = r.error.traceback
print("in recv_timeout" in tr)
snd = spawn(sender, name="sender")
sleep(0.5)
ch.close()
r = catch(snd.wait)
print(r.error.kind, "in sender" in r.error.traceback)
`)
	require.NoError(t, err)
	assert.Equal(t, "deferred ran\ncancelled\ntimeout timeout: Channel.recv exceeded 1s\nTrue\nclosed True\n", out)
}

// wait(), Task.wait, Future.wait, join, race and select wait unwound
// (one call deep and deeper) and give the values they gave in place.
func TestWaitsUnwound(t *testing.T) {
	out, err := runUnwind(t, `
ch = channel()
f = future()
def slow(v):
    sleep(2)
    return v
target = spawn(slow, "T", name="target")
def w_wait():
    return wait(target)
def w_task():
    return target.wait()
def w_future():
    return f.wait()
def w_join():
    return join(target, f)
def w_join_settle():
    return [r.ok for r in join(target, f, settle=True)]
def w_race():
    return race(f, after(10))
def inner_select(n):
    got = []
    for i in range(n):
        got.append(select(ch, after(10)))
    return got
def w_select():
    return inner_select(2)
names = ["w_wait", "w_task", "w_future", "w_join", "w_join_settle", "w_race", "w_select"]
fns = [w_wait, w_task, w_future, w_join, w_join_settle, w_race, w_select]
ts = [spawn(fn, name=name) for name, fn in zip(names, fns)]
sleep(0.5)
unwound()
f.set("F")
ch.send("a")
sleep(0.5)
ch.send("b")
for t in ts:
    print(t.wait())
`)
	require.NoError(t, err)
	for _, want := range []string{
		"w_wait unwound=yes at u.star:9:16 in w_wait\n",
		"w_task unwound=yes at u.star:11:23 in w_task\n",
		"w_future unwound=yes at u.star:13:18 in w_future\n",
		"w_join unwound=yes at u.star:15:16 in w_join\n",
		"w_join_settle unwound=yes at u.star:17:31 in w_join_settle\n",
		"w_race unwound=yes at u.star:19:16 in w_race\n",
		"w_select unwound=yes at u.star:23:26 in inner_select\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.True(t, strings.HasSuffix(out, "T\nT\nF\n[\"T\", \"F\"]\n[True, True]\n(0, \"F\")\n[(0, \"a\"), (0, \"b\")]\n"), out)
}

// Unwound, those waits time out, fail with the awaited task's error and
// are cancelled as in place: the errors, the tracebacks through the
// resumed frames, deferred calls, and the tasks join and race cancel.
func TestWaitsUnwoundFail(t *testing.T) {
	out, err := runUnwind(t, `
f = future()
ch = channel()
def fails():
    sleep(1)
    fail("boom")
def wait_timeout():
    return f.wait(timeout=1)
def join_timeout():
    return join(f, timeout=1)
def race_timeout():
    return race(f, timeout=1)
def wait_failed():
    return wait(spawn(fails))
def join_failed():
    return join(spawn(fails), f)
def child():
    defer(print, "child deferred ran")
    sleep(100)
def race_cancelled():
    defer(print, "race deferred ran")
    return race(child, f)
def select_cancelled():
    defer(print, "select deferred ran")
    return select(ch, f)
for fn in [wait_timeout, join_timeout, race_timeout]:
    r = catch(spawn(fn).wait)
    print(r.error.kind, r.error.message, ("in " + str(fn).split(" ")[1].rstrip(">")) in r.error.traceback)
for fn in [wait_failed, join_failed]:
    r = catch(spawn(fn).wait)
    print(r.error.kind, r.error.message, "in fails" in r.error.traceback)
rc = spawn(race_cancelled, name="race_cancelled")
sc = spawn(select_cancelled, name="select_cancelled")
sleep(0.5)
unwound()
rc.cancel()
sc.cancel()
print(catch(rc.wait).error.kind, catch(sc.wait).error.kind)
`)
	require.NoError(t, err)
	assert.Contains(t, out, "race_cancelled unwound=yes at u.star:22:16 in race_cancelled\n")
	assert.Contains(t, out, "select_cancelled unwound=yes at u.star:25:18 in select_cancelled\n")
	assert.True(t, strings.HasPrefix(out, `timeout timeout: Future.wait exceeded 1s True
timeout timeout: join exceeded 1s True
timeout timeout: race exceeded 1s True
error error: boom True
error error: boom True
`), out)
	assert.Contains(t, out, "child deferred ran\n")
	assert.Contains(t, out, "race deferred ran\n")
	assert.Contains(t, out, "select deferred ran\n")
	assert.True(t, strings.HasSuffix(out, "cancelled cancelled\n"), out)
}

// Tasks run in line on the loop's worker; one that must wait in place
// (under catch, or at the end of its time slice while others want the
// loop) keeps that worker and the loop goes on on another (handOff). Each
// such task resumes correctly, many times over; the main module's own
// top level waits unwound; and every goroutine ends with Close.
func TestInlineTasksHandOff(t *testing.T) {
	before := runtime.NumGoroutine()
	var out bytes.Buffer
	var e *Engine
	pre := Builtins()
	pre["main_unwound"] = starlark.NewBuiltin("main_unwound", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.Bool(e.Main().Unwound()), nil
	})
	e = New(Options{Stdout: &out, Stderr: &out, TimeSlice: 50}, pre)
	_, err := e.Exec(context.Background(), "h.star", `
def caught(n):
    total = 0
    for i in range(n):
        total += catch(lambda: sleep(0.001) or i).value
    return total
def spin(name, log):
    for i in range(3):
        x = 0
        for j in range(2000):
            x += j
        log.append(name)
    return x
log = []
def probe():
    # main waits for this task (p.wait()) until it returns
    for _ in range(1000):
        if main_unwound():
            return True
        sleep(0)
    return False
p = spawn(probe)
ts = [spawn(caught, 20) for _ in range(30)]
s1, s2 = spawn(spin, "a", log), spawn(spin, "b", log)
print(p.wait(), [t.wait() for t in ts] == [190] * 30, s1.wait(), s2.wait())
print("interleaved:", log[:2] == ["a", "b"] or log[:2] == ["b", "a"] or log)
`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "True True 1999000 1999000\ninterleaved: True\n", out.String())
	require.NoError(t, e.Close())
	deadline := time.Now().Add(5 * time.Second)
	// +1: a runtime goroutine (the cleanup queue's) may start meanwhile,
	// as in TestNoGoroutineLeakAfterClose; 30 handed-off workers would not.
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before+1)
}

// A task in a for loop over a channel waits unwound, in its function or
// at module top level, and goes on with each value; cancelled there, it
// fails at the for statement and its deferred calls run.
func TestForOverChannelUnwinds(t *testing.T) {
	out, err := runUnwind(t, `
ch = channel()
stop = channel()
def looper():
    total = 0
    for v in ch:
        total += v
    return total
def stuck():
    defer(print, "stuck: deferred ran")
    for v in stop:
        pass
a = spawn(looper, name="looper")
b = spawn(stuck, name="stuck")
sleep(0.5)
unwound()
for i in range(4):
    ch.send(i)
ch.close()
b.cancel()
print(a.wait(), catch(b.wait).error.kind)
`)
	require.NoError(t, err)
	assert.Contains(t, out, "looper unwound=yes at u.star:6:5 in looper\n")
	assert.Contains(t, out, "stuck unwound=yes at u.star:11:5 in stuck\n")
	assert.True(t, strings.HasSuffix(out, "stuck: deferred ran\n6 cancelled\n"), out)
}
