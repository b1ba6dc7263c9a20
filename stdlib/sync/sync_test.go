package sync_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	syncmod "github.com/corolang/coro/stdlib/sync"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes src on a virtual-clock engine with the core builtins and
// the sync module, and returns its globals and output.
func run(t *testing.T, seed uint64, src string) (starlark.StringDict, string) {
	t.Helper()
	var out bytes.Buffer
	pre := loop.Builtins()
	pre["sync"] = syncmod.Module()
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true, Seed: seed}, pre)
	defer e.Close()
	g, err := e.Exec(context.Background(), "test.star", src)
	require.NoError(t, err, out.String())
	return g, out.String()
}

// Many tasks contend for a lock and a semaphore while some are cancelled
// or time out inside hold and others are cancelled while queued: never
// more holders than allowed, and nothing is left held at the end.
func TestLockAndSemaphoreUnderCancellation(t *testing.T) {
	g, out := run(t, 1, `
lock = sync.lock()
sem = sync.semaphore(3)
inside = [0, 0]
peak = [0, 0]
entered = [0]
def critical(k, limit):
    inside[k] += 1
    peak[k] = max(peak[k], inside[k])
    if inside[k] > limit:
        fail("too many inside")
    entered[0] += 1
    if entered[0] % 9 == 0:
        current_task().cancel()  # cancelled while holding
    r = catch(sleep, 0.001 * (entered[0] % 4))
    inside[k] -= 1
    if not r.ok:
        sleep(0)  # cancellation is sticky: this raises it again
def worker(i):
    for n in range(20):
        if i % 2:
            lock.hold(critical, 0, 1)
        elif n % 3 == 0:
            # a timeout() scope that may expire while holding or queued
            catch(timeout, 0.002, sem.hold, critical, 1, 3)
        else:
            sem.hold(critical, 1, 3)
ws = [spawn(worker, i) for i in range(12)]
r = 0
for n in range(40):
    sleep(0.002)
    r = (r * 7 + n) % 12
    ws[r].cancel()
states = {}
for w in ws:
    catch(w.wait)
    states[w.state] = True
ok = not lock.locked and sem.available == 3 and inside == [0, 0]
`)
	assert.Equal(t, starlark.True, g["ok"], out)
	assert.Equal(t, "[1, 3]", g["peak"].String())
	assert.Contains(t, g["states"].String(), "cancelled")
}

// A watcher woken by a set whose value then goes back to the one it saw
// keeps waiting, and its timeout covers the whole wait.
func TestWatchValueFlipsBack(t *testing.T) {
	_, out := run(t, 1, `
w = sync.watch("a")
def flip():
    sleep(0.1)
    w.set("b")
    w.set("a")  # back before the watcher ran: nothing new for it
def watcher():
    w.get()
    return catch(w.changed, timeout=0.5)
spawn(flip)
r = spawn(watcher).wait()
print(r.error.message if r.error else r.value)
`)
	assert.Equal(t, "timeout: Watch.changed exceeded 0.5s\n", out)
}

// A lock belongs to the engine that made it: hold from another engine's
// task fails as acquire does, without touching the lock.
func TestHoldOnAnotherEngine(t *testing.T) {
	g, _ := run(t, 1, "l = sync.lock()\n")
	var out bytes.Buffer
	pre := loop.Builtins()
	pre["l"] = g["l"]
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "other.star", `
def f():
    fail("fn ran")
for r in [catch(l.acquire), catch(l.hold, f)]:
    print(r.error.message)
print(l.locked)
`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "value: Lock.acquire: lock#1 belongs to another engine\n"+
		"value: Lock.hold: lock#1 belongs to another engine\nFalse\n", out.String())
}

// Tasks waiting in every sync wait (acquire, Event.wait, WaitGroup.wait,
// Watch.changed, a broadcast subscription's recv) wait unwound, without
// a goroutine, and get what they got waiting in place; hold() calls its
// function under a Go frame, so a task waiting there keeps its goroutine.
func TestSyncWaitsUnwound(t *testing.T) {
	out, err := moduletest.RunWith(t, loop.Options{VirtualTime: true, Seed: 1}, starlark.StringDict{"sync": syncmod.Module(), "unwound": moduletest.Unwound}, `
lock = sync.lock()
sem = sync.semaphore(1)
ev = sync.event()
wg = sync.wait_group()
wt = sync.watch("old")
bc = sync.broadcast()
sub = bc.subscribe()
lock.acquire()
sem.acquire()
wg.add(1)
def changed():
    wt.get()
    return wt.changed()
def deep(fn, n):
    if n == 0:
        return fn()
    return deep(fn, n - 1)
waits = [lock.acquire, sem.acquire, ev.wait, wg.wait, changed, sub.recv, lambda: ev.wait(timeout=50)]
ts = [spawn(deep, fn, 3) for fn in waits]
held = spawn(sem.hold, lambda: 1)
sleep(1)
print(unwound(ts), unwound([held]))
wt.set("same")
wt.set("new")
ev.set()
wg.done()
lock.release()
sem.release()
bc.send("news")
print([t.wait() for t in ts])
sem.release()
print(held.wait(), lock.locked, sem.available)
`)
	require.NoError(t, err, out)
	assert.Equal(t, `[True, True, True, True, True, True, True] [False]
[None, None, None, None, "new", "news", None]
1 True 1
`, out)
}

// TestDroppedWatchesLeaveTheTask: a task that looks at many watches and
// drops them does not keep them (and the values it last saw) until it
// ends: the hooks that forget what it saw go once a watch is collected.
func TestDroppedWatchesLeaveTheTask(t *testing.T) {
	var out bytes.Buffer
	pre := loop.Builtins()
	pre["sync"] = syncmod.Module()
	pre["gc"], pre["end_hooks"] = moduletest.GC, moduletest.EndHooks
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", `
base = end_hooks()
kept = sync.watch(0)
kept.get()
for i in range(1000):
    w = sync.watch("x" * 1000)
    w.get()
w = None
print("looked:", end_hooks() - base)
for i in range(200):
    gc()
    sleep(0.01)
    if end_hooks() - base == 1:
        break
print("dropped:", end_hooks() - base)
kept.set(1)
print(kept.get())
`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "looked: 1001\ndropped: 1\n1\n", out.String())
}
