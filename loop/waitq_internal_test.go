package loop

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWaitListWorkIsLinear: ending N waits otherwise than through the
// queue they wait in (a select whose other case won, a timeout) costs
// O(N) in all, where each used to scan the queue (O(N²): 16k workers in
// select(jobs, quit) took 5 s for 32k jobs). It counts the entries the
// queues look at (visits), not time.
func TestWaitListWorkIsLinear(t *testing.T) {
	const n = 2000
	cases := map[string]string{
		// Each job wakes one worker through jobs; its entry in quit is
		// removed. Then quit wakes them all.
		"select pool": `
jobs = channel()
quit = channel()
def worker():
    for _ in range(1000000):
        i, v = select(jobs, quit)
        if i == 1:
            return
ws = [spawn(worker) for _ in range(N)]
sleep(0)
for j in range(2 * N):
    jobs.send(j)
quit.close()
join(*ws)
`,
		// A send_op and a recv_op on one channel: select's two entries
		// in one queue.
		"select send and recv": `
a = channel()
b = channel()
def worker():
    i, v = select(a.send_op(1), b.recv_op())
ws = [spawn(worker) for _ in range(N)]
sleep(0)
for j in range(N):
    b.send(j)
join(*ws)
`,
		"recv timeouts": `
a = channel()
ts = [spawn(catch, a.recv, timeout=1) for _ in range(N)]
join(*ts)
`,
		"send timeouts": `
a = channel()
ts = [spawn(catch, a.send, 1, timeout=1) for _ in range(N)]
join(*ts)
`,
		"future timeouts": `
f = future()
ts = [spawn(catch, f.wait, timeout=1) for _ in range(N)]
join(*ts)
`,
		"task timeouts": `
t = spawn(sleep, 100)
ts = [spawn(catch, t.wait, timeout=1) for _ in range(N)]
join(*ts)
t.cancel()
`,
		"timer in select": `
tm = after(100)
a = channel()
def worker():
    select(tm, a)
ws = [spawn(worker) for _ in range(N)]
sleep(0)
for j in range(N):
    a.send(j)
join(*ws)
`,
		"join timeouts": `
t = spawn(sleep, 100)
ts = [spawn(catch, join, t, timeout=1) for _ in range(N)]
join(*ts)
t.cancel()
`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			e := New(Options{Stdout: &out, Stderr: &out, VirtualTime: true}, Builtins())
			defer e.Close()
			var count atomic.Int64
			visits = &count
			defer func() { visits = nil }()
			_, err := e.Exec(context.Background(), "linear.star", fmt.Sprintf("N = %d\n%s", n, src))
			require.NoError(t, err, out.String())
			t.Logf("%d entries visited for N = %d", count.Load(), n)
			// A quadratic cost is about n*n/2 = 2,000,000 here.
			assert.Less(t, count.Load(), int64(20*n), "entries visited")
		})
	}
}

// TestWaitListModel: whatever the pushes, removals (of spent waiters,
// left dead, and of live ones, dropped at once) and pops, a waitList
// gives its live entries in the order they came, and after a removal
// holds at most about twice as many entries as are live.
func TestWaitListModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var q waitList[wakerEntry]
	var model []*Waiter // live entries, in order
	drop := func(w *Waiter) {
		model = slices.DeleteFunc(model, func(m *Waiter) bool { return m == w })
	}
	for step := range 200000 {
		op := r.IntN(10)
		switch {
		case op < 4 || len(model) == 0:
			w := &Waiter{Index: -1}
			q.push(wakerEntry{w, 0})
			model = append(model, w)
		case op < 7: // a wait that ended elsewhere: fired, then removed
			w := model[r.IntN(len(model))]
			w.fired = true
			drop(w)
			q.remove(w)
		case op < 8: // a registration given up while live
			w := model[r.IntN(len(model))]
			drop(w)
			q.remove(w)
		default:
			e, ok := q.pop()
			require.True(t, ok, "step %d", step)
			require.Same(t, model[0], e.w, "step %d", step)
			model[0].fired = true // completed
			model = model[1:]
		}
		if op >= 4 && op < 8 {
			// Removals pay for compactions: after one, at most half
			// the entries are dead.
			require.LessOrEqual(t, q.len(), 2*len(model)+1, "step %d", step)
		}
	}
	for _, w := range model {
		e, ok := q.pop()
		require.True(t, ok)
		require.Same(t, w, e.w)
		w.fired = true
	}
	_, ok := q.pop()
	require.False(t, ok)
}
