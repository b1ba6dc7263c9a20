package random_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/random"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(t *testing.T, seed uint64, src string) string {
	t.Helper()
	var out bytes.Buffer
	pre := loop.Builtins()
	pre["random"] = random.Module()
	e := loop.New(loop.Options{Stdout: &out, Stderr: &out, Seed: seed, VirtualTime: true}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", src)
	require.NoError(t, err, out.String())
	return out.String()
}

// Draws from random and select's choices share the engine's source: the
// same seed replays both, another seed gives another run.
const replay = `
a, b = channel(100), channel(100)
for i in range(50):
    a.send(i)
    b.send(i)
picks = []
for i in range(20):
    picks.append(select(a.recv_op(), b.recv_op())[0])
    picks.append(random.randint(1, 6))
l = list(range(10))
random.shuffle(l)
def worker(n):
    sleep(random.uniform(0, 0.01))
    return random.random()
ws = [spawn(worker, n) for n in range(5)]
print(picks, l, random.choice("abcdef"), random.sample(range(100), 5), random.uuid4(), [w.wait() for w in ws])
`

func TestSeedReplays(t *testing.T) {
	first := run(t, 7, replay)
	assert.Equal(t, first, run(t, 7, replay))
	assert.NotEqual(t, first, run(t, 8, replay))
}

func TestValues(t *testing.T) {
	out := run(t, 1, `
seen = {}
for i in range(2000):
    n = random.randint(-2, 2)
    seen[n] = seen.get(n, 0) + 1
print(sorted(seen.keys()), min(seen.values()) > 300)
print(all([0 <= x and x < 1 for x in [random.random() for i in range(1000)]]))
print(all([2.5 <= x and x <= 3 for x in [random.uniform(2.5, 3) for i in range(1000)]]), all([-1 <= x and x <= 1 for x in [random.uniform(1, -1) for i in range(100)]]))
print(random.randint(5, 5), random.randint(-9223372036854775808, 9223372036854775807) != None)
l = list(range(100))
random.shuffle(l)
print(sorted(l) == list(range(100)), l != list(range(100)))
s = random.sample(range(1000000), 1000)
print(len(s), len(set(s)), all([0 <= x and x < 1000000 for x in s]))
print(sorted(random.sample("abc", 3)), random.sample([1], 0))
print(random.choice([42]), random.choice((1, 2)) in (1, 2))
print(type(random.uuid4()), random.uuid4() != random.uuid4())
print(random.shuffle([]), random.shuffle([1]))
`)
	assert.Equal(t, `[-2, -1, 0, 1, 2] True
True
True True
5 True
True True
1000 1000 True
["a", "b", "c"] []
42 True
string True
None None
`, out)
}

func TestUUID4Format(t *testing.T) {
	out := run(t, 3, `
for i in range(200):
    print(random.uuid4())
`)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		assert.Regexp(t, re, l)
	}
}

func TestErrors(t *testing.T) {
	out := run(t, 1, `
print(catch(random.randint, 3, 1).error)
print(catch(random.randint, 1, 1 << 70).error)
print(catch(random.choice, []).error)
print(catch(random.sample, [1, 2], 3).error)
print(catch(random.sample, [1, 2], -1).error)
print(catch(random.shuffle, (1, 2)).error)
print(catch(random.shuffle, freeze([1, 2])).error)
print(catch(random.uniform, "a", 1).error)
print(catch(random.random, 1).error)
`)
	assert.Equal(t, `value: random.randint: empty range: a (3) > b (1)
value: random.randint: for parameter b: 1180591620717411303424 out of range (want value in signed 64-bit range)
value: random.choice: cannot choose from an empty sequence
value: random.sample: sample larger than the population or negative (k=3, len=2)
value: random.sample: sample larger than the population or negative (k=-1, len=2)
value: random.shuffle: for parameter list: got tuple, want list
value: random.shuffle: cannot assign to element of frozen list
value: random.uniform: got string, want int or float
value: random.random: got 1 arguments, want at most 0
`, out)
}

// Outside a task (a parallel worker's thread) there is no source.
func TestNoTask(t *testing.T) {
	fn := random.Module().Members["random"]
	_, err := starlark.Call(&starlark.Thread{}, fn, nil, nil)
	assert.ErrorContains(t, err, "random.random: no random source here")
}

// A sample of a range takes memory by k, not by the range's length
// (random.sample(range(1 << 62), 1 << 40) asked for 16 TiB at once, a
// fatal error), and a long draw is stopped by a timeout, a step charged
// per element. A list that changes size while the draw lets other tasks
// run (at the end of a time slice) fails it, rather than indexing past
// its end.
func TestSampleHugeAndChanging(t *testing.T) {
	out := run(t, 1, `
print(len(random.sample(range(1 << 62), 1000)))
print(catch(timeout, 0.01, random.sample, range(1 << 62), 1 << 40).error)
l = list(range(100000))
def shrink():
    l.clear()
spawn(shrink)
print(catch(random.sample, l, 100000).error)
`)
	assert.Equal(t, `1000
timeout: deadline of 0.01s exceeded
value: random.sample: the sequence changed size during sampling
`, out)
}
