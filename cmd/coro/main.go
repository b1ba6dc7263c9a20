// Command coro runs coro scripts: `coro FILE [ARGS...]`, `coro -c CODE`,
// `coro test [PATHS...]`, `coro version`, and with no arguments the REPL.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/trace"
)

// Version is the coro version (`coro version`).
const Version = "0.1.0"

// Exit statuses (SPEC 9).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitDeadlock    = 3
	exitInterrupted = 130 // 128+N for signal N: 130 INT, 143 TERM, 129 HUP, 141 PIPE
)

const usage = `usage: coro [FLAGS] [FILE [ARGS...]]
       coro [FLAGS] run FILE [ARGS...]
       coro [FLAGS] - [ARGS...]         run the script read from stdin
       coro [FLAGS] -c CODE [ARGS...]
       coro [FLAGS] -i FILE [ARGS...]   run FILE, then start the REPL with its globals
       coro [FLAGS] --watch FILE [ARGS...]  run FILE again whenever it or a module it loads changes
       coro [FLAGS] --inspect ADDRESS FILE [ARGS...]  serve a live console of the run's tasks
       coro test [--seed N] [--run REGEX] [--timeout D] [--fail-fast] [--json] [PATHS...]
       coro fmt [--check] [PATHS...]    format .star files (--check: list those that would change)
       coro check [PATHS...]            parse and resolve without running: every error as file:line:col
       coro [FLAGS] worker [--concurrency N] [DIR]  serve remote() calls with the modules under DIR
       coro version
       coro help                        this text (so do -h and --help)
With no FILE, coro starts the REPL; statements piped into it run as at the
prompt, and the exit status is 1 if any of them failed.

flags:
  --sandbox           allow no I/O except what the --allow flags grant
                      (any --allow flag implies --sandbox)
  --allow-net         allow network access
  --allow-read=PATH   allow reading files under PATH (repeatable; bare: all)
  --allow-write=PATH  allow writing files under PATH (repeatable; bare: all)
  --allow-run         allow starting processes
  --allow-env         allow reading environment variables
  --max-memory=SIZE   past SIZE of heap (bytes, or with K, M, G: 512M, 2G) every
                      task is cancelled, cleanups run, and the run fails
  --virtual-time      sleeps take no real time (the clock jumps to the next timer)
  --seed N            fix every random choice
  --log-level=LEVEL   the least level the log module writes: debug, info
                      (the default), warn or error
  --log-format=FORMAT log lines as text (key=value, the default) or json
  --trace FILE        write a Chrome trace-event JSON file
  --profile FILE      write a profile of the script's own functions (pprof
                      format: go tool pprof -top FILE)
  --inspect ADDRESS   serve a live console of the run's tasks on ADDRESS
                      (PORT or HOST:PORT; loopback unless HOST says otherwise)
  --watch             run FILE; when it or a module it loads changes, cancel
                      the run (cleanups run) and start it again
  --go-trace          add Go frames to tracebacks
  --nats URL          use the NATS server (or cluster) at URL for the nats module
                      and remote() (default: $CORO_NATS, else one embedded in coro)
  --nats-listen ADDR  the embedded NATS server listens on ADDR (host:port), so
                      other coro processes can connect with --nats
  --nats-store DIR    the embedded NATS server keeps queues and buckets in DIR
`

// config is the parsed command line.
type config struct {
	sandbox     bool
	perms       engine.Permissions
	virtualTime bool
	maxMemory   uint64
	seed        uint64
	seeded      bool // --seed was given: 0 is a seed too
	logLevel    slog.Level
	logJSON     bool
	tracePath   string
	profilePath string
	inspect     string // --inspect's address, as bound
	watch       bool
	goTrace     bool
	// debug: breakpoint() opens a prompt (a script run on a terminal).
	debug       bool
	nats        engine.NATS // --nats, --nats-listen, --nats-store
	code        string
	hasCode     bool
	interactive bool
	rest        []string
	// loadDirs are the folders load() may read in a sandbox besides the
	// --allow-read paths: the main script's (SPEC 7).
	loadDirs []string
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errHelp is what -h or --help asks for: the usage on stdout and exit
// status 0, as most tools give it (it was a usage error, status 2).
var errHelp = errors.New("help requested")

// parseFlags reads flags up to the first non-flag argument (the file or
// subcommand); everything after that belongs to the script.
func parseFlags(argv []string) (*config, error) {
	c := &config{}
	for len(argv) > 0 {
		a := argv[0]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		argv = argv[1:]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		needVal := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if len(argv) == 0 {
				return "", &usageError{fmt.Sprintf("flag %s needs a value", name)}
			}
			v := argv[0]
			argv = argv[1:]
			return v, nil
		}
		// pathVal is the PATH of --allow-read and --allow-write: only
		// after "=" (a bare flag grants every path, as in Deno, and does
		// not take the script's name), and never empty.
		pathVal := func() (string, error) {
			if !hasVal {
				return "/", nil
			}
			if val == "" {
				return "", &usageError{fmt.Sprintf("flag %s= needs a path (a bare %s allows every path)", name, name)}
			}
			return val, nil
		}
		flag := strings.TrimLeft(name, "-")
		switch flag {
		case "sandbox", "allow-net", "allow-run", "allow-env", "virtual-time", "go-trace", "watch", "i", "h", "help":
			if hasVal {
				return nil, &usageError{fmt.Sprintf("flag %s takes no value", name)}
			}
		}
		if strings.HasPrefix(flag, "allow-") {
			c.sandbox = true // any --allow-* flag implies --sandbox (SPEC 7)
		}
		switch flag {
		case "sandbox":
			c.sandbox = true
		case "allow-net":
			c.perms.Net = true
		case "allow-run":
			c.perms.Run = true
		case "allow-env":
			c.perms.Env = true
		case "allow-read":
			v, err := pathVal()
			if err != nil {
				return nil, err
			}
			c.perms.Read = append(c.perms.Read, v)
		case "allow-write":
			v, err := pathVal()
			if err != nil {
				return nil, err
			}
			c.perms.Write = append(c.perms.Write, v)
		case "virtual-time":
			c.virtualTime = true
		case "max-memory":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			n, err := parseSize(v)
			if err != nil {
				return nil, &usageError{fmt.Sprintf("--max-memory: %v", err)}
			}
			c.maxMemory = n
		case "seed":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, &usageError{fmt.Sprintf("--seed: %q is not a non-negative integer", v)}
			}
			c.seed, c.seeded = n, true
		case "log-level":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			if err := c.logLevel.UnmarshalText([]byte(v)); err != nil || strings.ContainsAny(v, "+-") {
				return nil, &usageError{fmt.Sprintf("--log-level: %q is not debug, info, warn or error", v)}
			}
		case "log-format":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			switch v {
			case "text", "json":
				c.logJSON = v == "json"
			default:
				return nil, &usageError{fmt.Sprintf("--log-format: %q is not text or json", v)}
			}
		case "trace":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			c.tracePath = v
		case "profile":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			c.profilePath = v
		case "inspect":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			addr, err := inspectAddress(v)
			if err != nil {
				return nil, &usageError{err.Error()}
			}
			c.inspect = addr
		case "watch":
			c.watch = true
		case "go-trace":
			c.goTrace = true
		case "nats", "nats-listen", "nats-store":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			if v == "" {
				return nil, &usageError{fmt.Sprintf("flag %s needs a value", name)}
			}
			switch flag {
			case "nats":
				c.nats.URL = v
			case "nats-listen":
				c.nats.Listen = v
			default:
				c.nats.StoreDir = v
			}
		case "c":
			v, err := needVal()
			if err != nil {
				return nil, err
			}
			c.code, c.hasCode = v, true
			c.rest = argv
			return c, nil
		case "i":
			c.interactive = true
		case "h", "help":
			return nil, errHelp
		default:
			return nil, &usageError{fmt.Sprintf("unknown flag %s", name)}
		}
	}
	c.rest = argv
	return c, nil
}

// permissions returns what scripts may do: everything, unless --sandbox
// (or an --allow flag). The signals are always the script's (the process
// is its own), and load() may read the main script's folder.
func (c *config) permissions() engine.Permissions {
	if c.sandbox {
		p := c.perms
		p.Signals = true
		p.Load = c.loadDirs
		if len(p.Load) == 0 {
			p.Load = []string{"."} // -c, the REPL, stdin: the current folder
		}
		return p
	}
	return engine.AllPermissions()
}

func (c *config) options(stdout, stderr io.Writer, args []string) engine.Options {
	// The log module's lines and the engine's own output on stderr
	// (tracebacks, warnings) take one lock, so none interleave.
	stderr = &syncWriter{w: stderr}
	return engine.Options{
		Stdout:      stdout,
		Stderr:      stderr,
		Permissions: c.permissions(),
		VirtualTime: c.virtualTime,
		MaxMemory:   c.maxMemory,
		Seed:        c.seed,
		SeedSet:     c.seeded,
		Args:        args,
		GoTrace:     c.goTrace,
		SlowWarning: slowWarning(),
		Logger:      c.logger(stderr),
		NATS:        c.natsConfig(),
	}
}

// natsConfig is --nats (else $CORO_NATS) with the embedded server's
// flags, and $CORO_NATS_REPLICAS: how many servers of a cluster hold each
// queue and bucket.
func (c *config) natsConfig() engine.NATS {
	n := c.nats
	if n.URL == "" {
		n.URL = os.Getenv("CORO_NATS")
	}
	if r, err := strconv.Atoi(os.Getenv("CORO_NATS_REPLICAS")); err == nil && r > 0 {
		n.Replicas = r
	}
	return n
}

// logger is the log module's logger: --log-format's handler at
// --log-level, writing to w.
func (c *config) logger(w io.Writer) *slog.Logger {
	ho := &slog.HandlerOptions{Level: c.logLevel}
	if c.logJSON {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// parseSize reads the SIZE of --max-memory: a whole number of bytes, or
// with a binary unit K, M, G or T (optionally followed by "B" or "iB", any
// case): "512M", "2GiB", "1g".
func parseSize(s string) (uint64, error) {
	num := strings.TrimRight(s, "bBiIkKmMgGtT")
	unit := strings.ToUpper(s[len(num):])
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "M": 20, "G": 30, "T": 40,
		"KB": 10, "MB": 20, "GB": 30, "TB": 40, "KIB": 10, "MIB": 20, "GIB": 30, "TIB": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || n == 0 || n > (1<<63)>>sh {
		return 0, fmt.Errorf("%q is not a size (a positive number of bytes, or with K, M, G or T: 512M)", s)
	}
	return n << sh, nil
}

// slowWarning reads CORO_SLOW_WARN: a duration ("250ms") for the slow-task
// warning's threshold, or "off". Unset or unreadable: the default (100ms).
func slowWarning() time.Duration {
	v := os.Getenv("CORO_SLOW_WARN")
	if v == "off" {
		return -1
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// No heap profile is ever written by the command, so its allocations are
// not sampled for one: the runtime records a stack every 512 KiB
// allocated by default, about 3% of the time it takes to spawn many tasks.
// The runtime asks for the rate to be set as early as possible.
func init() { runtime.MemProfileRate = 0 }

func main() {
	// A heap that grows is prefaulted (prefault.go), and backed by huge
	// pages when asked (hugepages.go).
	whenHeapGrows(readyHeap)
	// A script with many suspended tasks has many live heap objects (each
	// task's frames, thread and waiters), which every GC cycle scans:
	// collecting half as often costs little peak memory (measured on the
	// spawn and timers workloads, where live tasks make the peak) and
	// saves about 8% of their time. GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	// CORO_CPUPROFILE=FILE writes a Go CPU profile of the run (for
	// developers measuring the engine).
	if path := os.Getenv("CORO_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			exit(code)
		}
	}
	exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exit ends the process once every child from proc.start still running
// was sent TERM (KILL after 2 s) and reaped (SPEC 7).
func exit(code int) {
	engine.ReapChildren()
	os.Exit(code)
}

// subcommands are the first arguments that name a tool rather than a
// script (`coro run FILE` runs one).
var subcommands = map[string]bool{"test": true, "fmt": true, "check": true, "version": true, "worker": true, "help": true}

// run is the whole command, callable in-process by tests.
func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseFlags(argv)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) && ue.msg != "" {
			fmt.Fprintf(stderr, "coro: %s\n", ue.msg)
		}
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if c.watch && (c.hasCode || c.interactive || len(c.rest) == 0 || c.rest[0] == "-" || subcommands[c.rest[0]]) {
		fmt.Fprintf(stderr, "coro: --watch needs a FILE to run (not -c, -i, stdin, the REPL or a subcommand)\n%s", usage)
		return exitUsage
	}
	// breakpoint() prompts when a person runs the script on a terminal;
	// the REPL is a prompt already, and coro test never stops for one.
	c.debug = onTerminal(stdin, stdout)
	if c.inspect != "" && !c.hasCode && (c.interactive || len(c.rest) == 0 || subcommands[c.rest[0]]) {
		fmt.Fprintf(stderr, "coro: --inspect needs a script to run (FILE, -c or -; not -i, the REPL or a subcommand)\n%s", usage)
		return exitUsage
	}
	if c.hasCode {
		return runScript(c, "<command-line>", []byte(c.code), c.rest, stdout, stderr)
	}
	if len(c.rest) == 0 {
		c.debug = false
		return runREPL(c, nil, stdin, stdout, stderr)
	}
	switch c.rest[0] {
	case "help", "version":
		if len(c.rest) > 1 {
			fmt.Fprintf(stderr, "coro %s: unexpected argument %q\n%s", c.rest[0], c.rest[1], usage)
			return exitUsage
		}
		if c.rest[0] == "help" {
			fmt.Fprint(stdout, usage)
		} else {
			fmt.Fprintf(stdout, "coro %s\n", Version)
		}
		return exitOK
	case "test":
		c.debug = false
		return runTests(c, c.rest[1:], stdout, stderr)
	case "fmt":
		return runFmt(c.rest[1:], stdout, stderr)
	case "check":
		return runCheck(c, c.rest[1:], stdout, stderr)
	case "worker":
		c.debug = false
		return runWorker(c, c.rest[1:], stdout, stderr) // worker.go
	case "run":
		if len(c.rest) < 2 {
			fmt.Fprintln(stderr, "coro run: missing FILE")
			return exitUsage
		}
		c.rest = c.rest[1:]
	}
	file := c.rest[0]
	if file == "-" {
		// coro - : the script is stdin (SPEC 9); load() reads from the
		// current folder, as for -c. (stdin is not a terminal then.)
		src, err := readLimited(stdin, "the script from stdin")
		if err != nil {
			fmt.Fprintf(stderr, "coro: %v\n", err)
			return exitUsage
		}
		return runScript(c, "<stdin>", src, c.rest[1:], stdout, stderr)
	}
	c.loadDirs = []string{filepath.Dir(file)}
	if c.watch {
		return runWatch(c, file, c.rest[1:], stdout, stderr)
	}
	src, err := readScript(file)
	if err != nil {
		fmt.Fprintf(stderr, "coro: %v\n", err)
		return exitUsage
	}
	if c.interactive {
		c.debug = false
		return runREPL(c, &replStart{file: file, src: src, args: c.rest[1:]}, stdin, stdout, stderr)
	}
	return runScript(c, file, src, c.rest[1:], stdout, stderr)
}

// readScript reads a file named on the command line (a script, a test,
// a file to format or check), of at most engine.MaxModuleSize bytes, as
// load() reads a module: "coro /dev/zero" grew the heap until the
// process died. A FIFO is read too (coro <(make-script)).
func readScript(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, file)
}

// readLimited reads r, named what in its error, to its end, failing
// past engine.MaxModuleSize bytes.
func readLimited(r io.Reader, what string) ([]byte, error) {
	src, err := io.ReadAll(io.LimitReader(r, engine.MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(src) > engine.MaxModuleSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, the limit of a script", what, engine.MaxModuleSize>>20)
	}
	return src, nil
}

// interruptContext returns a context cancelled by any of sigs (SIGINT,
// SIGTERM, SIGHUP), unless a script holds that signal with os.signal: the signal hub
// gives the command only the deliveries no script channel takes. A
// second such delivery ends the process at once. status
// reports 128+N for signal N once the run was ended that way (0 before);
// broken ends the run as a SIGPIPE would (141). While it is in effect
// SIGPIPE does not kill the process: a write into a closed pipe fails with
// EPIPE instead, which guardPipe turns into broken.
func interruptContext(sigs ...syscall.Signal) (ctx context.Context, stop func(), status func() int, broken func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var code atomic.Int32
	end := func(sig syscall.Signal, cause string) {
		if code.CompareAndSwap(0, int32(128+sig)) {
			cancel(errors.New(cause))
			return
		}
		if sig != syscall.SIGPIPE {
			// A second interrupt while the run still ends: a task stuck
			// in one long Go call (multiplying two ints of millions
			// of bits) never reaches the time-slice boundary where the
			// first would stop it, or cleanup is slow. As Go's
			// signal.NotifyContext and Node advise, the second ends the
			// process (children reaped, as on every exit).
			fmt.Fprintf(os.Stderr, "coro: interrupted again (SIG%s): exiting now\n", signalName(sig))
			exit(int(code.Load()))
		}
	}
	var stops []func()
	for _, sig := range sigs {
		stops = append(stops, engine.OnSignal(sig, func() { end(sig, "interrupted (SIG"+signalName(sig)+")") }))
	}
	stops = append(stops, engine.OnSignal(syscall.SIGPIPE, func() {}))
	stop = func() {
		for _, s := range stops {
			s()
		}
		cancel(nil)
	}
	return ctx, stop, func() int { return int(code.Load()) }, func() { end(syscall.SIGPIPE, "broken pipe") }
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGHUP:
		return "HUP"
	}
	return "PIPE"
}

// pipeGuard calls broken when a write fails because the reader of the
// pipe is gone (coro f.star | head -1): the run then ends quietly.
type pipeGuard struct {
	w      io.Writer
	broken func()
}

func (p *pipeGuard) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		p.broken()
	}
	return n, err
}

// runScript runs one module to completion and returns the exit status.
func runScript(c *config, name string, src []byte, args []string, stdout, stderr io.Writer) int {
	ctx, stop, signalled, broken := interruptContext(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	stdout, stderr = &pipeGuard{stdout, broken}, &pipeGuard{stderr, broken}
	return execScript(ctx, c, name, src, args, stdout, stderr, signalled)
}

// execScript runs the module on a fresh engine until every task has
// finished or ctx is cancelled, and returns the exit status; signalled
// is 128+N once signal N ended the run (or another non-zero status for a
// run ended on purpose), which then ends quietly.
func execScript(ctx context.Context, c *config, name string, src []byte, args []string, stdout, stderr io.Writer, signalled func() int) int {
	if c.maxMemory > 0 {
		// The process is the script's: the collector works harder as the
		// heap nears the limit, so only live data reaches it.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(c.maxMemory)))
	}
	var rec *trace.Recorder // --inspect's
	if c.inspect != "" {
		rec = trace.NewRecorder(0)
	}
	eng, closeTrace, err := newEngine(c, stdout, stderr, args, rec)
	if err != nil {
		fmt.Fprintf(stderr, "coro: %v\n", err)
		return exitUsage
	}
	stopProfile, err := startProfile(c)
	if err != nil {
		eng.Close()
		closeTrace(nil)
		fmt.Fprintf(stderr, "coro: %v\n", err)
		return exitUsage
	}
	stopDump := dumpOnQuit(eng, stderr)
	stopInspector := func() {}
	if c.inspect != "" {
		stopInspector, err = serveInspector(c, eng, rec, name, stderr)
		if err != nil {
			stopDump()
			stopProfile()
			closeTrace(eng.Close())
			fmt.Fprintf(stderr, "coro: %v\n", err)
			return exitUsage
		}
	}
	_, err = eng.Exec(ctx, name, src)
	stopInspector()
	stopDump()
	if perr := stopProfile(); perr != nil {
		fmt.Fprintf(stderr, "coro: writing profile: %v\n", perr)
	}
	code := exitStatus(err, eng, signalled(), c.goTrace, stderr)
	if terr := closeTrace(eng.Close()); terr != nil {
		fmt.Fprintf(stderr, "coro: writing trace: %v\n", terr)
	}
	return code
}

// exitStatus reports err on stderr and maps it to an exit status;
// signalled is 128+N when signal N ended the run (quietly).
func exitStatus(err error, eng *engine.Engine, signalled int, goTrace bool, stderr io.Writer) int {
	var exit *engine.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.Code
	case signalled != 0:
		// Also when the run then ended well: the signal came while a
		// task held the loop in one long Go call ([1] * 100000000), and
		// the script ended before the loop could act on it. It still
		// says 128+N, not 0 as if no signal had come.
		return signalled
	case err == nil:
		if eng.Failures() > 0 {
			return exitError
		}
		return exitOK
	case engine.IsSyntaxError(err):
		fmt.Fprintln(stderr, syntaxMessage(err))
		return exitUsage
	}
	ce := engine.AsError(err)
	if ce.Kind == engine.KindDeadlock {
		fmt.Fprintln(stderr, ce.Error())
		return exitDeadlock
	}
	fmt.Fprint(stderr, ce.Report(goTrace))
	return exitError
}

// syntaxMessage returns the file:line:col: message text of a syntax error.
func syntaxMessage(err error) string {
	ce := engine.AsError(err)
	msg := ce.Msg
	// The scanner's message is the cause's own text, without wrapping.
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		msg = u.Error()
	}
	return msg
}
