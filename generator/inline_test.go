package generator_test

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Starlark body runs in line: suspended at an emit or in a wait, it
// holds no goroutine. Before a builtin that may call back into it
// (catch, sorted's key, emit_all) it moves to a goroutine of its own, and
// every value still arrives in order; a body waiting in line lets other
// tasks run; deferred functions that emit still do.
func TestInlineBodies(t *testing.T) {
	globals := leakGlobals()
	out, err := run(t, `
def direct(n):
    for i in range(n):
        emit(i)

def mixed():
    emit("a")                              # in line
    catch(emit, "b")                       # moves to a coroutine first
    emit("c")
    sorted([2, 1], key = lambda v: emit(v) or v)
    emit("d")

def waits(log):
    for i in range(3):
        sleep(1)                           # unwound: the consumer waits
        log.append("body %d" % i)
        emit(i)

def nested():
    emit_all(generator(direct, 2))         # emit_all moves the body
    for x in generator(direct, 2):         # a generator in line inside one
        emit(x * 10)

def deferred():
    defer(lambda: emit("from defer"))
    emit("body")

before = goroutines()
gs = [generator(direct, 5) for _ in range(200)]
for g in gs:
    g.next()
# on a coroutine each would hold a goroutine; other tests' goroutines may
# still be exiting, so the count is only bounded
print("parked in line cost goroutines:", goroutines() - before < 20)
print(list(generator(mixed)))
log = []
def other():
    for i in range(3):
        log.append("other %d" % i)
        sleep(1)
t = spawn(other)
print(list(generator(waits, log)))
t.wait()
print(sorted(log) == sorted(["body 0", "body 1", "body 2", "other 0", "other 1", "other 2"]), log[0])
print(list(generator(nested)))
print(list(generator(deferred)))
`, globals)
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6, out)
	assert.Equal(t, "parked in line cost goroutines: True", lines[0])
	assert.Equal(t, `["a", "b", "c", 2, 1, "d"]`, lines[1])
	assert.Equal(t, `[0, 1, 2]`, lines[2])
	assert.Equal(t, `True other 0`, lines[3])
	assert.Equal(t, `[0, 1, 0, 10]`, lines[4])
	assert.Equal(t, `["body", "from defer"]`, lines[5])
}

// A Go builtin that calls back into a body without being marked Stackful
// cannot let an emit under it suspend the body (its Go frame sits on the
// consumer's stack): the emit fails with an error saying so, rather than
// hang or crash.
func TestInlineEmitUnderUnmarkedCallback(t *testing.T) {
	globals := starlark.StringDict{
		"call": starlark.NewBuiltin("call", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return starlark.Call(th, args[0], args[1:], nil)
		}),
	}
	out, err := run(t, `
def body():
    emit(1)
    call(emit, 2)
g = generator(body)
print(g.next())
print(catch(g.next).error.message)
`, globals)
	require.NoError(t, err, out)
	assert.Equal(t, "1\nerror: emit: generator body cannot suspend here: a Go function below emit calls back into the body without being marked Stackful (please report this)\n", out)
}
