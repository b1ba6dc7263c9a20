package loop

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
			out.WriteString(task.name + " unwound=" + map[bool]string{true: "yes", false: "no"}[task.unwound && task.worker == nil] + " at " + where + "\n")
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
