package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// A Process is a running child (proc.start). Its fields are loop-side
// state; one goroutine waits for the child and posts its exit.
type Process struct {
	eng     *loop.Engine
	cmd     *exec.Cmd
	argv    string
	stdin   *Writer
	stdout  *Stream
	stderr  *Stream
	done    bool
	code    int
	waiters loop.WakerList
	held    int // registrations in waiters, each with an Engine.Hold
}

var (
	_ starlark.HasAttrs = (*Process)(nil)
	_ loop.Awaitable    = (*Process)(nil)
)

func start(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var argv, env, cwd starlark.Value = nil, starlark.None, starlark.None
	var stdin starlark.Value = starlark.None
	stderrTo := "pipe"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "argv", &argv, "stdin?", &stdin, "env?", &env, "cwd?", &cwd, "stderr?", &stderrTo); err != nil {
		return nil, loop.ValueError(err)
	}
	if stderrTo != "pipe" && stderrTo != "stdout" && stderrTo != "discard" {
		return nil, loop.Errorf(loop.KindValue, "%s: stderr=%q: want \"pipe\", \"stdout\" or \"discard\"", b.Name(), stderrTo)
	}
	s, err := parseSpec(b.Name(), argv, env, cwd)
	if err != nil {
		return nil, err
	}
	input, x, e, err := prepare(th, b.Name(), stdin)
	if err != nil {
		return nil, err
	}
	dir, err := s.workDir(e, b.Name())
	if err != nil {
		return nil, err
	}
	// The pipes are made here, not by exec, so that the child gets the
	// descriptors directly and Wait neither copies nor closes them: the
	// script may read the output after the child has exited.
	inR, inW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{dir})
		return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW, dir})
		return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW, outR, outW, dir})
		return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
	}
	// No context: the engine closing terminates the child gracefully
	// (launch), rather than exec killing it.
	cmd := s.command(nil)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// stderr="stdout" merges it into stdout (asyncio's STDOUT), "discard"
	// sends it to /dev/null (DEVNULL): a child that writes much to stderr
	// then cannot fill a pipe nobody reads and stall. The Process's
	// stderr is then at its end from the start (its pipe's write end is
	// closed with the child's ends).
	switch stderrTo {
	case "stdout":
		cmd.Stderr = outW
	case "discard":
		cmd.Stderr = nil // os/exec: the null device
	}
	ch, err := startCmd(x, b.Name(), s, cmd, true, []*os.File{inR, outW, errW, dir}, []*os.File{inW, outR, errR})
	if err != nil {
		return nil, err
	}
	p := &Process{eng: e, cmd: cmd, argv: s.shown()}
	p.stdin = &Writer{f: inW, name: fmt.Sprintf("stdin of pid %d", cmd.Process.Pid)}
	p.stdout = newStream(outR, fmt.Sprintf("stdout of pid %d", cmd.Process.Pid))
	p.stderr = newStream(errR, fmt.Sprintf("stderr of pid %d", cmd.Process.Pid))
	if input.Set {
		// Given stdin: fed in the background, then closed; the script's
		// stdin writer is closed from the start.
		p.stdin.closed = true
		data := string(input.Bytes)
		e.Go(func() {
			inW.WriteString(data)
			inW.Close()
		}, nil)
	}
	e.Go(func() { <-ch.exited }, func() {
		p.done = true
		p.code = exitCode(cmd.ProcessState)
		for ; p.held > 0; p.held-- {
			e.Release()
		}
		p.waiters.Broadcast(starlark.MakeInt(p.code), nil)
	})
	return p, nil
}

func (p *Process) String() string {
	return fmt.Sprintf("<process %d %q>", p.cmd.Process.Pid, p.argv)
}
func (p *Process) Type() string          { return "Process" }
func (p *Process) Freeze()               {}
func (p *Process) OwnedByLoop()          {}
func (p *Process) Truth() starlark.Bool  { return true }
func (p *Process) Hash() (uint32, error) { return uint32(p.cmd.Process.Pid), nil }
func (p *Process) AttrNames() []string {
	return processMethods.Names("code", "done", "pid", "stderr", "stdin", "stdout")
}

var processMethods = starutil.NewMethods("Process", map[string]starutil.Func{
	"wait": processWait,
	"kill": processKill,
})

func (p *Process) Attr(name string) (starlark.Value, error) {
	switch name {
	case "pid":
		return starlark.MakeInt(p.cmd.Process.Pid), nil
	case "stdin":
		return p.stdin, nil
	case "stdout":
		return p.stdout, nil
	case "stderr":
		return p.stderr, nil
	case "done":
		return starlark.Bool(p.done), nil
	case "code":
		if !p.done {
			return starlark.None, nil
		}
		return starlark.MakeInt(p.code), nil
	}
	return processMethods.Bind(name, p), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (p *Process) Method(name string) *starlark.Builtin { return processMethods.Method(name) }

// Poll, Enqueue, Dequeue and WaitingOn make a Process an awaitable: its
// value is the exit code.
func (p *Process) Poll(*loop.Task) (starlark.Value, error, bool) {
	if p.done {
		return starlark.MakeInt(p.code), nil, true
	}
	return nil, nil, false
}

// A task waiting on a process (through wait, join, race or select) keeps
// the run alive: the child exits on its own, not by any task. Each
// registration holds the engine until it is dequeued or the child exits:
// a wait dequeues once for each registration it made.
func (p *Process) Enqueue(w loop.Waker, index int) {
	p.waiters.Add(w, index)
	if !p.done {
		p.held++
		p.eng.Hold()
	}
}

func (p *Process) Dequeue(w loop.Waker) {
	p.waiters.Remove(w)
	if !p.done && p.held > 0 {
		p.held--
		p.eng.Release()
	}
}

func (p *Process) WaitingOn() string {
	return fmt.Sprintf("wait process %d (%s)", p.cmd.Process.Pid, p.argv)
}

// wait(timeout=None) returns the exit code once the child has exited.
func processWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := b.Receiver().(*Process)
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, loop.ValueError(err)
	}
	d, err := loop.TimeoutArg(b.Name(), timeout)
	if err != nil {
		return nil, err
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return x.WaitOneIn(th, b, p, d)
}

// signals are the names kill() accepts (os.signal takes fewer: osmod).
var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT,
	"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
}

// kill(signal="TERM") sends a signal; once the child has exited it does
// nothing.
func processKill(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := b.Receiver().(*Process)
	name := "TERM"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "signal?", &name); err != nil {
		return nil, loop.ValueError(err)
	}
	sig, ok := signals[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: unknown signal %s (want TERM, KILL, INT, HUP, QUIT, USR1, USR2, STOP or CONT)", b.Name(), loop.QuoteArg(name))
	}
	if p.done {
		return starlark.None, nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
	}
	return starlark.None, nil
}

// A Stream is the read side of a child's stdout or stderr: a buffered
// stream (package stream) over a Pump of the pipe. Data is read on
// demand: when a reader finds the buffer empty, one goroutine reads a
// chunk from the pipe and posts it. A reader that gives up (cancelled,
// timed out) loses nothing: the chunk stays for the next.
type Stream struct {
	bound starutil.Bound // its methods, bound once
	name  string
	r     *stream.Reader
}

var (
	_ starlark.HasAttrs = (*Stream)(nil)
	_ stream.Readable   = (*Stream)(nil)
)

func newStream(f *os.File, name string) *Stream {
	p := stream.NewPump(f, stream.PumpOptions{
		// The child writes or exits on its own: a read nobody waits
		// for any more must keep nothing going.
		How: stream.Detached,
		Why: reason("read " + name),
		Fail: func(fn string, err error) error {
			if errors.Is(err, os.ErrClosed) {
				return io.EOF
			}
			return loop.Errorf(loop.KindIO, "%s: %s: %v", fn, name, err)
		},
		Closer: f,
	})
	return &Stream{name: name, r: stream.NewReader(p, stream.Options{Name: name})}
}

var streamMethods = starutil.NewMethods("Stream", stream.Methods("read", "read_line", "lines"))

func (s *Stream) String() string        { return "<" + s.name + ">" }
func (s *Stream) Type() string          { return "Stream" }
func (s *Stream) Freeze()               {}
func (s *Stream) OwnedByLoop()          {}
func (s *Stream) Truth() starlark.Bool  { return true }
func (s *Stream) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Stream") }
func (s *Stream) AttrNames() []string   { return streamMethods.Names() }
func (s *Stream) Attr(name string) (starlark.Value, error) {
	return streamMethods.BindOnce(name, s, &s.bound), nil
}
func (s *Stream) StreamReader() *stream.Reader { return s.r }

// A Writer is the write side of a child's stdin.
type Writer struct {
	bound  starutil.Bound // its methods, bound once
	f      *os.File
	name   string
	closed bool
	turn   stream.Turn // one write at a time
}

var (
	_ starlark.HasAttrs = (*Writer)(nil)
	_ stream.Writable   = (*Writer)(nil)
)

var writerMethods = starutil.NewMethods("Writer", stream.Methods("write"), map[string]starutil.Func{"close": writerClose}).BorrowsArgs("write")

func (w *Writer) String() string        { return "<" + w.name + ">" }
func (w *Writer) Type() string          { return "Writer" }
func (w *Writer) Freeze()               {}
func (w *Writer) OwnedByLoop()          {}
func (w *Writer) Truth() starlark.Bool  { return true }
func (w *Writer) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Writer") }
func (w *Writer) AttrNames() []string   { return writerMethods.Names("closed") }
func (w *Writer) Attr(name string) (starlark.Value, error) {
	if name == "closed" {
		return starlark.Bool(w.closed), nil
	}
	return writerMethods.BindOnce(name, w, &w.bound), nil
}

// WriteData returns once all of data is in the pipe (stream.Writable).
// If the task is interrupted first, the write is abandoned (how much of
// data went in is then unknown, as with any interrupted write).
func (w *Writer) WriteData(x *loop.Exec, fn string, data string) error {
	why := reason("write " + w.name)
	// One write at a time: the deadline that unblocks an interrupted
	// write must not cut short another task's.
	if err := w.turn.Take(x, why, fn); err != nil {
		return err
	}
	if w.closed {
		w.turn.Give()
		return loop.Errorf(loop.KindClosed, "%s: %s is closed", fn, w.name)
	}
	w.f.SetWriteDeadline(time.Time{})
	_, err := w.turn.Offload(x, loop.Offload{Why: why, Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			// Interrupted: unblock the write, the only one in flight
			// (the next write lifts the deadline again).
			stop := context.AfterFunc(ctx, func() { w.f.SetWriteDeadline(time.Now()) })
			defer stop()
			_, err := w.f.WriteString(data)
			return starlark.None, err
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			return v, writeError(fn, w.name, err)
		},
	})
	return err
}

func writeError(fn, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EPIPE):
		return loop.Errorf(loop.KindClosed, "%s: %s: the process closed it", fn, name)
	case errors.Is(err, os.ErrClosed):
		return loop.Errorf(loop.KindClosed, "%s: %s is closed", fn, name)
	}
	return loop.Errorf(loop.KindIO, "%s: %s: %v", fn, name, err)
}

// writerClose is Writer.close(): it closes the pipe, so the child reads
// end of input; closing twice does nothing.
func writerClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	w := b.Receiver().(*Writer)
	if !w.closed {
		w.closed = true
		w.f.Close()
	}
	return starlark.None, nil
}
