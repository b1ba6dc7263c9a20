package fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// A File is an open file (fs.open): a buffered stream (package stream)
// whose reads (a Pump) and writes run on the blocking pool. The file's
// operations take turns (turn): one at a time, in order, as two tasks
// may use one File and a read must not move the offset under a write.
// Everything but the pool's work is loop-side state; once close()
// starts, every later call fails with `closed`.
type File struct {
	bound starutil.Bound // its methods, bound once
	path  string
	mode  string
	f     *os.File
	write bool // opened for writing (mode w, a, x, or one with +)
	// outside: a FIFO, a device or a socket, whose reads and writes wait
	// for the outside world: they run on goroutines of their own, not on
	// the pool (onFile).
	outside bool
	turn    stream.Turn
	pump    *stream.Pump
	r       *stream.Reader
	closed  bool
}

var (
	_ starlark.HasAttrs = (*File)(nil)
	_ loop.Discardable  = (*File)(nil)
	_ stream.Readable   = (*File)(nil)
	_ stream.Writable   = (*File)(nil)
)

func newFile(path, mode string, f *os.File, read, write bool) *File {
	fl := &File{path: path, mode: mode, f: f, write: write}
	how := stream.Pool
	if fi, err := f.Stat(); err == nil && waitsOutside(fi) {
		fl.outside, how = true, stream.Own
	}
	fail := ioError
	if !read {
		fail = func(fn string, err error) error { return fl.unsupported(fn, "reading") }
	}
	opts := stream.PumpOptions{How: how, Why: opReason("read " + path), Turn: &fl.turn, Fail: fail}
	if read && !fl.outside {
		// read() reads the rest in one read on the pool, sized by the
		// file's size, not in chunks gathered on the loop.
		opts.Rest = func(ctx context.Context, head []byte) ([]byte, error) { return readAll(ctx, f, head, path) }
	}
	fl.pump = stream.NewPump(f, opts)
	fl.r = stream.NewReader(fl.pump, stream.Options{Name: path, Whole: true})
	return fl
}

// openFlags maps a Python-style mode to open(2) flags and the permissions
// it needs.
func openFlags(mode string) (flags int, read, write bool, ok bool) {
	base, plus := strings.CutSuffix(mode, "+")
	switch base {
	case "r":
		flags, read = os.O_RDONLY, true
	case "w":
		flags, write = os.O_WRONLY|os.O_CREATE|os.O_TRUNC, true
	case "a":
		flags, write = os.O_WRONLY|os.O_CREATE|os.O_APPEND, true
	case "x":
		flags, write = os.O_WRONLY|os.O_CREATE|os.O_EXCL, true
	default:
		return 0, false, false, false
	}
	if plus {
		flags = flags&^(os.O_RDONLY|os.O_WRONLY) | os.O_RDWR
		read, write = true, true
	}
	return flags, read, write, true
}

func open(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	mode := "r"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "mode?", &mode); err != nil {
		return nil, loop.ValueError(err)
	}
	flags, rd, wr, ok := openFlags(mode)
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: mode %s: want r, w, a or x, optionally followed by +", b.Name(), loop.QuoteArg(mode))
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	var p loop.Place
	switch {
	case rd && wr:
		p, err = e.PlaceReadWrite(b.Name(), path)
	case wr:
		p, err = e.PlaceWrite(b.Name(), path)
	default:
		p, err = e.PlaceRead(b.Name(), path)
	}
	if err != nil {
		return nil, err
	}
	return onFile(x, b.Name(), p, false, func(context.Context) (starlark.Value, error) {
		f, err := p.OpenFile(flags, 0o644)
		if err != nil {
			return nil, ioError(b.Name(), err)
		}
		// Python's "a+" reads from the end, where its writes go: the
		// file's text so far is not read back. (Seeking a FIFO or a
		// device fails; it has no end to start from.)
		if mode == "a+" {
			f.Seek(0, io.SeekEnd)
		}
		return newFile(path, mode, f, rd, wr), nil
	})
}

func (f *File) String() string {
	state := "open"
	if f.closed {
		state = "closed"
	}
	return fmt.Sprintf("<file %q mode %q %s>", f.path, f.mode, state)
}
func (f *File) Type() string          { return "File" }
func (f *File) Freeze()               {}
func (f *File) OwnedByLoop()          {}
func (f *File) Truth() starlark.Bool  { return true }
func (f *File) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: File") }
func (f *File) AttrNames() []string   { return fileMethods.Names("closed", "mode", "path") }

var fileMethods = starutil.NewMethods("File", stream.Methods("read", "read_line", "lines", "write"), map[string]starutil.Func{"close": fileClose}).BorrowsArgs("write")

func (f *File) Attr(name string) (starlark.Value, error) {
	switch name {
	case "path":
		return starlark.String(f.path), nil
	case "mode":
		return starlark.String(f.mode), nil
	case "closed":
		return starlark.Bool(f.closed), nil
	}
	return fileMethods.BindOnce(name, f, &f.bound), nil
}

// StreamReader is the file's read side (stream.Readable): read(n) gives
// n bytes, fewer only at the end; read() the rest of the file.
func (f *File) StreamReader() *stream.Reader { return f.r }

// WriteData writes all of data (stream.Writable) on the pool, in turn
// with the file's other operations.
func (f *File) WriteData(x *loop.Exec, fn string, data string) error {
	if !f.write {
		return f.unsupported(fn, "writing")
	}
	why := opReason(fn + " " + f.path)
	if err := f.turn.Take(x, why, fn); err != nil {
		return err
	}
	if f.closed {
		f.turn.Give()
		return loop.Errorf(loop.KindClosed, "%s: %s is closed", fn, f.path)
	}
	// What was read ahead of the script (buffered, or landed and not
	// yet handed out): write where the script's reads stopped, not
	// where the reads did; it is read again after the write. The seek
	// is made here, with the turn held (no operation of the file is
	// under way): lseek(2) does not wait for the disk, and a write
	// abandoned before it starts then still leaves the offset right.
	if back := f.r.DropBuffered() + f.pump.DropPending(); back > 0 {
		if _, err := f.f.Seek(-int64(back), io.SeekCurrent); err != nil {
			f.turn.Give()
			return ioError(fn, err)
		}
	}
	_, err := f.turn.Offload(x, loop.Offload{Why: why, Op: fn, Timeout: loop.NoTimeout, Own: f.outside, Finish: !f.outside,
		Work: func(context.Context) (starlark.Value, error) {
			_, err := f.f.WriteString(data)
			return starlark.None, err
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			return v, ioError(fn, err)
		},
	})
	return err
}

// unsupported is the failure of a read from a file not opened for
// reading, or of a write to one not opened for writing (Python's
// io.UnsupportedOperation), where the system call's EBADF said "bad file
// descriptor". A closed file is closed first.
func (f *File) unsupported(fn, what string) error {
	if f.closed {
		return loop.Errorf(loop.KindClosed, "%s: %s is closed", fn, f.path)
	}
	return loop.Errorf(loop.KindIO, "%s: %s: not open for %s (mode %q)", fn, f.path, what, f.mode)
}

// close closes the file; closing a closed file does nothing. It runs on
// the loop: close(2) of a regular file does not wait for the disk, and an
// operation in progress on the pool keeps the descriptor alive until it
// ends (os.File counts references), so nothing races.
func fileClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	f := b.Receiver().(*File)
	if f.closed {
		return starlark.None, nil
	}
	f.closed = true
	f.r.Close()
	return starlark.None, ioError(b.Name(), f.f.Close())
}

// Discard closes a file that fs.open opened for a task that had stopped
// waiting (loop.Discardable): no script holds it.
func (f *File) Discard() {
	if !f.closed {
		f.closed = true
		f.r.Close()
		f.f.Close()
	}
}
