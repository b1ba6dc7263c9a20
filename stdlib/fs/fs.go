// Package fsmod is the script module `fs` (SPEC 7): files and directories,
// open files, and file watches. Every call that touches the file system
// runs on the engine's bounded blocking pool (loop.Exec.Offload), so a
// task waiting on a slow disk suspends only itself and thousands of
// concurrent calls share a few OS threads.
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/time"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// Module returns the fs module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "fs", Members: starlark.StringDict{
		"read":       starlark.NewBuiltin("fs.read", read),
		"read_bytes": starlark.NewBuiltin("fs.read_bytes", readBytes),
		"write":      starlark.NewBuiltin("fs.write", write),
		"append":     starlark.NewBuiltin("fs.append", appendFile),
		"exists":     starlark.NewBuiltin("fs.exists", exists),
		"stat":       starlark.NewBuiltin("fs.stat", stat),
		"listdir":    starlark.NewBuiltin("fs.listdir", listdir),
		"mkdir":      starlark.NewBuiltin("fs.mkdir", mkdir),
		"remove":     starlark.NewBuiltin("fs.remove", remove),
		"rename":     starlark.NewBuiltin("fs.rename", rename),
		"open":       starlark.NewBuiltin("fs.open", open),
		"watch":      starlark.NewBuiltin("fs.watch", watch),
		"glob":       starlark.NewBuiltin("fs.glob", glob), // glob.go
	}}
}

// opReason is what a task parked in an fs call waits on (TaskInfo.waiting_on).
type opReason string

func (r opReason) WaitingOn() string { return string(r) }

// prepare finds the calling task and resolves path to the place the call
// may use (loop.Engine.PlaceWrite if write, else PlaceRead): the operation
// runs through it, so the permission holds for the path as the kernel
// resolves it at that moment (SPEC 7).
func prepare(th *starlark.Thread, b *starlark.Builtin, path string, write bool) (*loop.Exec, *loop.Engine, loop.Place, error) {
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, nil, loop.Place{}, err
	}
	e := x.Task.Engine()
	var p loop.Place
	if write {
		p, err = e.PlaceWrite(b.Name(), path)
	} else {
		p, err = e.PlaceRead(b.Name(), path)
	}
	if err != nil {
		return nil, nil, loop.Place{}, err
	}
	return x, e, p, nil
}

// onPool runs op for the calling task on the engine's bounded pool (a
// file system call holds its thread while it blocks); the task waits on
// "fn path". op's ctx is done once the task stops waiting: a long walk
// (fs.glob) stops then.
func onPool(x *loop.Exec, fn, path string, op func(ctx context.Context) (starlark.Value, error)) (starlark.Value, error) {
	return x.Offload(loop.Offload{Why: opReason(fn + " " + path), Op: fn, Timeout: loop.NoTimeout, Work: op})
}

// waitsOutside reports whether fi is a file whose open, reads and writes
// wait for the outside world rather than for the disk: a FIFO (its open
// waits for the other end, its reads for a writer), a device (a
// terminal), a socket.
func waitsOutside(fi fs.FileInfo) bool {
	return fi.Mode()&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0
}

// errOutside is what onFile's first look reports of a file that
// waitsOutside.
var errOutside = errors.New("the file waits for the outside world")

// onFile runs op, an operation that opens the file at p, for the task of
// x: on the bounded pool, unless the file waitsOutside; then on a
// goroutine of its own (loop.Offload's Own), as it may wait for as long
// as it takes. On the pool each such wait held one of loop.PoolSize
// slots: 16 tasks reading FIFOs with no writer stalled every file
// operation of every task. The look at the file only chooses where op
// waits, not what it may open: op resolves the path again through p, so
// the sandbox decides there as always, and a file swapped in meanwhile is
// at worst waited for on the pool, as every file was before.
//
// writes says op writes data: on the pool it is then never abandoned
// (loop.Offload's Finish), so that no write is cut short or left going
// on behind the task.
func onFile(x *loop.Exec, fn string, p loop.Place, writes bool, op func(ctx context.Context) (starlark.Value, error)) (starlark.Value, error) {
	what := opReason(fn + " " + p.Path)
	v, err := x.Offload(loop.Offload{Why: what, Op: fn, Timeout: loop.NoTimeout, Finish: writes, Work: func(ctx context.Context) (starlark.Value, error) {
		if fi, err := p.Stat(); err == nil && waitsOutside(fi) {
			return nil, errOutside
		}
		return op(ctx)
	}})
	if err != errOutside {
		return v, err
	}
	return x.Offload(loop.Offload{Why: what, Op: fn, Timeout: loop.NoTimeout, Own: true, Work: op})
}

// readAll reads f to its end, stopping once ctx is done: the task stopped
// waiting (a timeout, a cancel), and an endless file (/dev/zero, a FIFO
// that a writer keeps feeding) was read on for ever, its memory growing.
// Past stream.MaxWhole bytes it fails (errTooLarge, with name as the
// path); a regular file that large fails before a byte is read.
//
// head, if any, goes first: what a File had read ahead (File.read() reads
// the rest of the file with it, stream.PumpOptions.Rest). What was read
// is returned with the error too.
func readAll(ctx context.Context, f *os.File, head []byte, name string) ([]byte, error) {
	size := len(head) + 512
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		// As os.ReadFile: one read for a file whose size is known.
		if at, err := f.Seek(0, io.SeekCurrent); err == nil && at <= fi.Size() {
			if fi.Size()-at > int64(stream.MaxWhole()-len(head)) {
				return head, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
			}
			size += int(fi.Size() - at)
		}
	}
	data := append(make([]byte, 0, size), head...)
	for {
		if len(data) > stream.MaxWhole() {
			return data, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
		if err := ctx.Err(); err != nil {
			return data, err
		}
	}
}

// errTooLarge is readAll's failure past stream.MaxWhole bytes, a value
// error (ioError), as stream.TooLarge is.
var errTooLarge error = tooLarge{}

type tooLarge struct{}

func (tooLarge) Error() string {
	return "more than " + stream.MaxWholeText() + " to read at once: read it in pieces (fs.open, File.read(n), File.lines())"
}

// ioError converts an error from package os into a coro error whose kind
// says what went wrong (not_found, exists, permission, or io) and whose
// message names the call and the path.
func ioError(fn string, err error) error {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*loop.Error); ok {
		return ce // made by loop.Place: already names the call and the path
	}
	kind := loop.KindIO
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = loop.KindNotFound
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY):
		kind = loop.KindExists
	case errors.Is(err, fs.ErrPermission):
		kind = loop.KindPermission
	case errors.Is(err, os.ErrClosed):
		kind = loop.KindClosed
	case errors.Is(err, errTooLarge):
		kind = loop.KindValue
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return loop.Errorf(kind, "%s: %s: %v", fn, pe.Path, pe.Err)
	case errors.As(err, &le):
		return loop.Errorf(kind, "%s: %s -> %s: %v", fn, le.Old, le.New, le.Err)
	}
	return loop.Errorf(kind, "%s: %v", fn, err)
}

// pathArg unpacks the single path argument of a path-only builtin, finds
// the calling task and resolves the path for the permission the call needs.
func pathArg(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, write bool) (loop.Place, *loop.Exec, *loop.Engine, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return loop.Place{}, nil, nil, loop.ValueError(err)
	}
	x, e, p, err := prepare(th, b, path, write)
	if err != nil {
		return loop.Place{}, nil, nil, err
	}
	return p, x, e, nil
}

// pathOp makes the body of a builtin taking only a path (read, stat,
// listdir, exists, remove): op runs on the blocking pool, and an error it
// returns from package os becomes a coro error by ioError.
func pathOp(write bool, op func(p loop.Place) (starlark.Value, error)) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		p, x, _, err := pathArg(th, b, args, kwargs, write)
		if err != nil {
			return nil, err
		}
		return onPool(x, b.Name(), p.Path, func(context.Context) (starlark.Value, error) {
			v, err := op(p)
			if err != nil {
				return nil, ioError(b.Name(), err)
			}
			return v, nil
		})
	}
}

var (
	read      = readAs(func(d []byte) starlark.Value { return starlark.String(d) })
	readBytes = readAs(func(d []byte) starlark.Value { return starlark.Bytes(d) })
)

// readAs makes fs.read and fs.read_bytes: the whole file, made a value by
// conv.
func readAs(conv func([]byte) starlark.Value) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		p, x, _, err := pathArg(th, b, args, kwargs, false)
		if err != nil {
			return nil, err
		}
		return onFile(x, b.Name(), p, false, func(ctx context.Context) (starlark.Value, error) {
			f, err := p.OpenFile(os.O_RDONLY, 0)
			if err != nil {
				return nil, ioError(b.Name(), err)
			}
			defer f.Close()
			d, err := readAll(ctx, f, nil, p.Path)
			if err != nil {
				return nil, ioError(b.Name(), p.Err(err))
			}
			return conv(d), nil
		})
	}
}

func write(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return writeFlags(th, b, args, kwargs, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
}

func appendFile(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return writeFlags(th, b, args, kwargs, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
}

func writeFlags(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, flags int) (starlark.Value, error) {
	var path string
	var s starutil.Bytes
	if err := starutil.Unpack(b.Name(), args, kwargs, "path", &path, "data", &s); err != nil {
		return nil, err
	}
	x, _, p, err := prepare(th, b, path, true)
	if err != nil {
		return nil, err
	}
	return onFile(x, b.Name(), p, true, func(context.Context) (starlark.Value, error) {
		f, err := p.OpenFile(flags, 0o644)
		if err != nil {
			return nil, ioError(b.Name(), err)
		}
		_, err = f.WriteString(string(s))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return starlark.None, ioError(b.Name(), err)
	})
}

var exists = pathOp(false, func(p loop.Place) (starlark.Value, error) {
	_, err := p.Stat()
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		// "f.txt/x" below a file is not there either, as for Python's
		// os.path.exists and Deno
		return starlark.False, nil
	}
	if err != nil {
		return nil, err
	}
	return starlark.True, nil
})

// statValue is the script's view of an fs.FileInfo.
func statValue(fi fs.FileInfo) starlark.Value {
	return starlarkstruct.FromStringDict(starlark.String("stat"), starlark.StringDict{
		"name":   starlark.String(fi.Name()),
		"size":   starlark.MakeInt64(fi.Size()),
		"mtime":  time.Time(fi.ModTime()),
		"is_dir": starlark.Bool(fi.IsDir()),
		"mode":   starlark.MakeInt(int(fi.Mode().Perm())),
	})
}

var stat = pathOp(false, func(p loop.Place) (starlark.Value, error) {
	fi, err := p.Stat()
	if err != nil {
		return nil, err
	}
	return statValue(fi), nil
})

var listdir = pathOp(false, func(p loop.Place) (starlark.Value, error) {
	d, _, err := p.Dir(false)
	if err != nil {
		return nil, err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, p.Err(err)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	names := make([]starlark.Value, len(ents))
	for i, ent := range ents {
		names[i] = starlark.String(ent.Name())
	}
	return starlark.NewList(names), nil
})

// mkdir makes one directory, failing with `exists` if it is there, like
// Python's os.mkdir; parents=True makes missing parents too and accepts an
// existing directory, like os.makedirs(exist_ok=True).
func mkdir(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	parents := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "parents?", &parents); err != nil {
		return nil, loop.ValueError(err)
	}
	x, _, p, err := prepare(th, b, path, true)
	if err != nil {
		return nil, err
	}
	return onPool(x, b.Name(), path, func(context.Context) (starlark.Value, error) {
		return starlark.None, ioError(b.Name(), p.Mkdir(0o755, parents))
	})
}

// remove deletes a file or an empty directory (a non-empty one fails with
// `exists`).
var remove = pathOp(true, func(p loop.Place) (starlark.Value, error) {
	return starlark.None, p.Remove()
})

func rename(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var from, to string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &from, "b", &to); err != nil {
		return nil, loop.ValueError(err)
	}
	x, e, pf, err := prepare(th, b, from, true)
	if err != nil {
		return nil, err
	}
	pt, err := e.PlaceWrite(b.Name(), to)
	if err != nil {
		return nil, err
	}
	return onPool(x, b.Name(), fmt.Sprintf("%s -> %s", from, to), func(context.Context) (starlark.Value, error) {
		return starlark.None, ioError(b.Name(), loop.Rename(pf, pt))
	})
}
