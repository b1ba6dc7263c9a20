package procmod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/lineiter"
)

// A Process is a running child (proc.start). Its fields are loop-side
// state; one goroutine waits for the child and posts its exit.
type Process struct {
	eng     *core.Engine
	cmd     *exec.Cmd
	argv    string
	stdin   *Writer
	stdout  *Stream
	stderr  *Stream
	done    bool
	code    int
	waiters core.WakerList
	held    int // registrations in waiters, each with an Engine.Hold
}

var (
	_ starlark.HasAttrs = (*Process)(nil)
	_ core.Awaitable    = (*Process)(nil)
)

func start(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var argv, stdin, env, cwd starlark.Value = nil, starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "argv", &argv, "stdin?", &stdin, "env?", &env, "cwd?", &cwd); err != nil {
		return nil, core.ValueError(err)
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
		return nil, core.Errorf(core.KindIO, "%s: %v", b.Name(), err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW, dir})
		return nil, core.Errorf(core.KindIO, "%s: %v", b.Name(), err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW, outR, outW, dir})
		return nil, core.Errorf(core.KindIO, "%s: %v", b.Name(), err)
	}
	// No context: the engine closing terminates the child gracefully
	// (launch), rather than exec killing it.
	cmd := s.command(nil)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	ch, err := startCmd(x, b.Name(), s.argv[0], cmd, true, []*os.File{inR, outW, errW, dir}, []*os.File{inW, outR, errR})
	if err != nil {
		return nil, err
	}
	p := &Process{eng: e, cmd: cmd, argv: strings.Join(s.argv, " ")}
	p.stdin = &Writer{eng: e, f: inW, name: fmt.Sprintf("stdin of pid %d", cmd.Process.Pid)}
	p.stdout = &Stream{eng: e, f: outR, name: fmt.Sprintf("stdout of pid %d", cmd.Process.Pid)}
	p.stderr = &Stream{eng: e, f: errR, name: fmt.Sprintf("stderr of pid %d", cmd.Process.Pid)}
	if input != nil {
		// Given stdin: fed in the background, then closed; the script's
		// stdin writer is closed from the start.
		p.stdin.closed = true
		e.Go(func() {
			inW.Write(input)
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
func (p *Process) Truth() starlark.Bool  { return true }
func (p *Process) Hash() (uint32, error) { return uint32(p.cmd.Process.Pid), nil }
func (p *Process) AttrNames() []string {
	return []string{"code", "done", "kill", "pid", "stderr", "stdin", "stdout", "wait"}
}

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
	case "wait":
		return starlark.NewBuiltin("process.wait", p.wait).BindReceiver(p), nil
	case "kill":
		return starlark.NewBuiltin("process.kill", p.kill).BindReceiver(p), nil
	}
	return nil, nil
}

// Poll, Enqueue, Dequeue and WaitingOn make a Process an awaitable: its
// value is the exit code.
func (p *Process) Poll(*core.Task) (starlark.Value, error, bool) {
	if p.done {
		return starlark.MakeInt(p.code), nil, true
	}
	return nil, nil, false
}

// A task waiting on a process (through wait, join, race or select) keeps
// the run alive: the child exits on its own, not by any task. Each
// registration holds the engine until it is dequeued or the child exits.
func (p *Process) Enqueue(w core.Waker, index int) {
	p.waiters.Add(w, index)
	if !p.done {
		p.held++
		p.eng.Hold()
	}
}

func (p *Process) Dequeue(w core.Waker) {
	before := p.waiters.Len()
	p.waiters.Remove(w)
	for n := before - p.waiters.Len(); n > 0 && p.held > 0; n-- {
		p.held--
		p.eng.Release()
	}
}

func (p *Process) WaitingOn() string {
	return fmt.Sprintf("wait process %d (%s)", p.cmd.Process.Pid, p.argv)
}

// wait(timeout=None) returns the exit code once the child has exited.
func (p *Process) wait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, core.ValueError(err)
	}
	d, err := core.TimeoutArg(b.Name(), timeout)
	if err != nil {
		return nil, err
	}
	x, err := core.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return x.WaitOne(p, d)
}

// signals are the names kill() accepts (os.signal takes fewer: osmod).
var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT,
	"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
}

// kill(signal="TERM") sends a signal; once the child has exited it does
// nothing.
func (p *Process) kill(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	name := "TERM"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "signal?", &name); err != nil {
		return nil, core.ValueError(err)
	}
	sig, ok := signals[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	if !ok {
		return nil, core.Errorf(core.KindValue, "%s: unknown signal %q (want TERM, KILL, INT, HUP, QUIT, USR1, USR2, STOP or CONT)", b.Name(), name)
	}
	if p.done {
		return starlark.None, nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, core.Errorf(core.KindIO, "%s: %v", b.Name(), err)
	}
	return starlark.None, nil
}

// A Stream is the read side of a child's stdout or stderr. Data is read
// on demand: when a reader finds the buffer empty, one goroutine reads a
// chunk from the pipe and posts it. A reader that gives up (cancelled,
// timed out) loses nothing: the chunk lands in the buffer for the next.
type Stream struct {
	eng     *core.Engine
	f       *os.File
	name    string
	buf     []byte
	eof     bool
	err     error
	pumping bool
	waiters core.WakerList
}

var _ starlark.HasAttrs = (*Stream)(nil)

const chunkSize = 64 << 10

func (s *Stream) String() string        { return "<" + s.name + ">" }
func (s *Stream) Type() string          { return "Stream" }
func (s *Stream) Freeze()               {}
func (s *Stream) Truth() starlark.Bool  { return true }
func (s *Stream) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Stream") }
func (s *Stream) AttrNames() []string   { return []string{"lines", "read", "read_line"} }
func (s *Stream) Attr(name string) (starlark.Value, error) {
	switch name {
	case "read":
		return starlark.NewBuiltin("stream.read", s.read).BindReceiver(s), nil
	case "read_line":
		return starlark.NewBuiltin("stream.read_line", lineiter.ReadLine(s.nextLine)).BindReceiver(s), nil
	case "lines":
		return starlark.NewBuiltin("stream.lines", lineiter.Lines(s.name, s.nextLine)).BindReceiver(s), nil
	}
	return nil, nil
}

// pump starts reading one chunk, unless a read is already under way.
func (s *Stream) pump() {
	if s.pumping || s.eof {
		return
	}
	s.pumping = true
	chunk := make([]byte, chunkSize)
	var n int
	var err error
	s.eng.Go(func() { n, err = s.f.Read(chunk) }, func() {
		s.pumping = false
		s.buf = append(s.buf, chunk[:n]...)
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				s.err = err
			}
			s.f.Close()
		}
		s.waiters.Broadcast(nil, nil)
	})
}

// fill waits until take can decide: take looks at the buffer (and whether
// the stream ended) and returns how many bytes to hand out, or -1 for
// "need more". It returns those bytes, removed from the buffer.
func (s *Stream) fill(x *core.Exec, fn string, take func(buf []byte, eof bool) int) (starlark.Value, error) {
	for {
		if n := take(s.buf, s.eof); n >= 0 {
			out := string(s.buf[:n])
			s.buf = s.buf[n:]
			if len(s.buf) == 0 {
				s.buf = nil
			}
			if n == 0 && s.err != nil {
				return nil, core.Errorf(core.KindIO, "%s: %s: %v", fn, s.name, s.err)
			}
			return starlark.String(out), nil
		}
		s.pump()
		w := core.NewWaiter(x.Task)
		s.waiters.Add(w, 0)
		s.eng.Hold() // the child will write or exit on its own
		x.Park(w, reason("read "+s.name), core.NoTimeout, fn)
		s.eng.Release()
		s.waiters.Remove(w)
		if w.Err != nil {
			return nil, w.Err
		}
	}
}

// read(n=65536) returns at most n bytes as soon as any are there, "" at
// the end of the stream.
func (s *Stream) read(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	n := chunkSize
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n?", &n); err != nil {
		return nil, core.ValueError(err)
	}
	if n <= 0 {
		return nil, core.Errorf(core.KindValue, "%s: n must be > 0, got %d", b.Name(), n)
	}
	x, err := core.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return s.fill(x, b.Name(), func(buf []byte, eof bool) int {
		if len(buf) == 0 && !eof {
			return -1
		}
		return min(n, len(buf))
	})
}

// nextLine reads the next line with its newline ("" at the end; the last
// line may lack one), as soon as the child has printed it: the source of
// read_line and lines.
func (s *Stream) nextLine(x *core.Exec, fn string) (starlark.Value, error) {
	return s.fill(x, fn, takeLine)
}

func takeLine(buf []byte, eof bool) int {
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return i + 1
	}
	if eof {
		return len(buf)
	}
	return -1
}

// A Writer is the write side of a child's stdin.
type Writer struct {
	eng    *core.Engine
	f      *os.File
	name   string
	closed bool
	busy   bool           // a write's goroutine has not posted back yet
	idle   core.WakerList // tasks waiting for busy to clear
}

var _ starlark.HasAttrs = (*Writer)(nil)

func (w *Writer) String() string        { return "<" + w.name + ">" }
func (w *Writer) Type() string          { return "Writer" }
func (w *Writer) Freeze()               {}
func (w *Writer) Truth() starlark.Bool  { return true }
func (w *Writer) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Writer") }
func (w *Writer) AttrNames() []string   { return []string{"close", "closed", "write"} }
func (w *Writer) Attr(name string) (starlark.Value, error) {
	switch name {
	case "closed":
		return starlark.Bool(w.closed), nil
	case "write":
		return starlark.NewBuiltin("writer.write", w.write).BindReceiver(w), nil
	case "close":
		return starlark.NewBuiltin("writer.close", w.close).BindReceiver(w), nil
	}
	return nil, nil
}

// write(data) returns once all of data is in the pipe. If the task is
// interrupted first, the write is abandoned (how much of data went in is
// then unknown, as with any interrupted write).
func (w *Writer) write(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, core.ValueError(err)
	}
	var payload []byte
	switch d := data.(type) {
	case starlark.String:
		payload = []byte(d)
	case starlark.Bytes:
		payload = []byte(d)
	default:
		return nil, core.Errorf(core.KindValue, "%s: for parameter data: got %s, want string or bytes", b.Name(), data.Type())
	}
	x, err := core.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	// One write at a time: the deadline that unblocks an interrupted
	// write must not cut short another task's. (The write in flight
	// holds the engine, so waiting here is no deadlock.)
	for w.busy {
		idle := core.NewWaiter(x.Task)
		w.idle.Add(idle, 0)
		x.Park(idle, reason("write "+w.name), core.NoTimeout, b.Name())
		w.idle.Remove(idle)
		if idle.Err != nil {
			return nil, idle.Err
		}
	}
	if w.closed {
		return nil, core.Errorf(core.KindClosed, "%s: %s is closed", b.Name(), w.name)
	}
	w.busy = true
	w.f.SetWriteDeadline(time.Time{})
	idle := func() {
		w.busy = false
		w.idle.Broadcast(nil, nil)
	}
	return x.Offload(core.Offload{Why: reason("write " + w.name), Op: b.Name(), Timeout: core.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			// Interrupted: unblock the write, the only one in flight
			// (the next write lifts the deadline again).
			stop := context.AfterFunc(ctx, func() { w.f.SetWriteDeadline(time.Now()) })
			defer stop()
			_, err := w.f.Write(payload)
			return starlark.None, err
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			idle()
			return v, writeError(b.Name(), w.name, err)
		},
		Drop: func(starlark.Value, error) { idle() },
	})
}

func writeError(fn, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EPIPE):
		return core.Errorf(core.KindClosed, "%s: %s: the process closed it", fn, name)
	case errors.Is(err, os.ErrClosed):
		return core.Errorf(core.KindClosed, "%s: %s is closed", fn, name)
	}
	return core.Errorf(core.KindIO, "%s: %s: %v", fn, name, err)
}

// close closes the pipe, so the child reads end of input; closing twice
// does nothing.
func (w *Writer) close(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	if !w.closed {
		w.closed = true
		w.f.Close()
	}
	return starlark.None, nil
}
