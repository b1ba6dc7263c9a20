package loop_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chanEngine returns an engine with only the core builtins (these tests do
// not depend on the standard modules), printing into out.
func chanEngine(out io.Writer, virtual bool, seed uint64) *loop.Engine {
	return loop.New(loop.Options{Stdout: out, Stderr: out, VirtualTime: virtual, Seed: seed}, loop.Builtins())
}

// chanExec runs src as a module and returns its globals and printed output.
func chanExec(t *testing.T, virtual bool, seed uint64, src string) (starlark.StringDict, string, error) {
	t.Helper()
	var out bytes.Buffer
	e := chanEngine(&out, virtual, seed)
	defer e.Close()
	g, err := e.Exec(context.Background(), "test.star", src)
	return g, out.String(), err
}

// chanBench runs src with N = b.N on a fresh engine.
func chanBench(b *testing.B, virtual bool, src string) {
	b.Helper()
	e := chanEngine(io.Discard, virtual, 1)
	defer e.Close()
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := e.Exec(context.Background(), "bench.star", fmt.Sprintf("N = %d\n%s", b.N, src)); err != nil {
		b.Fatal(err)
	}
}

func TestChannelBufferedFIFO(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
ch = channel(3)
for i in range(3):
    ch.send(i)
print(len(ch), ch.cap, ch.try_send(9))
print([ch.recv() for _ in range(3)], len(ch), ch.try_recv())
`)
	require.NoError(t, err)
	assert.Equal(t, "3 3 False\n[0, 1, 2] 0 (None, False)\n", out)
}

// A parked sender's value moves into the buffer when a receiver makes room,
// so FIFO order holds across the buffer and the senders' queue.
func TestChannelParkedSendersKeepOrder(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
ch = channel(2)
def sender(i):
    ch.send(i)
for i in range(6):
    spawn(sender, i)
sleep(0)
print(len(ch))
got = [ch.recv() for _ in range(6)]
print(got, len(ch))
`)
	require.NoError(t, err)
	assert.Equal(t, "2\n[0, 1, 2, 3, 4, 5] 0\n", out)
}

func TestChannelCloseWakesEveryone(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
ch = channel()
rs = [spawn(ch.recv) for _ in range(2)]
ch2 = channel()
ss = [spawn(catch, ch2.send, i) for i in range(2)]
ss.append(spawn(catch, select, ch2.send_op(2)))
sleep(0)
ch.close()
ch2.close()
print([r.wait() for r in rs])
print([s.wait().error.message for s in ss])
print(catch(ch2.close).error.message)
`)
	require.NoError(t, err)
	assert.Equal(t, `[None, None]
["closed: Channel.send: channel#2 is closed", "closed: Channel.send: channel#2 is closed", "closed: Channel.send_op: channel#2 is closed"]
closed: Channel.close: channel#2 is already closed
`, out)
}

// An interrupted "for v in ch" stops the loop and raises in the looping
// thread: nothing after the loop runs.
func TestChannelIterationInterrupted(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
ch = channel()
def loop():
    for v in ch:
        print("got", v)
    print("after loop: must not run")
t = spawn(loop)
ch.send(1)
sleep(1)
t.cancel()
print(catch(t.wait).error.kind, t.state)
r = catch(timeout, 0.5, lambda: [v for v in ch])
print(r.error.message)
`)
	require.NoError(t, err)
	assert.Equal(t, "got 1\ncancelled cancelled\ntimeout: deadline of 0.5s exceeded\n", out)
}

// Waiters are reused across channel operations: a timed-out receive must
// leave nothing behind that a later send could complete while the same
// waiter serves another wait.
func TestChannelTimeoutLeavesNoRegistration(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
ch = channel()
print(catch(ch.recv, timeout=0.1).error.message)
print(catch(ch.send, 1, timeout=0.1).error.message)
other = channel(1)
def later():
    sleep(1)
    print("stale try_send:", ch.try_send("stale"))
    other.send("late")
spawn(later)
print(other.recv(), ch.try_recv())
`)
	require.NoError(t, err)
	assert.Equal(t, "timeout: Channel.recv exceeded 0.1s\ntimeout: Channel.send exceeded 0.1s\nstale try_send: False\nlate (None, False)\n", out)
}

// A channel's state belongs to its engine's loop; another engine's tasks
// get a value error instead of a data race.
func TestChannelForeignEngine(t *testing.T) {
	g, _, err := chanExec(t, true, 1, "ch = channel(1)\n")
	require.NoError(t, err)
	var out bytes.Buffer
	e2 := loop.New(loop.Options{Stdout: &out, Globals: starlark.StringDict{"ch": g["ch"]}}, loop.Builtins())
	defer e2.Close()
	_, err = e2.Exec(context.Background(), "other.star", "print(catch(ch.try_send, 1).error.message)\n")
	require.NoError(t, err)
	assert.Equal(t, "value: Channel.try_send: channel#1 belongs to another engine\n", out.String())
}

// A ticker ticks on the virtual clock, a slow receiver sees the gap, close
// stops it, and one nobody waits on does not keep the run alive.
func TestTicker(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
tk = ticker(0.5)
print([tk.recv() for _ in range(3)])
print(select(tk, after(0.4), biased=True))  # tick 4 is due at 2.0s: the timer wins
sleep(2)                                     # ticks 4..7 fall due: one is kept
print(tk.recv(), tk.recv())
tk.close()
print(tk.recv(), tk.closed)
idle = ticker(0.1)
`)
	require.NoError(t, err)
	assert.Equal(t, "[1, 2, 3]\n(1, None)\n4 8\nNone True\n", out)
}

// A long sleep beside a ticker nobody reads: the ticker used to arm a
// timer at every period, dropping each tick, so the virtual clock stepped
// through them one by one (a sleep(1e18) never ended; found by
// FuzzBuiltinArgs). Now the first tick waits in the buffer and the next
// is armed once it is taken. The second ticker is taken close to the end
// of the virtual clock, where a sleep past it would never end; ticks there
// must neither overflow nor fire for ever.
func TestTickerBesideALongSleep(t *testing.T) {
	var out bytes.Buffer
	e := chanEngine(&out, true, 1)
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	_, err := e.Exec(ctx, "test.star", `
tk = ticker(0.001)
sleep(86400 * 365)
print(tk.recv(), tk.recv() - 86400 * 365 * 1000)
tk = ticker(1)
sleep(9.1e9)
print(tk.recv(), tk.try_recv())
tk = ticker(1e8)  # its first tick would be past the end
print(catch(timeout, 1000, tk.recv).error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "1 1\n1 (None, False)\ntimeout\n", out.String())
}

// A ticker that fires late (the loop was held) sends one tick numbered by
// the latest one due and drops the ticks it passed, instead of firing each
// of them in turn (with a tiny period that froze the loop).
func TestTickerLateDropsMissedTicks(t *testing.T) {
	var out bytes.Buffer
	block := starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		time.Sleep(30 * time.Millisecond) // holds the loop: 30 ticks fall due
		return starlark.None, nil
	})
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out, Globals: starlark.StringDict{"block": block}}, loop.Builtins())
	defer e.Close()
	g, err := e.Exec(context.Background(), "test.star", `
tk = ticker(0.001)
block()
first = tk.recv()
second = tk.recv()
tk.close()
`)
	require.NoError(t, err, out.String())
	first, _ := starlark.AsInt32(g["first"])
	second, _ := starlark.AsInt32(g["second"])
	assert.GreaterOrEqual(t, first, 30, "the late tick carries the latest number due")
	assert.Greater(t, second, first)
}

// pingPong: the main task and a ponger pass a counter back and forth over
// two channels of capacity CAP.
const pingPong = `
a = channel(CAP)
c = channel(CAP)
def ponger():
    for v in a:
        c.send(v + 1)
t = spawn(ponger)
v = 0
for _ in range(N):
    a.send(v)
    v = c.recv()
a.close()
t.wait()
`

func BenchmarkChannelPingPong(b *testing.B) {
	chanBench(b, false, "CAP = 1\n"+pingPong)
}

func BenchmarkChannelUnbufferedPingPong(b *testing.B) {
	chanBench(b, false, "CAP = 0\n"+pingPong)
}

// selectBench: one producer sends i on chs[i % K] (unbuffered), the
// consumer selects over all K channels, so every select parks with K
// registrations and is completed by a direct handoff.
const selectBench = `
chs = [channel() for _ in range(K)]
def producer():
    for i in range(N):
        chs[i % K].send(i)
spawn(producer)
cases = chs
for _ in range(N):
    select(*cases)
`

func BenchmarkSelect2(b *testing.B)  { chanBench(b, false, "K = 2\n"+selectBench) }
func BenchmarkSelect16(b *testing.B) { chanBench(b, false, "K = 16\n"+selectBench) }

// BenchmarkSelectReady16 selects over 16 buffered channels that always
// have a value: the poll path, with its random order.
func BenchmarkSelectReady16(b *testing.B) {
	chanBench(b, false, `
chs = [channel(1) for _ in range(16)]
for ch in chs:
    ch.send(0)
for _ in range(N):
    i, v = select(*chs)
    chs[i].send(v)
`)
}

// timeout() raises once its deadline has passed, even when fn spent the
// time in one Go call and returned without the loop running in between
// (the timer could not fire): it returned fn's value.
func TestTimeoutPassedInOneGoCall(t *testing.T) {
	var out bytes.Buffer
	block := starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		time.Sleep(50 * time.Millisecond) // holds the loop past the deadline
		return starlark.MakeInt(7), nil
	})
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out, Globals: starlark.StringDict{"block": block}}, loop.Builtins())
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", `
r = catch(timeout, 0.01, block)
print(r.ok, r.error)
print(timeout(5, block))
`)
	require.NoError(t, err)
	assert.Equal(t, "False timeout: deadline of 0.01s exceeded\n7\n", out.String())
}
