package main

// `coro test` (SPEC 9): the script test runner.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarktest"
	"github.com/corolang/coro/starlark/syntax"
)

const testUsage = `usage: coro [FLAGS] test [--seed N] [--run REGEX] [--timeout D] [--fail-fast] [--json] [PATHS...]
Runs every function named test_* in the files named *_test.star under
PATHS (files or directories, default "."), each as its own task on a fresh
engine with the virtual clock and the assert module of starlarktest.
  --seed N       fix every random choice (the seed of a run is printed at its end)
  --run REGEX    run only the tests whose file::name matches REGEX
  --timeout D    fail a test that runs longer than D of real time, with its
                 task dump (default 60s; 0: no limit)
  --fail-fast    stop after the first failed test
  --json         print one JSON object per test and line:
                 {"test": "file::name", "file": ..., "name": ..., "ok": true,
                 "seconds": 0.01, "output": "..."}; the seed and the summary
                 go to stderr
`

// defaultTestTimeout is --timeout's default: real time per test.
const defaultTestTimeout = 60 * time.Second

// testArgs are coro test's own flags and its PATHS.
type testArgs struct {
	seed     uint64
	seeded   bool
	run      *regexp.Regexp
	timeout  time.Duration
	failFast bool
	json     bool
	paths    []string
}

// errTestTimeout cancels a test past --timeout.
var errTestTimeout = errors.New("test timed out")

// testSuffix names the files `coro test` collects from directories.
const testSuffix = "_test.star"

// A testFile is one *_test.star file and the test functions it defines.
type testFile struct {
	path  string            // as shown in output and tracebacks: slash-separated, as found under its PATH argument
	prog  *starlark.Program // compiled once, run afresh for every test
	tests []string          // names of top-level test_* functions, in definition order
}

// runTests is `coro test`: it returns the exit status (0 all passed, 1 a
// test failed, 2 a usage or syntax error, 128+N ended by signal N). Global flags
// (c) apply to every test engine, except that the clock is always virtual.
func runTests(c *config, args []string, stdout, stderr io.Writer) int {
	ta, err := parseTestArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, testUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "coro test: %s\n%s", err, testUsage)
		return exitUsage
	}
	seed, paths := ta.seed, ta.paths
	switch {
	case ta.seeded:
	case c.seeded: // coro --seed N test: 0 included
		seed = c.seed
	default:
		// Small enough to retype; any value replays exactly.
		seed = rand.Uint64N(1 << 32)
	}
	files, err := findTestFiles(paths)
	if err != nil {
		fmt.Fprintf(stderr, "coro test: %v\n", err)
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "coro test: no %s files in %s\n", "*"+testSuffix, strings.Join(paths, " "))
		return exitUsage
	}
	for _, f := range files {
		c.loadDirs = append(c.loadDirs, filepath.Dir(f.path))
	}
	r := &testRunner{c: c, seed: seed, stdout: stdout, timeout: ta.timeout, json: ta.json}
	if !r.load(files, stderr) {
		return exitUsage
	}
	ctx, stop, signalled, _ := interruptContext(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	passed, failed := 0, 0
run:
	for _, f := range files {
		for _, name := range f.tests {
			if ta.run != nil && !ta.run.MatchString(f.path+"::"+name) {
				continue
			}
			if r.run(ctx, f, name) {
				passed++
			} else {
				failed++
			}
			if code := signalled(); code != 0 {
				fmt.Fprintln(stderr, "coro test: interrupted")
				return code
			}
			if failed > 0 && ta.failFast {
				break run
			}
		}
	}
	if passed+failed == 0 && ta.run != nil {
		fmt.Fprintf(stderr, "coro test: no test matches --run %s\n", ta.run)
	}
	summary := stdout
	if ta.json {
		summary = stderr // stdout is JSON lines only
	}
	fmt.Fprintf(summary, "seed %d\n%d passed, %d failed\n", seed, passed, failed)
	if r.syntaxError {
		return exitUsage
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}

// parseTestArgs reads `coro test`'s own flags; they may come before or
// between PATHS, and "--" ends them.
func parseTestArgs(args []string) (*testArgs, error) {
	ta := &testArgs{timeout: defaultTestTimeout}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			ta.paths = append(ta.paths, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			ta.paths = append(ta.paths, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		needVal := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 == len(args) {
				return "", fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "fail-fast", "json", "h", "help":
			if hasVal {
				return nil, fmt.Errorf("flag --%s takes no value", name)
			}
		}
		switch name {
		case "seed":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			n, perr := strconv.ParseUint(v, 10, 64)
			if perr != nil {
				return nil, fmt.Errorf("--seed: %q is not a non-negative integer", v)
			}
			ta.seed, ta.seeded = n, true
		case "run":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			re, rerr := regexp.Compile(v)
			if rerr != nil {
				return nil, fmt.Errorf("--run: %v", rerr)
			}
			ta.run = re
		case "timeout":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			d, derr := time.ParseDuration(v)
			if derr != nil || d < 0 {
				return nil, fmt.Errorf("--timeout: %q is not a duration (60s, 5m, 0 for none)", v)
			}
			ta.timeout = d
		case "fail-fast":
			ta.failFast = true
		case "json":
			ta.json = true
		case "h", "help":
			return nil, errHelp
		default:
			return nil, fmt.Errorf("unknown flag %s", a)
		}
	}
	if len(ta.paths) == 0 {
		ta.paths = []string{"."}
	}
	return ta, nil
}

// findTestFiles expands PATHS: a file is taken whatever its name; a
// directory is searched recursively, in lexical order, for *_test.star,
// skipping (as go test does) directories named testdata or starting with
// "." or "_" below it. A path given twice runs once.
func findTestFiles(paths []string) ([]*testFile, error) {
	names, err := findStarFiles(paths, testSuffix) // fmt.go: the same walk
	if err != nil {
		return nil, err
	}
	out := make([]*testFile, len(names))
	for i, p := range names {
		out[i] = &testFile{path: filepath.ToSlash(p)}
	}
	return out, nil
}

// testRunner runs tests one after another, in order, so that output is a
// function of the seed alone.
type testRunner struct {
	c       *config
	seed    uint64
	stdout  io.Writer
	timeout time.Duration // real time per test; 0: none
	json    bool          // one JSON object per test instead of text
	// syntaxError: a test failed on a syntax error in a module it loads
	// (the test files themselves are compiled up front, load): the run
	// exits 2, as coro FILE does for the same load.
	syntaxError bool
}

// testResult is a test's line of --json output.
type testResult struct {
	Test    string  `json:"test"` // file::name
	File    string  `json:"file"`
	Name    string  `json:"name"`
	OK      bool    `json:"ok"`
	Seconds float64 `json:"seconds"` // real time
	Output  string  `json:"output"`  // what it printed, and why it failed
}

// load reads and compiles every file up front, so that a syntax error in
// any of them stops the run before a test runs (exit status 2), and lists
// each file's test functions.
func (r *testRunner) load(files []*testFile, stderr io.Writer) bool {
	probe, _ := engine.New(r.options(io.Discard, 0))
	defer probe.Close()
	pre := probe.Predeclared()
	isPredeclared := func(name string) bool { _, ok := pre[name]; return ok }
	ok := true
	for _, f := range files {
		src, err := readScript(f.path)
		if err != nil {
			fmt.Fprintf(stderr, "coro test: %v\n", err)
			ok = false
			continue
		}
		file, prog, err := starlark.SourceProgramOptions(probe.FileOptions(), f.path, src, isPredeclared)
		if err != nil {
			fmt.Fprintln(stderr, syntaxMessage(err))
			ok = false
			continue
		}
		f.prog = prog
		for _, stmt := range file.Stmts {
			if def, isDef := stmt.(*syntax.DefStmt); isDef && strings.HasPrefix(def.Name.Name, "test_") {
				f.tests = append(f.tests, def.Name.Name)
			}
		}
	}
	return ok
}

// options configure one test's engine: the command's flags, the virtual
// clock, a seed derived from the run's, assert predeclared, and out as
// both output streams.
func (r *testRunner) options(out io.Writer, seed uint64) engine.Options {
	opts := r.c.options(out, out, nil)
	opts.VirtualTime = true
	opts.Seed = seed
	assert, err := starlarktest.LoadAssertModule()
	if err != nil {
		panic(err) // the module is embedded in starlarktest: cannot fail
	}
	opts.Globals = starlark.StringDict{"assert": assert["assert"]}
	return opts
}

// engineSeed maps the run's seed to the engines' (a bijection, so distinct
// runs stay distinct) and keeps it non-zero, since Options.Seed 0 means
// "pick one at random".
func engineSeed(seed uint64) uint64 {
	// splitmix64's finaliser.
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return z
}

// syncBuffer collects one test's output: prints, failed-task reports and
// assertion failures, in the order they happened. Writes come from the loop,
// but I/O modules may write from their own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len returns how many bytes were written so far.
func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Insert puts s at offset i of what was written.
func (b *syncBuffer) Insert(i int, s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rest := bytes.Clone(b.buf.Bytes()[i:])
	b.buf.Truncate(i)
	b.buf.WriteString(s)
	b.buf.Write(rest)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertReporter receives starlarktest's assertion failures (assert.eq,
// assert.true, ...), which do not stop the test: each is recorded and the
// test fails once it has finished.
type assertReporter struct {
	out      io.Writer
	failures int
}

// Error writes one failure: starlarktest's traceback and message, with
// script frames only (not those inside assert.star, which only say which
// helper compared, nor builtins').
func (rep *assertReporter) Error(args ...any) {
	rep.failures++
	var b strings.Builder
	for _, line := range strings.Split(fmt.Sprint(args...), "\n") {
		if strings.HasPrefix(line, "  assert.star:") || strings.HasPrefix(line, "  <builtin>:") {
			continue
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	io.WriteString(rep.out, b.String())
}

// run runs one test and prints its line (and, when it failed, everything
// it wrote, indented). On a fresh engine, a task named after the test runs
// the module (so the test sees fresh globals) and then the test function;
// the loop runs on until every task it left has finished, as `coro FILE`
// would. The test fails on an assertion failure, an error in it or in the
// module, a task failure nobody waited on, a deadlock, cancellation or
// os.exit.
func (r *testRunner) run(ctx context.Context, f *testFile, name string) bool {
	start := time.Now()
	out := &syncBuffer{}
	rep := &assertReporter{out: out}
	opts := r.options(out, engineSeed(r.seed))
	opts.ThreadHook = func(th *starlark.Thread) { starlarktest.SetReporter(th, rep) }
	eng, err := engine.New(opts)
	if err != nil {
		fmt.Fprintf(r.stdout, "FAIL %s::%s\n    %v\n", f.path, name, err)
		return false
	}
	defer eng.Close()

	failed := false
	problem := func(err error) {
		failed = true
		if ce := engine.AsError(err); ce.Kind == engine.KindDeadlock {
			fmt.Fprintln(out, ce.Error()) // every blocked task, with its stack
		} else {
			io.WriteString(out, ce.Report(r.c.goTrace))
		}
	}
	// The module runs inside the test's task rather than through Exec,
	// because Exec freezes the module's globals (Starlark's rule for a
	// finished module) and a test may well mutate a global list.
	body := starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		globals, err := f.prog.Init(th, eng.Predeclared())
		if err != nil {
			return nil, err
		}
		fn, ok := globals[name].(starlark.Callable)
		if !ok {
			return nil, engine.Errorf(engine.KindValue, "%s is not a function once the module has run", name)
		}
		return starlark.Call(th, fn, nil, nil)
	})
	// Past --timeout (real time), the test's tasks are dumped and then
	// cancelled, so that a hung test fails instead of hanging the suite.
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var dump string
	mark := 0 // where the output stood when the test timed out
	fired := make(chan struct{})
	stopTimer := func() bool { return true }
	if r.timeout > 0 {
		timer := time.AfterFunc(r.timeout, func() {
			defer close(fired)
			dump, _ = eng.Dump()
			mark = out.Len()
			cancel(errTestTimeout)
		})
		stopTimer = timer.Stop
	}
	// Run returns the test's own failure, or the loop's (a deadlock, an
	// interrupt); Wait lets the tasks the test left finish.
	_, err = eng.Run(tctx, name, body)
	returned := err == nil // the test function returned; its tasks may not have
	if returned {
		err = eng.Wait(tctx)
	}
	timedOut := false
	if !stopTimer() {
		<-fired
		timedOut = true
	}
	switch ce := engine.AsError(err); {
	case timedOut:
		failed = true
		// Said where it happened: before what the cleanups printed.
		why := ""
		if returned {
			// A ticker, a server nobody closed: say so, or the report
			// looks like a test that never finished.
			why = ", waiting for tasks it started (the test function had returned)"
		}
		out.Insert(mark, fmt.Sprintf("test timed out after %v (--timeout)%s; its tasks then:\n%s", r.timeout, why, dump))
	case eng.Exit() != nil:
		// os.exit ends the run it is in, here the test's: not a way to pass.
		failed = true
		fmt.Fprintf(out, "os.exit(%d) called during the test\n", eng.Exit().Code)
	case err == nil:
	case ce.Kind == engine.KindCancelled && ctx.Err() == nil:
		failed = true
		fmt.Fprintf(out, "test was cancelled: %s\n", ce.Msg)
	default:
		problem(err)
		r.syntaxError = r.syntaxError || engine.IsSyntaxError(err)
	}
	if rep.failures > 0 || eng.Failures() > 0 {
		failed = true
	}
	id := f.path + "::" + name
	if r.json {
		line, _ := json.Marshal(testResult{Test: id, File: f.path, Name: name, OK: !failed,
			Seconds: time.Since(start).Seconds(), Output: out.String()})
		fmt.Fprintf(r.stdout, "%s\n", line)
		return !failed
	}
	if !failed {
		fmt.Fprintf(r.stdout, "ok   %s\n", id)
		return true
	}
	fmt.Fprintf(r.stdout, "FAIL %s\n", id)
	for _, line := range strings.SplitAfter(strings.TrimRight(out.String(), "\n"), "\n") {
		io.WriteString(r.stdout, "    "+strings.TrimRight(line, "\n")+"\n")
	}
	return false
}
