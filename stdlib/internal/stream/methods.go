package stream

import (
	"maps"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Readable is a script value with a stream's read side: the receiver of
// the read methods (Methods).
type Readable interface {
	starlark.Value
	StreamReader() *Reader
}

// Writable is a script value with a stream's write side: the receiver of
// write().
type Writable interface {
	starlark.Value
	// WriteData writes all of data (the bytes of the string or bytes
	// write() was given) for x's task, and returns once it is written
	// (or fails: closed, reset, the task's interruption). Writes keep
	// their order.
	WriteData(x *loop.Exec, fn string, data string) error
}

// HalfCloser is a Writable that can end its side of the stream while
// still reading the other: the receiver of close_write().
type HalfCloser interface {
	Writable
	CloseWrite(x *loop.Exec, fn string) error
}

// bodies are the stream methods' bodies by name. The reads wait
// unwound where they can (loop.Retrying): a read that waits has changed
// nothing but the Reader's buffer, so running it again once the source
// may have more is what its own loop would do. Not lines (its body runs
// under a generator's Go frames) nor write (what it sent is progress).
var bodies = map[string]starutil.Func{
	"read":         loop.Retrying(read),
	"read_exactly": loop.Retrying(readExactly),
	"read_line":    loop.Retrying(readLine),
	"lines":        lines,
	"write":        write,
	"close_write":  closeWrite,
}

// Methods returns the bodies of the named stream methods (read,
// read_exactly, read_line, lines, write, close_write) for
// starutil.NewMethods: each type offers those SPEC 7 gives it, and
// declares them with its other methods. It panics on a name it does not
// know: a program error.
func Methods(names ...string) map[string]starutil.Func {
	m := make(map[string]starutil.Func, len(names))
	for _, name := range names {
		fn, ok := bodies[name]
		if !ok {
			panic("stream: no method " + name)
		}
		m[name] = fn
	}
	return m
}

// AllMethods is every stream method: a socket's set.
func AllMethods() map[string]starutil.Func { return maps.Clone(bodies) }

// enter begins a stream method: it unpacks the arguments (pairs as for
// starlark.UnpackArgs; none for a method without) and returns the calling
// task, which fails at once if interrupted (a cancelled task fails even a
// read or write that would not wait, as every wait).
func enter(th *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) (*loop.Exec, error) {
	if len(args) > 0 || len(kwargs) > 0 || len(pairs) > 0 {
		if err := starutil.Unpack(fn, args, kwargs, pairs...); err != nil {
			return nil, err
		}
	}
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	return x, nil
}

func reader(b *starlark.Builtin) *Reader { return b.Receiver().(Readable).StreamReader() }

// read(n) is a socket's and a pipe's read(n=65536), at most n bytes as
// soon as any are there, or a file's read(n=-1) (Options.Whole).
func read(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	r := reader(b)
	n := DefaultRead
	if r.opts.Whole {
		n = -1
	}
	if len(args) > 0 || len(kwargs) > 0 { // the common read() skips the unpacking
		arg := n // unpacked into its own variable, which only this path moves to the heap
		if err := starlark.UnpackArgs(fn, args, kwargs, "n?", &arg); err != nil {
			return nil, loop.ValueError(err)
		}
		if n = arg; n <= 0 && !r.opts.Whole {
			return nil, loop.Errorf(loop.KindValue, "%s: n must be > 0, got %d", fn, n)
		}
	}
	x, err := enter(th, fn, nil, nil)
	if err != nil {
		return nil, err
	}
	if r.opts.Whole {
		return r.ReadUpTo(x, fn, n)
	}
	return r.Read(x, fn, n)
}

// read_exactly(n): exactly n bytes, eof if the stream ends first.
func readExactly(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var n int
	x, err := enter(th, fn, args, kwargs, "n", &n)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: n must be >= 0, got %d", fn, n)
	}
	return reader(b).ReadExactly(x, fn, n)
}

// lineLimit unpacks the limit= of read_line and lines(): the longest
// line, in bytes, DefaultLineLimit if not given (Reader.ReadLine).
func lineLimit(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (int, error) {
	if len(args) == 0 && len(kwargs) == 0 { // the common read_line() skips the unpacking
		return DefaultLineLimit, nil
	}
	arg := DefaultLineLimit // unpacked into its own variable, which only this path moves to the heap
	if err := starlark.UnpackArgs(fn, args, kwargs, "limit?", &arg); err != nil {
		return 0, loop.ValueError(err)
	}
	limit := arg
	if limit <= 0 {
		return 0, loop.Errorf(loop.KindValue, "%s: limit must be > 0, got %d", fn, limit)
	}
	return limit, nil
}

// read_line(limit=1048576): the next line with its newline, "" at the
// end; value once limit bytes came without a newline.
func readLine(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	limit, err := lineLimit(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	x, err := enter(th, fn, nil, nil)
	if err != nil {
		return nil, err
	}
	return reader(b).ReadLine(x, fn, limit)
}

// lines(limit=1048576) returns a generator (SPEC 5) of the stream's
// lines, each with its newline as read_line returns it (and as Python's
// file iteration does; the last one may lack it), ending at the end of
// the stream; a line past limit fails it as it fails read_line. Its
// Go body reads one line per step for whichever task consumes it, so
// `for line in conn.lines()` suspends only that task while the peer is
// quiet. Its name ("lines of ...") shows in diagnostics. Closing the
// stream ends it if it is parked between lines (Reader.Close).
func lines(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	limit, err := lineLimit(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if _, err := loop.TaskOf(th, fn); err != nil {
		return nil, err
	}
	r := reader(b)
	name := "lines of " + r.opts.Label
	g := generator.FromFunc(th, name, func(body *starlark.Thread, emit func(starlark.Value) error) error {
		for {
			// The consumer may change between steps: ask every time.
			x, err := loop.TaskOf(body, name)
			if err != nil {
				return err
			}
			line, err := r.ReadLine(x, fn, limit)
			if err != nil || line == "" {
				return err
			}
			if err := emit(line); err != nil {
				return err
			}
		}
	})
	if !r.closed {
		r.addLines(g, fn)
	}
	return g, nil
}

// write(data): all of data, a string or bytes (starutil.Bytes: the one
// check of a data argument); returns None once written. It keeps no
// reference to args (a wait parks in place, under this frame), so the
// types offering it mark it starutil.Methods.BorrowsArgs.
func write(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	// The common write(data) checks its argument directly; the unpacking
	// (for a keyword, or an error naming the parameter) would move it to
	// the heap, an allocation per write.
	var data starutil.Bytes
	var x *loop.Exec
	var err error
	if len(args) == 1 && len(kwargs) == 0 && data.Unpack(args[0]) == nil {
		x, err = enter(th, fn, nil, nil)
	} else {
		var arg starutil.Bytes
		x, err = enter(th, fn, args, kwargs, "data", &arg)
		data = arg
	}
	if err != nil {
		return nil, err
	}
	if err := b.Receiver().(Writable).WriteData(x, fn, string(data)); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// close_write(): end this side of the stream (after any write still
// going); the other side stays open for reading.
func closeWrite(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	x, err := enter(th, fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := b.Receiver().(HalfCloser).CloseWrite(x, fn); err != nil {
		return nil, err
	}
	return starlark.None, nil
}
