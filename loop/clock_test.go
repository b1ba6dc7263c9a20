package loop_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/require"
)

// runVirtual runs src on a fresh engine with the virtual clock and returns
// what it printed. The scripts sleep for hours: on a real clock they would
// hang, so the context deadline (generous, and never reached when the clock
// is virtual) is what makes such a test fail. Nothing here measures wall time.
func runVirtual(t *testing.T, src string, globals starlark.StringDict) string {
	t.Helper()
	var out bytes.Buffer
	eng, _ := newEngine(loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true, Globals: globals})
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := eng.Exec(ctx, "clock.star", src)
	require.NoError(t, err, "output so far:\n%s", out.String())
	require.Zero(t, eng.Unhandled, "output:\n%s", out.String())
	return out.String()
}

func TestVirtualSleepTakesNoTime(t *testing.T) {
	out := runVirtual(t, `
sleep(3600)
print(time.monotonic())
def nap():
    sleep(86400)
    return time.monotonic()
print(join(nap, nap))
`, nil)
	require.Equal(t, "3600.0\n[90000.0, 90000.0]\n", out)
}

func TestVirtualMonotonicFollowsClock(t *testing.T) {
	out := runVirtual(t, `
seen = [time.monotonic()]
sleep(0.25)
seen.append(time.monotonic())
wait(after(1.5))
seen.append(time.monotonic())
sleep(0)  # lets others run; moves no time
seen.append(time.monotonic())
print(seen)
`, nil)
	require.Equal(t, "[0.0, 0.25, 1.75, 1.75]\n", out)
}

// While real work is outstanding, the virtual clock passes at the real
// rate even when that work completes more often than the next timer is
// due: each completion woke the loop early, the time slept was lost,
// and a timeout() beside a task polling a slow service (reads of 20 ms,
// here) never fired. The poller would take 20 s; the timeout of 0.2 s
// fires long before it ends.
func TestVirtualClockPassesWhileWorkCompletes(t *testing.T) {
	nap := starlark.NewBuiltin("nap", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return x.Offload(loop.Offload{Why: loop.ReasonString("nap"), Op: b.Name(), Timeout: loop.NoTimeout,
			Work: func(ctx context.Context) (starlark.Value, error) {
				select {
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
				}
				return starlark.None, nil
			},
		})
	})
	out := runVirtual(t, `
done = [0]
def poll():
    for i in range(1000):
        nap()
        done[0] += 1
p = spawn(poll)
r = catch(timeout, 0.2, sleep, 3600)
print(r.error.kind, done[0] < 1000)
p.cancel()
`, starlark.StringDict{"nap": nap})
	require.Equal(t, "timeout True\n", out)
}

// Timers due at the same instant fire in the order they were made (SPEC 1),
// not in the order tasks started waiting on them: the waiters register in
// reverse, and the heap alone would give no order at all among equal keys.
func TestVirtualEqualDeadlinesFireInCreationOrder(t *testing.T) {
	out := runVirtual(t, `
n = 32
timers = [after(2) for i in range(n)]
order = []
def waiter(i):
    wait(timers[i])
    order.append(i)
join(*[spawn(waiter, i) for i in reversed(range(n))])
print(order == list(range(n)), time.monotonic())

# sleeps: made in spawn order, all due at +1s
woke = []
def sleeper(i):
    sleep(1)
    woke.append(i)
join(*[spawn(sleeper, i) for i in range(n)])
print(woke == list(range(n)), time.monotonic())
`, nil)
	require.Equal(t, "True 2.0\nTrue 3.0\n", out)
}

// A task that computes moves the virtual clock (one millisecond per time
// slice), so a timeout still stops it and other tasks' timers still fire.
func TestVirtualClockMovesWhileComputing(t *testing.T) {
	out := runVirtual(t, `
def spin():
    while True:
        pass
r = catch(timeout, 0.05, spin)
now = time.monotonic()
print(r.error.kind, now >= 0.05, now < 1)
`, nil)
	require.Equal(t, "timeout True True\n", out)
}

// A duration too large for time.Duration saturates: sleep(1e12) used to
// overflow to a negative deadline and return at once.
func TestVirtualHugeSleepSaturates(t *testing.T) {
	out := runVirtual(t, `
def long():
    sleep(1e12)
    print("long woke")
t = spawn(long)
tm = after(1e300)
sleep(1)
print("short woke", t.done, tm.done, time.monotonic())
t.cancel()
`, nil)
	require.Equal(t, "short woke False False 1.0\n", out)
}

// A huge int is a duration as the float nearest it is, saturated the same
// way, everywhere seconds are read; sleep(1 << 80) and after(1 << 100)
// were "out of range" where sleep(1e300) was accepted.
func TestVirtualHugeIntDurationsSaturate(t *testing.T) {
	out := runVirtual(t, `
def long():
    sleep(1 << 80)
    print("long woke")
t = spawn(long)
tm = after(1 << 100)
tk = ticker(1 << 70)
ch = channel()
print(timeout(1 << 100, lambda: "ran"))
big = (1 << 500) * (1 << 500) * (1 << 500)  # past the floats: inf
print(catch(timeout, 1, lambda: sleep(big)).error)
spawn(lambda: [sleep(1), ch.send("late")])
print(ch.recv(timeout=1 << 70))
spawn(lambda: [sleep(1), ch.recv()])
print(ch.send("x", timeout=1 << 70))
print(wait(spawn(lambda: 7), timeout=1 << 70))
print("woke", t.done, tm.done, tk.try_recv(), time.monotonic())
print(catch(sleep, -(1 << 80)).error)
t.cancel()
`, nil)
	require.Equal(t, `ran
timeout: deadline of 1s exceeded
late
None
7
woke False False (None, False) 3.0
value: sleep: seconds must be >= 0, got -1208925819614629174706176
`, out)
}

// The virtual clock ends about 292 years after the start (time.Duration's
// range). A sleep whose end lies past it never ends, rather than ending at
// the clock's end: two sleep(5e9) returned after 9.2e9 seconds, not 1e10.
// Alone, such a sleep is a deadlock, reported as what it is.
func TestVirtualSleepPastTheEndNeverEnds(t *testing.T) {
	out := runVirtual(t, `
sleep(5e9)
print(time.monotonic())
def second():
    sleep(5e9)
    print("woke early at", time.monotonic())
t = spawn(second)
r = catch(wait, t, timeout=3600)
print(r.error.kind, time.monotonic() - 5e9, t.done)
t.cancel()
`, nil)
	require.Equal(t, "5e+09\ntimeout 3600.0 False\n", out)

	var buf bytes.Buffer
	eng, _ := newEngine(loop.Options{Stdout: &buf, Stderr: &buf, VirtualTime: true})
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := eng.Exec(ctx, "clock.star", "sleep(5e9)\nsleep(5e9)\nprint('woke')\n")
	require.Error(t, err)
	require.Equal(t, `deadlock: 1 task blocked forever
  task 'main' (id 1, waiting): sleep past the end of the virtual clock
    clock.star:2:6 in <toplevel>`, err.Error())
	require.Empty(t, buf.String())
}

// While an operation outside the loop is outstanding (Hold: a socket read,
// a serving listener), the virtual clock cannot jump, since the completion
// could come at any moment; it then follows real time so that timers
// still fire instead of waiting for the I/O forever.
func TestVirtualClockRunsWhileIOOutstanding(t *testing.T) {
	hold := func(release bool) *starlark.Builtin {
		return starlark.NewBuiltin("hold", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			x, err := loop.TaskOf(th, b.Name())
			if err != nil {
				return nil, err
			}
			if release {
				x.Task.Engine().Release()
			} else {
				x.Task.Engine().Hold()
			}
			return starlark.None, nil
		})
	}
	out := runVirtual(t, `
hold()
sleep(0.05)
print(time.monotonic())
release()
`, starlark.StringDict{"hold": hold(false), "release": hold(true)})
	require.Equal(t, "0.05\n", out)
}
