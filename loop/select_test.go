package loop_test

import (
	"fmt"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selectStress: P producers send unique values on a buffered and an
// unbuffered channel, some with a send timeout (a timed-out value must
// never arrive); the consumer selects over both channels, a send_op to a
// slow side reader, a fresh after() timer every loop, and a future set
// when every producer is done. Every value sent must be received exactly
// once, and every token the consumer's select says it sent must reach the
// side reader exactly once, in order.
const selectStress = `
P, M = 8, 300
data = channel(4)
data2 = channel()
side = channel()
all_done = future()
sent = {}

def producer(p):
    for i in range(M):
        v = p * M + i
        ch = data if v % 2 == 0 else data2
        if v % 5 == 0:
            r = catch(ch.send, v, timeout=0.002)
        else:
            r = catch(ch.send, v)
        if r.ok:
            sent[v] = True
        elif r.error.kind != "timeout":
            fail(r.error)
        if v % 7 == 0:
            sleep(0.001)
        if i % 20 == 19:
            sleep(0.01)  # all producers pause together: the timer case fires

side_got = []
def side_reader():
    for t in side:
        side_got.append(t)
        if t % 3 == 0:
            sleep(0.003)

def supervisor(ps):
    join(*ps)
    all_done.set("done")

ps = [spawn(producer, p) for p in range(P)]
spawn(supervisor, ps)
reader = spawn(side_reader)

received = {}
dups = []
token = 0
timer_fired = 0
n = 0
while True:
    n += 1
    if n % 13 == 0:
        sleep(0.004)  # fall behind: senders with a timeout give up
    tm = after(0.002)
    i, v = select(data, data2.recv_op(), side.send_op(token), tm, all_done)
    if i == 0 or i == 1:
        if v in received:
            dups.append(v)
        received[v] = True
    elif i == 2:
        token += 1
    elif i == 3:
        timer_fired += 1
    else:
        break
for _ in range(len(data)):
    v, ok = data.try_recv()
    received[v] = True
side.close()
reader.wait()

lost = [v for v in sent if v not in received]
extra = [v for v in received if v not in sent]
side_ok = side_got == list(range(token))
`

func TestSelectStressNoLossNoDuplicate(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			g, out, err := chanExec(t, true, seed, selectStress+"print(len(sent), token, timer_fired)\n")
			t.Log(out)
			require.NoError(t, err, out)
			for _, name := range []string{"lost", "extra", "dups"} {
				assert.Equal(t, 0, g[name].(*starlark.List).Len(), "%s: %s", name, g[name])
			}
			assert.Equal(t, starlark.True, g["side_ok"])
			sent := g["sent"].(*starlark.Dict).Len()
			// The run must exercise every path: timed-out sends, delivered
			// ones, side sends and timer wake-ups.
			assert.Greater(t, sent, 2000)
			assert.Less(t, sent, 8*300)
			tokens, _ := starlark.AsInt32(g["token"])
			assert.Greater(t, tokens, 10)
			fired, _ := starlark.AsInt32(g["timer_fired"])
			assert.Greater(t, fired, 0)
		})
	}
}

// Only the chosen case takes effect: with several cases ready, exactly one
// value moves; the others stay where they were.
func TestSelectPerformsExactlyOne(t *testing.T) {
	_, out, err := chanExec(t, true, 1, `
seen = {}
for n in range(200):
    a, b, c = channel(1), channel(1), channel(1)
    a.send("a")
    b.send("b")
    i, v = select(a, b, c.send_op("c"))
    seen[(i, v, len(a), len(b), len(c))] = True
print(sorted(seen))
`)
	require.NoError(t, err)
	assert.Equal(t, "[(0, \"a\", 0, 1, 0), (1, \"b\", 1, 0, 0), (2, None, 1, 1, 1)]\n", out)
}

// Random choice among ready cases is uniform (roughly: each of 4 cases
// between 15% and 35% of 4000 picks), and reproducible with the seed.
func TestSelectFairAndSeeded(t *testing.T) {
	src := `
chs = [channel(1) for _ in range(4)]
counts = [0, 0, 0, 0]
picks = []
for ch in chs:
    ch.send(0)
for n in range(4000):
    i, v = select(*chs)
    counts[i] += 1
    if n < 20:
        picks.append(i)
    chs[i].send(v)
biased = [select(biased=True, *chs)[0] for _ in range(3)]
`
	g1, _, err := chanExec(t, true, 7, src+"\n")
	require.NoError(t, err)
	counts := g1["counts"].(*starlark.List)
	for i := 0; i < 4; i++ {
		n, _ := starlark.AsInt32(counts.Index(i))
		assert.Greater(t, n, 600, "case %d picked %d times", i, n)
		assert.Less(t, n, 1400, "case %d picked %d times", i, n)
	}
	g2, _, err := chanExec(t, true, 7, src)
	require.NoError(t, err)
	assert.Equal(t, g1["picks"].String(), g2["picks"].String())
	g3, _, err := chanExec(t, true, 8, src)
	require.NoError(t, err)
	assert.NotEqual(t, g1["picks"].String(), g3["picks"].String())
	// biased: the first ready case; chs[0] is refilled only by the loop
	// above, so after it is taken, chs[1] is first.
	assert.Equal(t, "[0, 1, 2]", g1["biased"].String())
}
