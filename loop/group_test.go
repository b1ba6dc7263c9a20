package loop_test

import (
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Task groups (SPEC 11), on the virtual clock: sleeps order events
// without taking real time, and nothing here measures time.

// runGroup runs src and fails the test on an unobserved failure report.
func runGroup(t *testing.T, src string) string {
	t.Helper()
	var reported []string
	out, err := run(t, src, func(o *loop.Options) {
		o.OnFailure = func(task string, err *loop.Error) { reported = append(reported, task+": "+err.Error()) }
	})
	require.NoError(t, err, out)
	require.Empty(t, reported, out)
	return out
}

func TestGroupWaitsForEveryTaskAndReturnsBodysValue(t *testing.T) {
	out := runGroup(t, `
def work(i):
    sleep(3 - i)
    print("work", i)
    return i
def body(g, n, tag = ""):
    ts = [g.spawn(work, i) for i in range(n)]
    print("body returns", tag)
    return ts
ts = group(body, 3, tag = "x")
print("group returned", [t.result for t in ts], time.monotonic())
`)
	assert.Equal(t, "body returns x\nwork 2\nwork 1\nwork 0\ngroup returned [0, 1, 2] 3.0\n", out)
}

func TestGroupLimitQueuesWithoutBlockingTheSpawner(t *testing.T) {
	out := runGroup(t, `
running = [0]
peak = [0]
started = []
def work(i):
    started.append(i)
    running[0] += 1
    peak[0] = max(peak[0], running[0])
    sleep(1)
    running[0] -= 1
def body(g):
    ts = [g.spawn(work, i, name = "w%d" % i) for i in range(7)]
    print("spawned", len(g.tasks), "limit", g.limit)   # the spawner never waited
    print([t.state for t in ts])
    print([(i.name, i.waiting_on) for i in tasks() if i.name == "w6"])
group(body, limit = 3)
print("peak", peak[0], "order", started, "at", time.monotonic())
print("no limit:", group(lambda g: g.limit))
`)
	assert.Equal(t, `spawned 7 limit 3
["ready", "ready", "ready", "waiting", "waiting", "waiting", "waiting"]
[("w6", "group slot")]
peak 3 order [0, 1, 2, 3, 4, 5, 6] at 3.0
no limit: None
`, out)
}

func TestGroupFirstFailureCancelsTheRestAndCountsTheOthers(t *testing.T) {
	out := runGroup(t, `
log = []
def fails(i):
    defer(log.append, "cleanup f%d" % i)
    sleep(1)
    fail("f%d" % i)
def sleeper(i):
    defer(log.append, "cleanup s%d" % i)
    sleep(100)
def body(g):
    for i in range(2):
        g.spawn(sleeper, i)
    for i in range(3):
        g.spawn(fails, i)
    r = catch(sleep, 100)
    log.append("body's wait: " + r.error.message)
    sleep(1)  # every later wait fails too
    log.append("not reached")
r = catch(group, body)
print(r.error.kind, "|", r.error.message)
print(r.error.traceback.strip().split("\n")[1].strip())
print(sorted(log))
print("at", time.monotonic())
`)
	assert.Equal(t, `error | error: f0 (and 2 more errors)
t.star:14:16: task 'main' spawned task 'task-4'
["body's wait: cancelled: cancelled", "cleanup f0", "cleanup f1", "cleanup f2", "cleanup s0", "cleanup s1"]
at 1.0
`, out)
}

func TestGroupBodyFailureCancelsItsTasks(t *testing.T) {
	out := runGroup(t, `
log = []
def sleeper():
    defer(log.append, "cleanup")
    sleep(100)
def body(g):
    ts = [g.spawn(sleeper) for i in range(2)]
    sleep(1)
    log.append(ts)
    fail("body broke")
r = catch(group, body)
ts = log[0]
print(r.error.message, sorted([x for x in log if type(x) == "string"]), [t.state for t in ts])
`)
	assert.Equal(t, "error: body broke [\"cleanup\", \"cleanup\"] [\"cancelled\", \"cancelled\"]\n", out)
}

func TestGroupCancelIsQuiet(t *testing.T) {
	out := runGroup(t, `
ran = []
def work(i):
    ran.append(i)
    sleep(100)
saved = []
def body(g):
    saved.append([g.spawn(work, i) for i in range(4)])
    sleep(1)
    g.cancel("found it")
    print("body's wait:", catch(sleep, 1).error)
    print("and later:", catch(wait, after(0)).error)
    print("spawn:", catch(g.spawn, work, 9).error)
    g.cancel()  # a second time: nothing
    return "not this"
print("group returned", group(body, limit = 2))
print("ran", ran, [t.state for t in saved[0]], saved[0][3].error)
# The group's cancellation is lifted once group() returns: not sticky.
sleep(1)
print("main goes on at", time.monotonic())
`)
	assert.Equal(t, `body's wait: cancelled: found it
and later: cancelled: found it
spawn: closed: Group.spawn: the group is closed (it was cancelled)
group returned None
ran [0, 1] ["cancelled", "cancelled", "cancelled", "cancelled"] cancelled: found it
main goes on at 2.0
`, out)
}

func TestSpawnIntoAnEndedGroupIsClosed(t *testing.T) {
	out := runGroup(t, `
saved = []
group(lambda g: saved.append(g))
g = saved[0]
print(g, g.tasks, catch(g.spawn, print).error)
`)
	assert.Equal(t, "<group ended> [] closed: Group.spawn: the group is closed (it has ended)\n", out)
}

// Any task may spawn into an open group: a crawler's workers add what
// they find, and the group waits for those too.
func TestAnyTaskMaySpawnIntoAGroup(t *testing.T) {
	out := runGroup(t, `
done = []
def node(g, depth):
    sleep(1)
    done.append(depth)
    if depth < 3:
        g.spawn(node, g, depth + 1)
        g.spawn(node, g, depth + 1)
outsider_ch = channel(1)
def outsider():
    g = outsider_ch.recv()
    g.spawn(node, g, 3)
spawn(outsider)
def body(g):
    outsider_ch.send(g)
    g.spawn(node, g, 0)
group(body, limit = 2)
print(len(done), sorted(done)[:3], time.monotonic())
`)
	// 1 + 2 + 4 + 8 nodes from the root, 1 from the outsider; two at a time.
	assert.Equal(t, "16 [0, 1, 1] 8.0\n", out)
}

func TestCallersCancellationReachesTheGroup(t *testing.T) {
	out := runGroup(t, `
log = []
def member(i):
    defer(log.append, "cleanup %d" % i)
    sleep(100)
def caller():
    def body(g):
        for i in range(3):
            g.spawn(member, i)
        return "unreachable"
    return group(body, limit = 2)
t = spawn(caller)
sleep(1)
t.cancel("stop")
r = catch(t.wait)
print(r.error, t.state, sorted(log))
`)
	// The queued third member ends cancelled without running.
	assert.Equal(t, "cancelled: stop cancelled [\"cleanup 0\", \"cleanup 1\"]\n", out)
}

// A deadline around group() cancels the group's tasks (they end
// cancelled, not failed: the timeout is the caller's) and timeout raises.
func TestTimeoutAroundAGroup(t *testing.T) {
	out := runGroup(t, `
saved = []
def body(g):
    saved.extend([g.spawn(sleep, 100) for i in range(2)])
    sleep(100)
r = catch(timeout, 2, group, body)
print(r.error, [t.state for t in saved], saved[0].error, time.monotonic())
`)
	assert.Equal(t, "timeout: deadline of 2s exceeded [\"cancelled\", \"cancelled\"] cancelled: deadline of 2s exceeded 2.0\n", out)
}

func TestNestedGroups(t *testing.T) {
	out := runGroup(t, `
log = []
def sleeper(name):
    defer(log.append, name)
    sleep(100)
def failer():
    sleep(1)
    fail("inner failed")
def inner(g):
    g.spawn(sleeper, "inner sleeper")
    g.spawn(failer)
def outer(g):
    g.spawn(sleeper, "outer sleeper")
    g.spawn(group, inner)
    sleep(100)
r = catch(group, outer)
print(r.error, sorted(log))

# An outer g.cancel() reaches the tasks of a group inside one of its tasks.
log.clear()
def inner2(g):
    g.spawn(sleeper, "deep")
def outer2(g):
    g.spawn(group, inner2)
    sleep(1)
    g.cancel()
print(group(outer2), log)
`)
	assert.Equal(t, "error: inner failed [\"inner sleeper\", \"outer sleeper\"]\nNone [\"deep\"]\n", out)
}

// A task spawning into a group that is being cancelled gets closed: that
// is the group's own doing, not a failure to raise.
func TestSpawnRefusedDuringCancellationIsNotAFailure(t *testing.T) {
	out := runGroup(t, `
def spawner(g):
    defer(lambda: g.spawn(print, "never"))  # runs once cancelled
    sleep(100)
def body(g):
    t = g.spawn(spawner, g)
    sleep(1)
    g.cancel()
    g.spawn(print, "never either")  # raises closed: the body ends, quietly
print(group(body))
`)
	assert.Equal(t, "None\n", out)
}

func TestGroupStopsAComputingTask(t *testing.T) {
	out := runGroup(t, `
def spin():
    n = 0
    while True:
        n += 1
def quitter():
    sleep(0.01)
    fail("quit")
def body(g):
    g.spawn(spin)
    g.spawn(quitter)
r = catch(group, body)
print(r.error)
`)
	assert.Equal(t, "error: quit\n", out)
}

// The deadlock report shows what the group's body waits on, the queued
// task's group slot, and who spawned each task into whose group.
func TestGroupInTheDeadlockReport(t *testing.T) {
	_, err := run(t, `
ch = channel()
def worker():
    ch.recv()
def body(g):
    for i in range(3):
        g.spawn(worker, name = "w%d" % i)
group(body, limit = 2)
`)
	require.Error(t, err)
	msg := loop.ToError(err).Error()
	for _, want := range []string{
		"deadlock: 4 tasks blocked forever",
		"task 'main' (id 1, waiting): group (2 running, 1 queued)",
		"task 'w0' (id 2, waiting): recv on channel#1 (0/0 buffered)\n    spawned at t.star:7:16 by task 'main', in the group of task 'main'",
		"task 'w2' (id 4, waiting): group slot",
	} {
		assert.Contains(t, msg, want)
	}
}

func TestGroupBadArguments(t *testing.T) {
	for src, want := range map[string]string{
		`group()`:                                   "value: group: missing function argument",
		`group(1)`:                                  "value: group: for parameter fn: got int, want callable",
		`group(print, limit = 0)`:                   "value: group: limit must be >= 1, got 0",
		`group(print, limit = "2")`:                 "value: group: for parameter limit: got string, want int or None",
		`group(print, limit = 1 << 100)`:            "value: group: for parameter limit: 1267650600228229401496703205376 out of range (want value in signed 64-bit range)",
		`group(print, limit = -(1 << 100))`:         "value: group: limit must be >= 1, got -1267650600228229401496703205376",
		`group(lambda g: g.spawn())`:                "value: Group.spawn: missing function argument",
		`group(lambda g: g.spawn(print, name = 1))`: "value: Group.spawn: for parameter name: got int, want string",
		`group(lambda g: g.cancel(1))`:              "value: Group.cancel: for parameter reason: got int, want string",
		`group(lambda g: {g: 1})`:                   "unhashable: Group",
		`group(lambda g: g.nope)`:                   "Group has no .nope field or method",
	} {
		_, err := run(t, src)
		require.Error(t, err, src)
		assert.Contains(t, loop.ToError(err).Error(), want, src)
	}
}

// Failures inside a group are the group's to raise: none is reported as
// unobserved, not even those counted in "(and N more errors)".
func TestGroupObservesEveryFailure(t *testing.T) {
	out := runGroup(t, `
def f(i):
    sleep(1)
    fail("f%d" % i)
def body(g):
    ts = [g.spawn(f, i) for i in range(3)]
    sleep(2)
r = catch(group, body)
print(r.error)
`)
	assert.Equal(t, "error: f0 (and 2 more errors)\n", out)
}
