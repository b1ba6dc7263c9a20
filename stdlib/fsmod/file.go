package fsmod

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/lineiter"
)

// A File is an open file (fs.open). Its operations run on the blocking
// pool; mu serializes them there, because two tasks may use one File and
// the buffered reader is not safe for concurrent use. closed is loop-side
// state: once close() starts, every later call fails with `closed`.
type File struct {
	path   string
	mode   string
	mu     sync.Mutex
	f      *os.File
	r      *bufio.Reader // made by the first read
	closed bool
}

var (
	_ starlark.HasAttrs = (*File)(nil)
	_ core.Discardable  = (*File)(nil)
)

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
		return nil, core.ValueError(err)
	}
	flags, rd, wr, ok := openFlags(mode)
	if !ok {
		return nil, core.Errorf(core.KindValue, "%s: mode %q: want r, w, a or x, optionally followed by +", b.Name(), mode)
	}
	x, err := core.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	var p core.Place
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
	return onPool(x, e, b.Name(), path, func() (starlark.Value, error) {
		f, err := p.OpenFile(flags, 0o644)
		if err != nil {
			return nil, ioError(b.Name(), err)
		}
		return &File{path: path, mode: mode, f: f}, nil
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
func (f *File) Truth() starlark.Bool  { return true }
func (f *File) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: File") }
func (f *File) AttrNames() []string {
	return []string{"close", "closed", "lines", "mode", "path", "read", "read_line", "write"}
}

func (f *File) Attr(name string) (starlark.Value, error) {
	switch name {
	case "path":
		return starlark.String(f.path), nil
	case "mode":
		return starlark.String(f.mode), nil
	case "closed":
		return starlark.Bool(f.closed), nil
	case "read":
		return starlark.NewBuiltin("file.read", f.read).BindReceiver(f), nil
	case "read_line":
		return starlark.NewBuiltin("file.read_line", lineiter.ReadLine(f.nextLine)).BindReceiver(f), nil
	case "lines":
		return starlark.NewBuiltin("file.lines", lineiter.Lines(f.path, f.nextLine)).BindReceiver(f), nil
	case "write":
		return starlark.NewBuiltin("file.write", f.write).BindReceiver(f), nil
	case "close":
		return starlark.NewBuiltin("file.close", f.close).BindReceiver(f), nil
	}
	return nil, nil
}

// do runs op on the blocking pool for the calling task, with the file's
// lock held, unless the file is closed.
func (f *File) do(th *starlark.Thread, fn string, op func() (starlark.Value, error)) (starlark.Value, error) {
	x, err := core.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return f.doExec(x, fn, op)
}

func (f *File) doExec(x *core.Exec, fn string, op func() (starlark.Value, error)) (starlark.Value, error) {
	if f.closed {
		return nil, core.Errorf(core.KindClosed, "%s: %s is closed", fn, f.path)
	}
	return offload(x, fn+" "+f.path, fn, func() (starlark.Value, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return op()
	})
}

func (f *File) reader() *bufio.Reader {
	if f.r == nil {
		f.r = bufio.NewReader(f.f)
	}
	return f.r
}

// read(n=-1) returns up to n bytes (all that is left when n < 0); fewer
// only at the end of the file, and "" once there.
func (f *File) read(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	n := -1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n?", &n); err != nil {
		return nil, core.ValueError(err)
	}
	return f.do(th, b.Name(), func() (starlark.Value, error) {
		var r io.Reader = f.reader()
		if n >= 0 {
			r = io.LimitReader(r, int64(n))
		}
		// Not a buffer of n bytes up front: n may be far more than the
		// file holds (read(1 << 40)), and allocating it would end the
		// process.
		d, err := io.ReadAll(r)
		if err != nil {
			return nil, ioError(b.Name(), err)
		}
		return starlark.String(d), nil
	})
}

// nextLine reads the next line with its newline ("" at the end; the last
// line may lack one): the source of read_line and lines.
func (f *File) nextLine(x *core.Exec, fn string) (starlark.Value, error) {
	return f.doExec(x, fn, func() (starlark.Value, error) {
		s, err := f.reader().ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, ioError(fn, err)
		}
		return starlark.String(s), nil
	})
}

// write writes all of data (string or bytes) and returns None.
func (f *File) write(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, core.ValueError(err)
	}
	s, err := dataArg(b.Name(), data)
	if err != nil {
		return nil, err
	}
	return f.do(th, b.Name(), func() (starlark.Value, error) {
		if f.r != nil && f.r.Buffered() > 0 {
			// Read ahead for the buffer: write where the script's
			// reads stopped, not where the buffer's did.
			if _, err := f.f.Seek(-int64(f.r.Buffered()), io.SeekCurrent); err != nil {
				return nil, ioError(b.Name(), err)
			}
			f.r.Reset(f.f)
		}
		_, err := f.f.WriteString(s)
		return starlark.None, ioError(b.Name(), err)
	})
}

// close closes the file; closing a closed file does nothing. It runs on
// the loop: close(2) of a regular file does not wait for the disk, and an
// operation in progress on the pool keeps the descriptor alive until it
// ends (os.File counts references), so nothing races.
func (f *File) close(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	if f.closed {
		return starlark.None, nil
	}
	f.closed = true
	return starlark.None, ioError(b.Name(), f.f.Close())
}

// Discard closes a file that fs.open opened for a task that had stopped
// waiting (core.Discardable): no script holds it.
func (f *File) Discard() {
	if !f.closed {
		f.closed = true
		f.f.Close()
	}
}
