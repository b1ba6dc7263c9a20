package engine_test

// Fuzz targets for the script surface (the hardening issue): random
// source through New and Exec (FuzzExec), and random arguments to every
// builtin, module member and method a script can reach (FuzzBuiltinArgs).
// Whatever the input, a run must not crash, must end within its deadline
// (plus a generous guard), and every error it raises must be an
// *engine.Error with one of the kinds of SPEC 4 and not a recovered Go
// panic.
//
// `go test ./engine` runs both over their seeds and over the regression
// inputs under testdata/fuzz; CI fuzzes each for a bounded time (.ci/run);
// locally: go test ./engine -run '^$' -fuzz '^FuzzExec$' -fuzztime 60s

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
)

const (
	// execDeadline is the ctx deadline of FuzzExec's runs: it cancels a
	// script that computes, spawns or waits for too long (a spawn bomb).
	// Cancellation is a fine outcome; not ending is not.
	execDeadline = 2 * time.Second
	// execMaxSteps bounds each task's computation (Options.MaxSteps), so
	// that `while True: pass` fails fast instead of waiting for the
	// deadline.
	execMaxSteps = 200_000
	// argsDeadline and argsMaxSteps are FuzzBuiltinArgs's. Its scripts
	// make at most a few calls, each from one task with few steps to
	// spend, on the virtual clock: they end in milliseconds, so reaching
	// this generous deadline means something spins without counting
	// steps (a builtin's loop, the loop stepping through timers), and is
	// a failure.
	argsDeadline = 10 * time.Second
	argsMaxSteps = 50_000
	// fuzzHangGuard is how long a run (Exec, then Close) may take in all
	// before the input counts as a hang. It is generous (the deadline,
	// the 5 s bound on deferred functions, a loaded CI machine, -race):
	// it guards against a run that never ends, it does not measure speed.
	fuzzHangGuard = 40 * time.Second
	// fuzzMaxSource bounds the source FuzzExec runs: larger inputs only
	// slow the fuzzer down.
	fuzzMaxSource = 64 << 10
)

// fuzzKinds are the kinds of SPEC 4; an error with any other is a bug.
var fuzzKinds = map[engine.Kind]bool{
	engine.KindCancelled: true, engine.KindTimeout: true, engine.KindClosed: true,
	engine.KindEOF: true, engine.KindRefused: true, engine.KindReset: true,
	engine.KindNotFound: true, engine.KindExists: true, engine.KindPermission: true,
	engine.KindIO: true, engine.KindValue: true, engine.KindDeadlock: true,
	engine.KindStop: true, engine.KindError: true,
}

// realCatch is the engine's catch, which fuzzRun.catch wraps.
var realCatch = loop.Builtins()["catch"].(*starlark.Builtin)

// A fuzzRun is one script run: it collects the problems found while the
// script runs (on the loop, through the wrapped catch and OnFailure) and
// after it (Exec's error).
type fuzzRun struct {
	deadline time.Duration // the run's ctx deadline
	maxSteps uint64        // Options.MaxSteps
	// strict makes reaching the deadline a failure (FuzzBuiltinArgs).
	strict bool

	mu       sync.Mutex
	problems []string
	stderr   limitedBuffer
}

func (r *fuzzRun) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// checkErr records a problem unless err is nil, an exit (os.exit is not a
// failure) or an *engine.Error with a kind of SPEC 4 that is not a Go
// panic the engine recovered.
func (r *fuzzRun) checkErr(where string, err error) {
	if p := errProblem(err); p != "" {
		r.problem("%s: %s", where, p)
	}
}

func errProblem(err error) string {
	if err == nil {
		return ""
	}
	var exit *engine.ExitError
	if errors.As(err, &exit) {
		return ""
	}
	var ce *engine.Error
	if !errors.As(err, &ce) {
		return fmt.Sprintf("error without a kind (%T): %v", err, err)
	}
	if !fuzzKinds[ce.Kind] {
		return fmt.Sprintf("unknown kind %q: %v", ce.Kind, err)
	}
	if !strings.HasPrefix(err.Error(), string(ce.Kind)+": ") {
		return fmt.Sprintf("message does not start with its kind %q: %v", ce.Kind, err)
	}
	// CallFn, generators, parallel and AsyncBuiltin recover a Go panic
	// into an error: the process survives, but it is a crash all the same.
	if strings.Contains(ce.Msg, "internal error") || strings.Contains(ce.GoStack, "runtime/panic.go") {
		return fmt.Sprintf("recovered Go panic: %v\n%s", err, ce.GoStack)
	}
	return ""
}

// catch is the script's catch, checking the error of every Result it
// makes: a failure a script catches and drops is checked too.
func (r *fuzzRun) catch() *starlark.Builtin {
	return starlark.NewBuiltin("catch", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := realCatch.CallInternal(th, args, kwargs)
		if err != nil {
			r.checkErr("catch", err)
			return nil, err
		}
		r.checkResult("catch", v)
		return v, nil
	})
}

// checkResult checks the error of a Result (catch's value).
func (r *fuzzRun) checkResult(where string, v starlark.Value) (failed bool, kind engine.Kind) {
	res, ok := v.(starlark.HasAttrs)
	if !ok {
		r.problem("%s: got %s, want a Result", where, v.Type())
		return false, ""
	}
	e, err := res.Attr("error")
	if err != nil || e == nil {
		r.problem("%s: Result has no error attribute (%v)", where, err)
		return false, ""
	}
	if e == starlark.None {
		return false, ""
	}
	ce, ok := e.(*engine.Error)
	if !ok {
		r.problem("%s: Result.error is %s, want an Error", where, e.Type())
		return true, ""
	}
	r.checkErr(where, ce)
	return true, ce.Kind
}

// run executes src on a fresh engine with no permissions, the virtual
// clock, a step limit and a deadline, and fails t on a hang or on any
// problem found. globals are added to the predeclared names. It returns
// Exec's error.
func (r *fuzzRun) run(t *testing.T, src string, globals starlark.StringDict) error {
	g := starlark.StringDict{"catch": r.catch()}
	for k, v := range globals {
		g[k] = v
	}
	eng, err := engine.New(engine.Options{
		Stdout:   &limitedBuffer{}, // print must work; nobody reads it
		Stderr:   &r.stderr,
		Globals:  g,
		MaxSteps: r.maxSteps,
		// Short time slices: more interleavings of tasks, and the
		// virtual clock, which a slice of computing moves 1 ms, reaches
		// the 5 s bound of deferred functions in 5M steps.
		TimeSlice:   1000,
		VirtualTime: true, // sleep(3600) takes no real time
		Seed:        1,
		// Failures nobody waited on: reported on stderr and here.
		OnFailure: func(task string, err *engine.Error) { r.checkErr("unhandled failure of task "+task, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var expired bool // the deadline cancelled the run
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.deadline)
		defer cancel()
		_, err := eng.Exec(ctx, "fuzz.star", src)
		expired = ctx.Err() != nil
		eng.Close()
		done <- err
	}()
	guard := time.NewTimer(fuzzHangGuard)
	defer guard.Stop()
	select {
	case err = <-done:
	case <-guard.C:
		t.Fatalf("hang: Exec and Close did not return within %s (deadline %s)\nscript:\n%s\n\nstderr:\n%s\n\ngoroutines:\n%s",
			fuzzHangGuard, r.deadline, src, r.stderr.String(), allStacks())
	}
	r.checkErr("Exec", err)
	if expired && r.strict {
		r.problem("the run reached its deadline (%s): something spins without counting steps", r.deadline)
	}
	if len(r.problems) > 0 {
		t.Fatalf("%s\n\nscript:\n%s\n\nstderr:\n%s", strings.Join(r.problems, "\n"), src, r.stderr.String())
	}
	return err
}

// allStacks returns every goroutine's stack, bounded.
func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// limitedBuffer keeps the first 64 KiB written to it (for a failure's
// message) and discards the rest; safe for concurrent writes.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<10 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ---- FuzzExec ----

// FuzzExec runs random source. Seeds: every script of the repository
// (cmd/coro/testdata, scripts, tests) and a few that exercise tasks,
// channels, select, generators, sleep and cancellation.
func FuzzExec(f *testing.F) {
	for _, src := range repoScripts(f) {
		f.Add(src)
	}
	for _, src := range execSeeds {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > fuzzMaxSource {
			t.Skip("source too large")
		}
		r := &fuzzRun{deadline: execDeadline, maxSteps: execMaxSteps}
		r.run(t, src, nil)
	})
}

// Syntax and resolve errors reach Go as *engine.Error of kind error (the
// module's task fails with them), like every other failure; the command
// tells them apart with loop.IsSyntaxError (exit status 2).
func TestSyntaxErrorsHaveAKind(t *testing.T) {
	for _, src := range []string{"def f(:\n", "x = undefined_name\n", "x = $\n"} {
		eng, _ := newEngine(t, engine.Options{})
		_, err := eng.Exec(testCtx(t), "bad.star", src)
		var ce *engine.Error
		if assert.ErrorAs(t, err, &ce, "%q", src) {
			assert.Equal(t, engine.KindError, ce.Kind, "%q", src)
			assert.True(t, loop.IsSyntaxError(err), "%q", src)
		}
	}
}

// repoScripts returns the text of every .star file under the folders
// whose scripts are the command's and the examples' tests.
func repoScripts(f *testing.F) []string {
	var out []string
	for _, dir := range []string{"../cmd/coro/testdata", "../scripts", "../tests"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".star") {
				return err
			}
			b, err := os.ReadFile(path)
			out = append(out, string(b))
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	if len(out) == 0 {
		f.Fatal("no seed scripts found")
	}
	return out
}

// execSeeds are hand-written seeds for FuzzExec.
var execSeeds = []string{
	// Syntax and resolve errors are errors of kind error.
	"def f(:\n",
	"x = undefined_name\n",
	"\x00\xff",
	// Tasks, channels, select.
	`
ch = channel(2)
def producer(n):
    for i in range(n):
        ch.send(i)
    ch.close()
t = spawn(producer, 5, name="p")
print([v for v in ch], t.wait())
`,
	`
a, b = channel(), channel(1)
def f():
    sleep(0.1)
    a.send("a")
spawn(f)
print(select(a, b.recv_op(), after(1)))
print(select(b.send_op(1), default=True, biased=True))
print(race(lambda: sleep(1), lambda: 2, timeout=5))
print(join(lambda: 1, lambda: fail("x"), settle=True))
`,
	// Generators.
	`
def body(n):
    defer(print, "closed")
    for i in range(n):
        x = emit(i)
        if x:
            fail(x)
    return "end"
g = generator(body, 3)
print(g.next(), g.send(None), catch(g.send, "boom").error)
g2 = generator(body, 100)
print(list(generator(emit_all, [1, 2])), g2.next())
g2.close()
`,
	// Sleeps are virtual: an hour takes no time.
	`
sleep(3600)
t = after(1e9)
print(wait(t, timeout=1.5) if False else catch(wait, t, timeout=1.5).error.kind)
tk = ticker(0.5)
print(tk.recv(), tk.recv())
tk.close()
`,
	// Cancellation, timeouts, futures, sync.
	`
def sleeper():
    defer(print, "cleanup")
    sleep(10)
t = spawn(sleeper)
sleep(0)
t.cancel("stop")
print(catch(t.wait).error)
fu = future()
spawn(lambda: fu.set(42))
print(fu.wait(timeout=1))
print(catch(timeout, 0.01, sleep, 1).error.kind)
l = sync.lock()
print(l.hold(lambda: 1), sync.semaphore(2).available)
ev = sync.event()
spawn(ev.set)
ev.wait()
`,
	// Runs that must end although deferred functions respawn or
	// re-defer themselves.
	"def worker():\n    defer(spawn, worker)\n    sleep(1)\nworker()\n",
	"def again():\n    defer(again)\nagain()\n",
	"def bye():\n    defer(spawn, bye)\n    os.exit(3)\nspawn(bye)\nsleep(1)\n",
	"def bye():\n    defer(bye)\n    os.exit()\nspawn(bye)\n",
	// Deadlock and step limit.
	"channel().recv()\n",
	"while True:\n    pass\n",
	"def f():\n    f()\nf()\n",
	// I/O is refused without permissions.
	`print(catch(fs.read, "/etc/passwd").error.kind, catch(net.dial, "127.0.0.1:1").error.kind)`,
}

// ---- FuzzBuiltinArgs ----

// fuzzPrelude defines the values FuzzBuiltinArgs passes as arguments and
// whose methods it calls: one of each kind of object a script meets.
const fuzzPrelude = `
def _f(*args, **kwargs):
    return args
def _fail(*args, **kwargs):
    fail("boom")
def _sleep(*args, **kwargs):
    sleep(3600)
def _spin(*args, **kwargs):
    while True:
        pass
def _body(*args, **kwargs):
    emit(1)
    emit(2)
    return 3
def _recur(*args, **kwargs):
    return _recur()
_s = "abc"
_b = b"abc"
_l = [1, "a", None]
_d = {"a": 1, 2: "b"}
_t = (1, 2)
_set = set([1, 2])
_ch = channel(1)
_ch0 = channel()
_closed = channel(2)
_closed.send(1)
_closed.close()
_fut = future()
_done_fut = future()
_done_fut.set(1)
_failed_fut = future()
_failed_fut.fail("failed")
_task = spawn(_sleep)
_done_task = spawn(_f, 1)
_gen = generator(_body)
_timer = after(1)
_ticker = ticker(1)
_lock = sync.lock()
_sem = sync.semaphore(1)
_ev = sync.event()
_wg = sync.wait_group()
_bc = sync.broadcast()
_sub = _bc.subscribe()
_watch = sync.watch(0)
_recv_op = _ch.recv_op()
_send_op = _ch0.send_op(1)
_wait_op = _ev.wait_op()
_me = current_task()
_now = time.now()
_info = tasks()[0]
_result = catch(_fail)
_error = _result.error
`

// fuzzPreludeObjects are the prelude's names whose methods are targets
// (the plain functions are arguments only).
var fuzzPreludeObjects = []string{
	"_s", "_b", "_l", "_d", "_set", "_ch", "_ch0", "_closed", "_fut", "_done_fut",
	"_failed_fut", "_task", "_done_task", "_gen", "_timer", "_ticker", "_lock", "_sem",
	"_ev", "_wg", "_bc", "_sub", "_watch", "_recv_op", "_send_op", "_wait_op", "_me",
	"_now", "_info", "_result", "_error",
}

// fuzzValues are argument expressions (besides numbers and strings made
// from the input): the prelude's values and a few more.
var fuzzValues = []string{
	"None", "True", "False", "0", "1", "-1", "2", "3600", "1 << 62", "-(1 << 63)",
	"1 << 64", "1000000000000000000000000000000", "-1000000000000000000000000000000", "0.0", "-0.0", "0.001", "0.5", "1e-9", "1e300",
	"float('nan')", "float('inf')", "-float('inf')", `""`, `"a"`, `"x" * 1000`,
	`"127.0.0.1:0"`, `"127.0.0.1:1"`, `"unix:/tmp/coro-fuzz.sock"`, `"/etc/passwd"`,
	`"/tmp"`, `"."`, `"fuzz.star"`, `"http://127.0.0.1:1/"`, `"INT"`, `"TERM"`, `"KILL"`,
	`"HOME"`, `"sh"`, `["true"]`, `"r"`, `"w"`, `"1s"`, `"2020-01-01T00:00:00Z"`, `"UTC"`,
	`"{}"`, `"[1, 2"`, `'{"a": [1, 2.5, null]}'`, `"%s %d"`, `">10"`, `"x^20,.3f"`,
	"[]", "{}", "()", "set()", "range(3)", "range(1 << 62)", "b\"\"", "_s", "_b", "_l",
	"_d", "_t", "_set", "_f", "_fail", "_sleep", "_spin", "_body", "_recur",
	"lambda: None", "lambda *a, **k: emit(1)", "len", "print", "fail", "spawn", "sleep",
	"_ch", "_ch0", "_closed", "_fut", "_done_fut", "_failed_fut", "_task", "_done_task",
	"_gen", "_timer", "_ticker", "_lock", "_sem", "_ev", "_wg", "_bc", "_sub", "_watch",
	"_recv_op", "_send_op", "_wait_op", "_me", "_now", "_info", "_result", "_error",
	"time.second", "time.millisecond * -1", "json", "math", "sync", "os", "fs",
	"freeze([1, [2]])", "[_ch, _ch0]", "{_s: _l}", "[[[[]]]]",
}

// fuzzKwargs are keyword names the builtins of SPEC.md take.
var fuzzKwargs = []string{
	"timeout", "name", "default", "biased", "settle", "capacity", "n", "reason", "mode",
	"stdin", "env", "cwd", "headers", "body", "tls", "server_name", "ca", "insecure",
	"cert", "key", "stream", "limit", "spec", "seconds", "value", "fn", "x", "sep",
	"end", "reverse", "initial", "signal", "code", "args", "kwargs", "indent", "prefix",
	"sort_keys", "message", "items", "cases", "hosts", "format", "location",
}

// fuzzTargets lists what FuzzBuiltinArgs calls, by the expression that
// names it in a script: the engine's predeclared builtins, every callable
// member of its modules, the interpreter's universal builtins, and every
// method of the prelude's values. Built once.
var fuzzTargets = sync.OnceValue(func() []string {
	eng, err := engine.New(engine.Options{Stdout: &limitedBuffer{}, Stderr: &limitedBuffer{}, VirtualTime: true})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	set := map[string]bool{}
	add := func(name string, v starlark.Value) {
		if _, ok := v.(starlark.Callable); ok {
			set[name] = true
		}
	}
	for _, d := range []starlark.StringDict{eng.Predeclared(), starlark.Universe} {
		for name, v := range d {
			add(name, v)
			if m, ok := v.(starlark.HasAttrs); ok && v.Type() == "module" {
				for _, attr := range m.AttrNames() {
					if mv, _ := m.Attr(attr); mv != nil {
						add(name+"."+attr, mv)
					}
				}
			}
		}
	}
	g, err := eng.Exec(context.Background(), "prelude.star", fuzzPrelude+"_task.cancel()\n")
	if err != nil {
		panic(err)
	}
	for _, obj := range fuzzPreludeObjects {
		o, ok := g[obj].(starlark.HasAttrs)
		if !ok {
			continue
		}
		for _, attr := range o.AttrNames() {
			if v, _ := o.Attr(attr); v != nil {
				add(obj+"."+attr, v)
			}
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
})

// ioTarget reports whether a call of target does I/O: with no
// permissions, every such call must fail (with permission, or value for
// bad arguments), never succeed.
func ioTarget(target string) bool {
	for _, p := range []string{"fs.", "net.", "http.", "proc.", "nats."} {
		if strings.HasPrefix(target, p) {
			return true
		}
	}
	return target == "os.env" || target == "os.signal" || target == "remote"
}

// Opcodes of FuzzBuiltinArgs's input, after the mode byte of each call:
// each byte is an argument, except these, which take more bytes.
const (
	opNextCall   = iota // end the call; the next two bytes pick a target, one the mode
	opKeyword           // the next argument is passed as keyword fuzzKwargs[next byte]
	opSmallInt          // the next byte, signed
	opInt64             // the next 8 bytes
	opFloat             // the next 8 bytes, as float64 bits
	opString            // length byte, then that many bytes, as a string
	opBytes             // length byte, then that many bytes, as bytes
	opList              // a list of the next argument (one level)
	opDict              // a dict of the next argument to the one after
	opTuple             // a tuple of the next two arguments
	opFirstValue        // and above: fuzzValues[op-opFirstValue]
)

// Modes: how a call is made.
const (
	modeDirect    = iota // from a function of the main task
	modeTask             // from a spawned task the main task waits for
	modeGenerator        // from a generator body the main task iterates
	modeDefer            // from a deferred function of a task
	numModes
)

// fuzzMaxCalls and fuzzMaxArgs bound the script made from one input.
const (
	fuzzMaxCalls = 4
	fuzzMaxArgs  = 6
)

// A fuzzCall is one call of a generated script.
type fuzzCall struct {
	target string
	mode   int
	args   []string // positional argument expressions
	kwargs []string // keyword arguments, as name=expr, each name once
}

// argList renders the arguments: positional ones first, as a call must.
func (c fuzzCall) argList() string {
	return strings.Join(append(append([]string(nil), c.args...), c.kwargs...), ", ")
}

// argDecoder turns FuzzBuiltinArgs's input into calls. Strings, bytes and
// floats from the input reach the script as _V[i] (a tuple predeclared
// from Go), so any byte sequence and any float, NaN included, is one
// expression without quoting.
type argDecoder struct {
	data []byte
	vals starlark.Tuple
}

func (d *argDecoder) next() (byte, bool) {
	if len(d.data) == 0 {
		return 0, false
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b, true
}

func (d *argDecoder) take(n int) []byte {
	n = min(n, len(d.data))
	b := d.data[:n:n] // callers append to it: never into the input

	d.data = d.data[n:]
	return b
}

func (d *argDecoder) val(v starlark.Value) string {
	d.vals = append(d.vals, v)
	return fmt.Sprintf("_V[%d]", len(d.vals)-1)
}

// decode returns the calls of the input: the first of target first.
func (d *argDecoder) decode(first string, targets []string) []fuzzCall {
	mode, _ := d.next()
	calls := []fuzzCall{{target: first, mode: int(mode) % numModes}}
	for len(d.data) > 0 {
		op, _ := d.next()
		c := &calls[len(calls)-1]
		switch {
		case op == opNextCall:
			if len(calls) == fuzzMaxCalls {
				return calls
			}
			i := binary.BigEndian.Uint16(append(d.take(2), 0, 0))
			mode, _ := d.next()
			calls = append(calls, fuzzCall{target: targets[int(i)%len(targets)], mode: int(mode) % numModes})
		case len(c.args)+len(c.kwargs) == fuzzMaxArgs:
			return calls
		case op == opKeyword:
			k, _ := d.next()
			name := fuzzKwargs[int(k)%len(fuzzKwargs)] + "="
			v := d.value(0)
			if !slices.ContainsFunc(c.kwargs, func(kw string) bool { return strings.HasPrefix(kw, name) }) {
				c.kwargs = append(c.kwargs, name+v) // a repeated name would be a syntax error
			}
		default:
			c.args = append(c.args, d.valueOf(op, 0))
		}
	}
	return calls
}

// value decodes one argument expression; depth bounds nesting.
func (d *argDecoder) value(depth int) string {
	op, ok := d.next()
	if !ok {
		return "None"
	}
	return d.valueOf(op, depth)
}

// valueOf decodes the argument expression that starts with op.
func (d *argDecoder) valueOf(op byte, depth int) string {
	if depth > 3 && op < opFirstValue {
		op = opFirstValue // no deeper nesting: a plain value
	}
	switch op {
	case opNextCall, opKeyword, opSmallInt:
		b, _ := d.next()
		return strconv.Itoa(int(int8(b)))
	case opInt64:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(append(d.take(8), make([]byte, 8)...))), 10)
	case opFloat:
		return d.val(starlark.Float(math.Float64frombits(binary.BigEndian.Uint64(append(d.take(8), make([]byte, 8)...)))))
	case opString, opBytes:
		n, _ := d.next()
		b := d.take(int(n))
		if op == opBytes {
			return d.val(starlark.Bytes(b))
		}
		return d.val(starlark.String(b))
	case opList:
		return "[" + d.value(depth+1) + "]"
	case opDict:
		k := d.value(depth + 1)
		return "{" + k + ": " + d.value(depth+1) + "}"
	case opTuple:
		a := d.value(depth + 1)
		return "(" + a + ", " + d.value(depth+1) + ")"
	}
	return fuzzValues[int(op-opFirstValue)%len(fuzzValues)]
}

// script renders the calls after the prelude. Each call runs inside
// catch, from the place its mode says; _check(i, result) checks its
// outcome on the Go side.
func (calls fuzzCallList) script() string {
	var b strings.Builder
	b.WriteString(fuzzPrelude)
	for i, c := range calls {
		// The arguments are evaluated before _arm(i) tells the Go side
		// that the call itself begins: {[1]: 2} fails before any call.
		var kw []string
		for _, k := range c.kwargs {
			name, v, _ := strings.Cut(k, "=")
			kw = append(kw, strconv.Quote(name)+": "+v)
		}
		fmt.Fprintf(&b, "def _call%d():\n    a = [%s]\n    k = {%s}\n    _arm(%d)\n    return %s(*a, **k)\n",
			i, strings.Join(c.args, ", "), strings.Join(kw, ", "), i, c.target)
		switch c.mode {
		case modeDirect:
			fmt.Fprintf(&b, "_check(%d, catch(_call%d))\n", i, i)
		case modeTask:
			fmt.Fprintf(&b, "_check(%d, catch(wait, spawn(_call%d)))\n", i, i)
		case modeGenerator:
			fmt.Fprintf(&b, "def _gen%d():\n    emit(_call%d())\n", i, i)
			fmt.Fprintf(&b, "_check(%d, catch(list, generator(_gen%d)))\n", i, i)
		case modeDefer:
			// The deferred call's failure is the task's.
			fmt.Fprintf(&b, "_check(%d, catch(wait, spawn(lambda: defer(_call%d))))\n", i, i)
		}
	}
	return b.String()
}

type fuzzCallList []fuzzCall

// FuzzBuiltinArgs calls builtins, module members and methods with
// arguments decoded from the input: name picks the first target (an
// unknown name is hashed to one, so mutations still reach them all) and
// data holds the arguments and further calls (see the op constants).
func FuzzBuiltinArgs(f *testing.F) {
	targets := fuzzTargets()
	for _, target := range targets {
		f.Add(target, []byte{})                                   // no arguments
		f.Add(target, []byte{modeDirect, opSmallInt, 1})          // (1)
		f.Add(target, []byte{modeTask, opString, 1, 'a', opList}) // ("a", [None])
		f.Add(target, []byte{modeGenerator, opFirstValue + 64})   // (_f) a callable
	}
	f.Add("channel", []byte{modeDefer, opKeyword, 5, opFloat, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, opNextCall, 0, 0, modeDirect})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		first := name
		if !contains(targets, name) {
			h := fnv.New32a()
			h.Write([]byte(name))
			first = targets[int(h.Sum32()%uint32(len(targets)))]
		}
		d := &argDecoder{data: data}
		calls := fuzzCallList(d.decode(first, targets))
		r := &fuzzRun{deadline: argsDeadline, maxSteps: argsMaxSteps, strict: true}
		armed := make([]bool, len(calls))
		arm := starlark.NewBuiltin("_arm", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			i, _ := starlark.AsInt32(args[0])
			armed[i] = true
			return starlark.None, nil
		})
		check := starlark.NewBuiltin("_check", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			i, _ := starlark.AsInt32(args[0])
			c := calls[i]
			where := fmt.Sprintf("call %d, %s(%s)", i, c.target, c.argList())
			failed, kind := r.checkResult(where, args[1])
			if !ioTarget(c.target) || !armed[i] {
				return starlark.None, nil
			}
			if !failed {
				r.problem("%s: I/O succeeded with no permissions", where)
			}
			if failed && kind != engine.KindPermission && kind != engine.KindValue && kind != engine.KindCancelled {
				r.problem("%s: I/O with no permissions failed with %s, want permission (or value, cancelled)", where, kind)
			}
			return starlark.None, nil
		})
		src := calls.script()
		if err := r.run(t, src, starlark.StringDict{"_check": check, "_arm": arm, "_V": d.vals}); loop.IsSyntaxError(err) {
			t.Fatalf("the harness made a script that does not compile: %v\n%s", err, src)
		}
	})
}

func contains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}
